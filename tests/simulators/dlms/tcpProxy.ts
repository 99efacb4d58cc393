/**
 * The TCP half of the test proxies that stand between a DLMS client and a simulator: one
 * upstream connection per client, each side closed with the other, every socket destroyed on
 * stop. What crosses is up to the framing's proxy (WrapperProxy, HdlcProxy), which relays it.
 */
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';

export abstract class TcpProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();

  constructor(private readonly target: number) {}

  get port(): number {
    return (this.server?.address() as AddressInfo).port;
  }

  async start(): Promise<void> {
    const server = createServer((client) => {
      const upstream = connect(this.target, '127.0.0.1');
      this.track(client);
      this.track(upstream);
      this.relay(client, upstream);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    this.server = server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    const server = this.server;
    if (server !== undefined) await new Promise<void>((resolve) => { server.close(() => { resolve(); }); });
  }

  /** Wires one client's connection to its upstream: what each side's data becomes on the other. */
  protected abstract relay(client: Socket, upstream: Socket): void;

  private track(s: Socket): void {
    this.sockets.add(s);
    s.on('error', () => s.destroy());
    s.on('close', () => this.sockets.delete(s));
  }
}
