/**
 * An aedes broker in a process of its own, for benchmarks on machines without Mosquitto:
 * in the measured process it would share its event loop with the head-end.
 * IPC: child → `{ type: 'ready', url }` once listening; parent → `{ type: 'stop' }`, or
 * the parent going away, closes the broker and ends the process.
 */
import { startAedes, type TestBroker } from '../helpers/aedes.js';

export interface AedesReady {
  readonly type: 'ready';
  readonly url: string;
}

export function isAedesReady(m: unknown): m is AedesReady {
  return typeof m === 'object' && m !== null && (m as { type?: unknown }).type === 'ready';
}

function runAsChild(send: (m: AedesReady) => void): void {
  let broker: TestBroker | undefined;
  const stop = async () => {
    await broker?.close();
    broker = undefined;
    if (process.connected) process.disconnect();
  };
  process.on('message', (raw: unknown) => {
    if ((raw as { type?: unknown } | null)?.type === 'stop') void stop();
  });
  process.on('disconnect', () => { void stop(); });
  startAedes().then(
    (started) => {
      broker = started;
      send({ type: 'ready', url: started.url });
    },
    (err: unknown) => {
      console.error('aedes did not start:', err);
      process.exit(1);
    },
  );
}

if (typeof process.send === 'function' && process.argv.includes('--aedes-broker')) {
  const send = process.send.bind(process);
  runAsChild((m) => { send(m); });
}
