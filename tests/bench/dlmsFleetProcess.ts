/**
 * Simulated DLMS meters in a process of their own, for the DLMS polling benchmark (which
 * forks this with tests/bench/forkTs.ts): the meters' CPU lands on the other core and the
 * benchmark's CPU figure is the poller's alone.
 *
 * IPC: parent → `start` with how many meters of each framing; child → `ready` with their
 * ports. With `hosts`, the wrapper meters listen each on its own loopback address at one port
 * (as GPRS meters do: their own IP, the DLMS port), instead of on free ports of 127.0.0.1. Parent → `usage`; child → `usage` with its CPU time so far (the parent takes the
 * difference around a phase, to tell a busy simulator from a slow poller). Parent → `stop`;
 * child → `stopped` and ends. The child also stops its meters when the parent goes away.
 */
import type { DlmsFraming } from '../../protocols/dlms/net/clientTransport.js';
import { DlmsMeterSimulator } from '../../simulators/dlms/server.js';

export interface DlmsFleetStart {
  readonly type: 'start';
  readonly meters: Readonly<Record<DlmsFraming, number>>;
  readonly seed: number;
  /** One address per wrapper meter, all listening on `port`; the meters are then wrapper meters only. */
  readonly listen?: { readonly hosts: readonly string[]; readonly port: number };
}

export type DlmsFleetCommand = DlmsFleetStart | { readonly type: 'usage' } | { readonly type: 'stop' };

export type DlmsFleetReply =
  | { readonly type: 'ready'; readonly ports: Readonly<Record<DlmsFraming, readonly number[]>> }
  | { readonly type: 'usage'; readonly cpuUs: number }
  | { readonly type: 'stopped' }
  | { readonly type: 'failed'; readonly message: string };

export function isDlmsFleetReply(m: unknown): m is DlmsFleetReply {
  return typeof m === 'object' && m !== null && 'type' in m && typeof m.type === 'string';
}

const FRAMINGS: readonly DlmsFraming[] = ['wrapper', 'hdlc'];

/** Starts the meters on free ports; stops those already started if one fails. */
async function startFleet(msg: DlmsFleetStart): Promise<{ sims: DlmsMeterSimulator[]; ports: Record<DlmsFraming, number[]> }> {
  const sims: DlmsMeterSimulator[] = [];
  const ports: Record<DlmsFraming, number[]> = { wrapper: [], hdlc: [] };
  try {
    for (const framing of FRAMINGS) {
      for (let i = 0; i < msg.meters[framing]; i++) {
        const n = sims.length;
        const host = framing === 'wrapper' ? msg.listen?.hosts[i] : undefined;
        // No history: the benchmark reads current values, and building days of profile rows
        // for hundreds of meters would only slow the start.
        const sim = new DlmsMeterSimulator({
          framing, seed: msg.seed + n, serialNumber: String(n).padStart(8, '0'), historyDays: 0,
          ...(host === undefined ? {} : { host, port: msg.listen?.port ?? 0 }),
        });
        sims.push(sim);
        ports[framing].push((await sim.start()).port);
      }
    }
  } catch (e) {
    await Promise.all(sims.map((s) => s.stop()));
    throw e;
  }
  return { sims, ports };
}

function runAsChild(send: (m: DlmsFleetReply) => void): void {
  let sims: DlmsMeterSimulator[] = [];
  const stop = async () => {
    const running = sims;
    sims = [];
    await Promise.all(running.map((s) => s.stop()));
  };
  const cpuUs = () => {
    const u = process.cpuUsage();
    return u.user + u.system;
  };
  process.on('message', (raw: unknown) => {
    const msg = raw as Partial<DlmsFleetCommand> | null;
    if (msg?.type === 'start') {
      startFleet(msg as DlmsFleetStart).then(
        (started) => {
          sims = started.sims;
          send({ type: 'ready', ports: started.ports });
        },
        (e: unknown) => { send({ type: 'failed', message: e instanceof Error ? e.message : String(e) }); },
      );
    } else if (msg?.type === 'usage') {
      send({ type: 'usage', cpuUs: cpuUs() });
    } else if (msg?.type === 'stop') {
      void stop().then(() => {
        send({ type: 'stopped' });
        process.disconnect();
      });
    }
  });
  process.on('disconnect', () => { void stop(); });
}

if (typeof process.send === 'function' && process.argv.includes('--dlms-fleet')) {
  const send = process.send.bind(process);
  runAsChild((m) => { send(m); });
}
