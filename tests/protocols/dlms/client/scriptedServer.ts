/**
 * An in-memory ApduTransport playing a meter from a script: each request is decoded, recorded
 * and answered by the next step. Nothing crosses a process boundary here; the client ↔
 * simulator tests over TCP live with the simulator.
 */
import { decodeApdu, encodeApdu, type Apdu } from '../../../../protocols/dlms/apduCodec.js';
import { userDiagnostic } from '../../../../protocols/dlms/acse/diagnostics.js';
import type { Conformance } from '../../../../protocols/dlms/acse/conformance.js';
import { APPLICATION_CONTEXT } from '../../../../protocols/dlms/acse/names.js';
import type { InvokeIdAndPriority } from '../../../../protocols/dlms/apdu/invokeId.js';
import type { DlmsData } from '../../../../protocols/dlms/axdr/data.js';
import { DlmsClient, DEFAULT_CLIENT_CONFORMANCE, type DlmsClientOptions } from '../../../../protocols/dlms/client/client.js';
import type { ApduTransport } from '../../../../protocols/dlms/client/transport.js';

/** What a step answers: an APDU, raw bytes, or silence (the reply never comes). */
export type Answer = Apdu | Uint8Array | 'silence';
export type Step = (request: Apdu) => Answer | Promise<Answer>;

export class ScriptedServer implements ApduTransport {
  readonly requests: Apdu[] = [];
  readonly rawRequests: Uint8Array[] = [];
  inFlight = 0;
  maxInFlight = 0;
  closeCalls = 0;
  private readonly steps: Step[];

  constructor(steps: Step[] = [], private readonly fallback?: Step) {
    this.steps = [...steps];
  }

  /** Appends steps to the script. */
  then(...steps: Step[]): this {
    this.steps.push(...steps);
    return this;
  }

  get stepsLeft(): number {
    return this.steps.length;
  }

  async request(apdu: Uint8Array, signal: AbortSignal): Promise<Uint8Array> {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      const decoded = decodeApdu(apdu);
      this.rawRequests.push(apdu);
      this.requests.push(decoded);
      const step = this.steps.shift() ?? this.fallback;
      if (step === undefined) throw new Error(`script exhausted at ${decoded.type}`);
      // Let other callers run first, as a real link would, so overlap would show in maxInFlight.
      await new Promise((r) => setImmediate(r));
      const answer = await step(decoded);
      if (answer === 'silence') {
        return await new Promise<never>((_, reject) => {
          signal.addEventListener('abort', () => { reject(new Error('aborted')); }, { once: true });
        });
      }
      return answer instanceof Uint8Array ? answer : encodeApdu(answer);
    } finally {
      this.inFlight--;
    }
  }

  close(): Promise<void> {
    this.closeCalls++;
    return Promise.resolve();
  }
}

export function aareAccepted(conformance: Conformance = DEFAULT_CLIENT_CONFORMANCE, serverMaxReceivePduSize = 1024): Apdu {
  return {
    type: 'aare',
    applicationContext: APPLICATION_CONTEXT['logical-name'],
    result: 'accepted',
    diagnostic: userDiagnostic('null'),
    authenticationRequired: false,
    userInformation: {
      type: 'initiate-response', negotiatedDlmsVersion: 6, negotiatedConformance: conformance, serverMaxReceivePduSize, vaaName: 7,
    },
  };
}

/** A client associated with a scripted server whose script continues with `steps`. */
export async function connect(
  steps: Step[], options: DlmsClientOptions = {}, aare: Apdu = aareAccepted(), fallback?: Step,
): Promise<{ client: DlmsClient; server: ScriptedServer }> {
  const server = new ScriptedServer([() => aare, ...steps], fallback);
  const client = new DlmsClient(server, { timeoutMs: 2_000, ...options });
  await client.associate();
  return { client, server };
}

export function invokeOf(a: Apdu): InvokeIdAndPriority {
  if (!('invoke' in a)) throw new Error(`${a.type} has no invoke-id`);
  return a.invoke;
}

/** get-response-normal with data, echoing the request's invoke-id. */
export function answerData(value: DlmsData): Step {
  return (req) => ({ type: 'get-response-normal', invoke: invokeOf(req), result: { ok: true, data: value } });
}
