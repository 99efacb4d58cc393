/**
 * The client's socket binding over real TCP: how a connection ends. On a slow link every
 * round trip a session waits is a session (and a file descriptor) held for nothing.
 */
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { openDlmsTransport } from '../../../../protocols/dlms/net/clientTransport.js';

const never = new AbortController().signal;
let server: Server | undefined;
const accepted: Socket[] = [];

afterEach(async () => {
  vi.useRealTimers();
  for (const s of accepted.splice(0)) s.destroy();
  const s = server;
  server = undefined;
  if (s !== undefined) await new Promise<void>((resolve) => { s.close(() => { resolve(); }); });
});

describe('DLMS client transport', () => {
  it('closes once its FIN is sent, without waiting for the meter to close its side', async () => {
    let peerEnded!: () => void;
    const sawEnd = new Promise<void>((resolve) => { peerEnded = resolve; });
    // A meter that keeps its side open after ours is closed (half-open), as a slow link looks for a round trip.
    const meter = createServer({ allowHalfOpen: true }, (socket) => {
      accepted.push(socket);
      socket.on('end', peerEnded);
    });
    server = meter;
    await new Promise<void>((resolve) => meter.listen(0, '127.0.0.1', resolve));
    const transport = await openDlmsTransport({
      host: '127.0.0.1', port: (meter.address() as AddressInfo).port, framing: 'wrapper', clientSap: 16, serverSap: 1, timeoutMs: 5_000,
    }, never);
    // No timer may end the wait: the close must not depend on a fallback firing.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });

    await transport.close();
    await sawEnd;

    expect(accepted[0]?.writable).toBe(true);
  });
});
