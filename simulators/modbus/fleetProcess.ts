/**
 * Runs a fleet of simulated Modbus terminals in a process of its own, so their CPU does not
 * mix with the poller's (the benchmark forks this). Protocol over the IPC channel:
 * parent → `{ type: 'start', count, metersPerTerminal, seed, framing }`;
 * child → `{ type: 'ready', ports }`; parent → `{ type: 'stop' }`;
 * child → `{ type: 'stopped', requestsServed, protocolErrors }` and exits.
 * The child also stops when the parent goes away (IPC disconnect).
 */
import type { Framing } from './frames.js';
import { ModbusTerminalSimulator } from './terminal.js';

export interface FleetStart {
  readonly type: 'start';
  readonly count: number;
  readonly metersPerTerminal: number;
  readonly seed: number;
  readonly framing: Framing;
}

export type FleetReply =
  | { readonly type: 'ready'; readonly ports: number[] }
  | { readonly type: 'stopped'; readonly requestsServed: number; readonly protocolErrors: number }
  | { readonly type: 'failed'; readonly message: string };

/** Starts `count` terminals on free ports; stops those already started if one fails. */
export async function startFleet(msg: FleetStart): Promise<{ sims: ModbusTerminalSimulator[]; ports: number[] }> {
  const sims: ModbusTerminalSimulator[] = [];
  const ports: number[] = [];
  try {
    for (let i = 0; i < msg.count; i++) {
      const sim = new ModbusTerminalSimulator({ meters: msg.metersPerTerminal, seed: msg.seed + i, framing: msg.framing });
      sims.push(sim);
      ports.push((await sim.start()).port);
    }
  } catch (e) {
    await Promise.all(sims.map((s) => s.stop()));
    throw e;
  }
  return { sims, ports };
}

function runAsChild(send: (m: FleetReply) => void): void {
  let sims: ModbusTerminalSimulator[] = [];
  const stop = async () => {
    await Promise.all(sims.map((s) => s.stop()));
    const requestsServed = sims.reduce((n, s) => n + s.requestsServed, 0);
    const protocolErrors = sims.reduce((n, s) => n + s.protocolErrors, 0);
    sims = [];
    return { requestsServed, protocolErrors };
  };
  process.on('message', (raw: unknown) => {
    const msg = raw as { type?: string } | null;
    if (msg?.type === 'start') {
      startFleet(msg as FleetStart).then(
        (started) => {
          sims = started.sims;
          send({ type: 'ready', ports: started.ports });
        },
        (e: unknown) => { send({ type: 'failed', message: e instanceof Error ? e.message : String(e) }); },
      );
    } else if (msg?.type === 'stop') {
      void stop().then((stats) => {
        send({ type: 'stopped', ...stats });
        process.disconnect();
      });
    }
  });
  process.on('disconnect', () => { void stop(); });
}

if (typeof process.send === 'function' && process.argv.includes('--modbus-fleet')) {
  const send = process.send.bind(process);
  runAsChild((m) => { send(m); });
}
