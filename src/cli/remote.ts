/**
 * `gridhead read` and `gridhead command`: on-demand reads and remote control against a running
 * station's API (docs/cli-remote.md). Prints ONE JSON document on stdout; progress, previews
 * and errors go to stderr (a progress bar on a TTY, plain lines otherwise).
 *
 * Exit status: 0 done (command: every meter verified), 1 not done (a read failed or timed out,
 * a meter of the command did not verify, the bulk confirmation was declined or could not be
 * asked), 2 bad arguments or a request the station refused as invalid, 3 connection or
 * authentication failure.
 */
import { randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline/promises';
import { parseArgs } from 'node:util';

export interface CliIo {
  readonly stdout: { write(s: string): unknown };
  readonly stderr: { write(s: string): unknown; readonly isTTY?: boolean };
  readonly env: NodeJS.ProcessEnv;
  /** Asks a yes/no question; default reads a line from stdin. */
  readonly ask?: (question: string) => Promise<string>;
  /** Between two polls of a command; default 500 ms. */
  readonly pollMs?: number;
}

export const REMOTE_USAGE = `usage:
  gridhead read --meter ID [--quantity Q ...] [--obis A.B.C.D.E.F --attribute N [--class-id C]]
                [--profile load|daily|billing --from ISO --to ISO] [--url URL] [--token T]
  gridhead command disconnect|reconnect|set-limit|clear-limit|sync-clock (--meter ID ... | --area ID)
                [--limit-kw N] [--time ISO] [--reason TEXT] [--override-reason TEXT] [--yes] [--url URL] [--token T]
  --url defaults to http://127.0.0.1:8080; the token to $GRIDHEAD_TOKEN.
  exit: 0 done, 1 not done (failed, timed out, declined), 2 usage, 3 connection or authentication
`;

const COMMANDS = ['disconnect', 'reconnect', 'set-limit', 'clear-limit', 'sync-clock'] as const;
const common = { url: { type: 'string' }, token: { type: 'string' }, help: { type: 'boolean', short: 'h' } } as const;

class Usage extends Error {}
class Unreachable extends Error {}
/** The bulk confirmation could not be asked: stdin ended before an answer (a script, a closed pipe). */
class CannotAsk extends Error {}

/** `gridhead read …`; returns the exit status. */
export async function readCommand(argv: readonly string[], io: CliIo): Promise<number> {
  return guarded(io, async () => {
    const { values } = parseArgs({
      args: [...argv], strict: true,
      options: { ...common, meter: { type: 'string' }, quantity: { type: 'string', multiple: true }, obis: { type: 'string' }, attribute: { type: 'string' }, 'class-id': { type: 'string' }, profile: { type: 'string' }, from: { type: 'string' }, to: { type: 'string' } },
    });
    if (values.help === true) return help(io);
    if (values.meter === undefined) throw new Usage('--meter is required');
    const body: Record<string, unknown> = {};
    if (values.quantity !== undefined) body.quantities = values.quantity;
    if (values.obis !== undefined) Object.assign(body, { obis: values.obis, attribute: int(values.attribute ?? '2', '--attribute'), ...(values['class-id'] === undefined ? {} : { classId: int(values['class-id'], '--class-id') }) });
    if (values.profile !== undefined) Object.assign(body, { profile: values.profile, from: values.from, to: values.to });
    if (Object.keys(body).length === 0) body.quantities = ['energy.active.import', 'power.active', 'voltage.l1', 'current.l1'];
    const api = client(values, io);
    const res = await api('POST', `/api/v1/meters/${encodeURIComponent(values.meter)}/read`, body);
    io.stdout.write(`${JSON.stringify(res.body, null, 2)}\n`);
    return res.status === 200 ? 0 : refusal(io, res);
  });
}

/** `gridhead command …`; returns the exit status. */
export async function controlCommand(argv: readonly string[], io: CliIo): Promise<number> {
  return guarded(io, async () => {
    const { values, positionals } = parseArgs({
      args: [...argv], strict: true, allowPositionals: true,
      options: { ...common, meter: { type: 'string', multiple: true }, area: { type: 'string' }, 'limit-kw': { type: 'string' }, time: { type: 'string' }, reason: { type: 'string' }, 'override-reason': { type: 'string' }, yes: { type: 'boolean', short: 'y' } },
    });
    if (values.help === true) return help(io);
    const type = positionals[0];
    if (type === undefined || !(COMMANDS as readonly string[]).includes(type) || positionals.length > 1) throw new Usage(`give one command: ${COMMANDS.join(', ')}`);
    if ((values.meter === undefined) === (values.area === undefined)) throw new Usage('give --meter ID (repeatable) or --area ID');
    const limitKw = values['limit-kw'] === undefined ? undefined : Number(values['limit-kw']);
    if (limitKw !== undefined && !Number.isFinite(limitKw)) throw new Usage('--limit-kw must be a number');
    const body: Record<string, unknown> = {
      type,
      ...(values.meter === undefined ? {} : { meterIds: values.meter }),
      ...(values.area === undefined ? {} : { areaId: values.area }),
      params: { ...(limitKw === undefined ? {} : { limitKw }), ...(values.time === undefined ? {} : { time: values.time }) },
      ...(values.reason === undefined ? {} : { reason: values.reason }),
      ...(values['override-reason'] === undefined ? {} : { override: { reason: values['override-reason'] } }),
    };
    const api = client(values, io);
    const key = randomUUID();
    let res = await api('POST', '/api/v1/commands', body, key);
    if (res.status === 202) {
      const preview = res.body as { meters: { meterId: string; customerRef: string | null }[]; skippedProtected: string[]; confirmationToken: string; expiresAt: string };
      io.stderr.write(`${type} covers ${preview.meters.length} meters: ${preview.meters.slice(0, 10).map((m) => m.meterId).join(', ')}${preview.meters.length > 10 ? ', …' : ''}\n`);
      if (preview.skippedProtected.length > 0) io.stderr.write(`protected meters skipped: ${preview.skippedProtected.join(', ')}\n`);
      if (values.yes !== true) {
        const answer = await (io.ask ?? askStdin)(`send ${type} to ${preview.meters.length} meters? [y/N] `);
        if (!/^y(es)?$/i.test(answer.trim())) {
          io.stderr.write('not sent\n');
          return 1;
        }
      }
      res = await api('POST', '/api/v1/commands', { ...body, confirmationToken: preview.confirmationToken }, key);
    }
    if (res.status !== 200 && res.status !== 201) return refusal(io, res);
    const id = (res.body as { id: string }).id;
    const final = await follow(api, id, io);
    io.stdout.write(`${JSON.stringify(final, null, 2)}\n`);
    return final.status === 'verified' ? 0 : 1;
  });
}

interface CommandView { id: string; status: string; counts: Record<string, number>; targets: unknown[] }
type Api = (method: string, path: string, body?: unknown, idempotencyKey?: string) => Promise<{ status: number; body: unknown }>;

/** Polls the command until no meter is open, drawing progress on stderr. */
async function follow(api: Api, id: string, io: CliIo): Promise<CommandView> {
  let last = '';
  for (;;) {
    const res = await api('GET', `/api/v1/commands/${encodeURIComponent(id)}`);
    if (res.status !== 200) throw new Unreachable(`GET /commands/${id} answered ${res.status}`);
    const c = res.body as CommandView;
    const total = c.targets.length;
    const open = (c.counts.pending ?? 0) + (c.counts.sent ?? 0) + (c.counts.acknowledged ?? 0);
    const done = total - open;
    const line = `${id}: ${done}/${total} done (verified ${c.counts.verified ?? 0}, failed ${total - open - (c.counts.verified ?? 0)})`;
    if (io.stderr.isTTY === true) {
      const width = 30;
      const filled = total === 0 ? width : Math.round((done / total) * width);
      io.stderr.write(`\r[${'#'.repeat(filled)}${' '.repeat(width - filled)}] ${line}${open === 0 ? '\n' : ''}`);
    } else if (line !== last) {
      io.stderr.write(`${line}\n`);
    }
    last = line;
    if (c.status !== 'open') return c;
    await new Promise((r) => setTimeout(r, io.pollMs ?? 500));
  }
}

function client(values: { url?: string | undefined; token?: string | undefined }, io: CliIo): Api {
  const base = (values.url ?? io.env.GRIDHEAD_URL ?? 'http://127.0.0.1:8080').replace(/\/+$/, '');
  const token = values.token ?? io.env.GRIDHEAD_TOKEN;
  return async (method, path, body, idempotencyKey) => {
    const headers: Record<string, string> = {};
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (token !== undefined && token !== '') headers.authorization = `Bearer ${token}`;
    if (idempotencyKey !== undefined) headers['idempotency-key'] = idempotencyKey;
    let res: Response;
    try {
      res = await fetch(`${base}${path}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    } catch (err) {
      throw new Unreachable(`cannot reach ${base}: ${err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err)}`);
    }
    if (res.status === 401 || res.status === 403) {
      const p = await res.json().catch(() => ({})) as { code?: string; detail?: string };
      if (p.code !== 'OVERRIDE_FORBIDDEN') throw new Unreachable(`${res.status} ${p.code ?? ''}: ${p.detail ?? 'not authorised; give --token or GRIDHEAD_TOKEN'}`);
      return { status: res.status, body: p };
    }
    const text = await res.text();
    return { status: res.status, body: text === '' ? null : JSON.parse(text) as unknown };
  };
}

/** The station answered with a problem: one line on stderr; 2 for invalid requests, 1 otherwise. */
function refusal(io: CliIo, res: { status: number; body: unknown }): number {
  const p = (res.body ?? {}) as { code?: string; detail?: string };
  io.stderr.write(`gridhead: ${res.status} ${p.code ?? ''}: ${p.detail ?? ''}\n`);
  return res.status === 400 || res.status === 404 ? 2 : 1;
}

async function guarded(io: CliIo, run: () => Promise<number>): Promise<number> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof Usage || (err instanceof TypeError && 'code' in err && String(err.code).startsWith('ERR_PARSE_ARGS'))) {
      io.stderr.write(`gridhead: ${err.message}\n${REMOTE_USAGE}`);
      return 2;
    }
    if (err instanceof Unreachable) {
      io.stderr.write(`gridhead: ${err.message}\n`);
      return 3;
    }
    if (err instanceof CannotAsk) {
      io.stderr.write(`\ngridhead: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}

function help(io: CliIo): number {
  io.stdout.write(REMOTE_USAGE);
  return 0;
}

function int(v: string, name: string): number {
  const n = Number(v);
  if (!Number.isInteger(n)) throw new Usage(`${name} must be an integer`);
  return n;
}

async function askStdin(question: string): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    // readline's question() never settles when stdin ends first; left alone, the process
    // would exit 13 (unsettled top-level await) without a word.
    return await new Promise<string>((resolve, reject) => {
      rl.once('close', () => { reject(new CannotAsk('could not ask for confirmation: stdin is closed; nothing sent (give --yes to confirm without asking)')); });
      rl.question(question).then(resolve, reject);
    });
  } finally {
    rl.close();
  }
}
