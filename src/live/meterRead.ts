/**
 * On-demand read of one meter (POST /meters/:id/read): catalogue quantities, a DLMS object
 * named by OBIS code, or a stored profile over a time range. Reads go through the terminal's
 * collector lane (CollectionScheduler.pollNow / profileNow), so concurrent reads of one
 * terminal queue behind each other, and their values enter the pipeline like a poll's.
 * The reply carries the values as the pipeline stores them (primary side, catalogue unit).
 */
import type { ProfileKind, RawReading } from '../../protocols/adapter.js';
import { DomainError } from '../domain/errors.js';
import { QUANTITIES, type Quantity } from '../domain/quantity.js';
import type { Reading } from '../domain/reading.js';
import type { Meter, Terminal } from '../domain/topology.js';
import { errorCode } from '../collect/errors.js';
import type { CollectionScheduler } from '../collect/scheduler.js';
import { normalise, type Rejection } from '../ingest/normalise.js';
import { DEFAULT_PLAUSIBILITY, type PlausibilityLimits } from '../ingest/plausibility.js';

export type MeterReadRequest =
  | { readonly kind: 'quantities'; readonly quantities: readonly Quantity[] }
  /** A DLMS object: the catalogue quantity with this OBIS code, attribute 2 (value). */
  | { readonly kind: 'obis'; readonly obis: string; readonly attribute: number; readonly classId?: number }
  | { readonly kind: 'profile'; readonly profile: ProfileKind; readonly from: number; readonly to: number };

export interface MeterReadResult {
  readonly meterId: string;
  readonly values: readonly Reading[];
  readonly failures: readonly { readonly quantity: string; readonly code: string; readonly message: string }[];
  readonly durationMs: number;
}

export class MeterReadError extends DomainError {
  constructor(readonly code: string, readonly status: number, message: string) {
    super(message);
  }
}

export interface MeterReaderDeps {
  readonly meter: (id: string) => Meter | undefined;
  readonly terminal: (id: string) => Terminal | undefined;
  readonly scheduler: Pick<CollectionScheduler, 'pollNow' | 'profileNow'>;
  /** The pipeline's bounds (`ingest.plausibility`), so the reply refuses what the pipeline refuses. */
  readonly plausibility?: PlausibilityLimits;
  readonly now?: () => number;
}

type ReadFailure = MeterReadResult['failures'][number];

/** Interface classes whose attribute 2 is the value of a catalogue quantity (register, extended register, demand register, clock). */
const VALUE_CLASSES: ReadonlySet<number> = new Set([3, 4, 5, 8]);

export class MeterReader {
  readonly #now: () => number;

  constructor(private readonly deps: MeterReaderDeps) {
    this.#now = deps.now ?? Date.now;
  }

  async read(meterId: string, request: MeterReadRequest): Promise<MeterReadResult> {
    const meter = this.deps.meter(meterId);
    if (meter === undefined) throw new MeterReadError('UNKNOWN_METER', 404, `meter ${JSON.stringify(meterId)} does not exist`);
    const terminal = this.deps.terminal(meter.terminalId);
    if (terminal === undefined) throw new MeterReadError('UNKNOWN_TERMINAL', 409, `terminal ${meter.terminalId} of meter ${meter.id} does not exist`);
    const started = this.#now();
    if (request.kind === 'profile') {
      const outcome = await this.deps.scheduler.profileNow(terminal.id, { address: meter.address, profile: request.profile, from: request.from, to: request.to }).catch(rethrow);
      if (!outcome.ok) throw failure([{ code: errorCode(outcome.error), message: outcome.error.message }]);
      const { values, refused } = this.#normalise(meter, terminal, outcome.readings);
      return { meterId: meter.id, values, failures: refused, durationMs: this.#now() - started };
    }
    const quantities = request.kind === 'quantities' ? request.quantities : [quantityOfObis(terminal, request)];
    const result = await this.deps.scheduler.pollNow(terminal.id, { quantities, addresses: [meter.address] }).catch(rethrow);
    if (result.readings.length === 0 && result.failures.length > 0) throw failure(result.failures);
    const { values, refused } = this.#normalise(meter, terminal, result.readings);
    return {
      meterId: meter.id,
      values,
      failures: [...result.failures.map((f) => ({ quantity: f.item.quantity, code: f.code, message: f.message })), ...refused],
      durationMs: this.#now() - started,
    };
  }

  /** The values as the pipeline takes them; what it refuses (an implausible value, say) is a failure of the read. */
  #normalise(meter: Meter, terminal: Terminal, raw: readonly RawReading[]): { values: Reading[]; refused: ReadFailure[] } {
    const values: Reading[] = [];
    const rejected: Rejection[] = [];
    normalise(raw, {
      meterAt: (t, a) => (t === meter.terminalId && a === meter.address ? meter : undefined),
      protocol: terminal.protocol, mode: 'poll', receivedAt: this.#now(), maxClockAheadMs: Number.MAX_SAFE_INTEGER,
      plausibility: this.deps.plausibility ?? DEFAULT_PLAUSIBILITY,
    }, values, rejected);
    return { values, refused: rejected.map((r) => ({ quantity: r.quantity, code: r.reason, message: r.detail })) };
  }
}

function quantityOfObis(terminal: Terminal, r: Extract<MeterReadRequest, { kind: 'obis' }>): Quantity {
  if (terminal.protocol !== 'dlms') throw new MeterReadError('NOT_DLMS', 400, `an OBIS read needs a DLMS meter; terminal ${terminal.id} speaks ${terminal.protocol}`);
  const entry = (Object.entries(QUANTITIES) as [Quantity, { obis: string }][]).find(([, q]) => q.obis === r.obis);
  if (entry === undefined || r.attribute !== 2 || (r.classId !== undefined && !VALUE_CLASSES.has(r.classId))) {
    throw new MeterReadError('UNSUPPORTED_OBIS', 400,
      `on-demand reads cover the value (attribute 2) of the catalogue's objects; ${r.obis} attribute ${r.attribute} is not one (use \`gridhead dlms get\` for any object)`);
  }
  return entry[0];
}

function failure(failures: readonly { readonly code: string; readonly message: string }[]): MeterReadError {
  const first = failures[0];
  const detail = failures.slice(0, 5).map((f) => `${f.code}: ${f.message}`).join('; ');
  if (first !== undefined && failures.every((f) => f.code === 'TIMEOUT')) return new MeterReadError('READ_TIMEOUT', 504, `the meter did not answer in time (${detail})`);
  return new MeterReadError('READ_FAILED', 502, `the read failed (${detail})`);
}

/** The lane refused the read before it ran: the reason as a problem the API can answer with. */
function rethrow(err: unknown): never {
  const e = err instanceof Error ? err : new Error(String(err));
  const code = errorCode(e);
  if (code === 'COLLECT_BUSY') throw new MeterReadError('READ_BUSY', 503, e.message);
  if (code === 'COLLECT_NOT_POLLABLE') throw new MeterReadError('NOT_POLLABLE', 409, `${e.message}; its latest values are at GET /meters/:id/latest`);
  if (code === 'COLLECT_UNKNOWN_TERMINAL') throw new MeterReadError('TERMINAL_NOT_COLLECTED', 409, e.message);
  if (code === 'COLLECT_STOPPED') throw new MeterReadError('STOPPING', 503, e.message);
  if (code === 'TIMEOUT') throw new MeterReadError('READ_TIMEOUT', 504, e.message);
  throw e;
}
