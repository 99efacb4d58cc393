/**
 * A delaying TCP proxy in a process of its own, for the slow-link benchmark: it stands for
 * the GPRS/cellular links between a head-end and its meters. Each route listens on its own
 * address and relays to one meter; every chunk is held `oneWayMs` in each direction, and a
 * connection's first bytes from the client also wait one round trip for the TCP handshake
 * (a client on a real link cannot send before its SYN/SYN-ACK has crossed twice, while
 * here the kernel completes the loopback handshake at once). A read therefore pays the
 * same number of round trips as over a real link, its connect included, the connect's
 * round trip being charged to the first request.
 *
 * One timer serves every connection: all holds are equally long, so each of the two FIFOs
 * (handshakes, chunks) is sorted by due time as it is filled, and the timer only ever
 * waits for the head of one of them.
 *
 * IPC: parent → `start` with the routes and the delay; child → `ready`. Parent → `usage`;
 * child → `usage` with its CPU time and the connections it holds. Parent → `stop`; child →
 * `stopped` and ends. The child also stops when the parent goes away.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface DelayRoute {
  /** Address the proxy listens on for this meter. */
  readonly listenHost: string;
  /** The meter's own address. */
  readonly targetHost: string;
}

export interface DelayProxyStart {
  readonly type: 'start';
  readonly routes: readonly DelayRoute[];
  /** One port for every listen address and every target. */
  readonly port: number;
  readonly oneWayMs: number;
}

export type DelayProxyCommand = DelayProxyStart | { readonly type: 'usage' } | { readonly type: 'stop' };

export type DelayProxyReply =
  | { readonly type: 'ready' }
  | { readonly type: 'usage'; readonly cpuUs: number; readonly connections: number }
  | { readonly type: 'stopped' }
  | { readonly type: 'failed'; readonly message: string };

export function isDelayProxyReply(m: unknown): m is DelayProxyReply {
  return typeof m === 'object' && m !== null && 'type' in m && typeof m.type === 'string';
}

/** A chunk on its way, or the end of one direction (`undefined`). */
interface Held {
  readonly due: number;
  readonly to: Socket;
  readonly chunk: Buffer | undefined;
}

interface Pair {
  readonly client: Socket;
  readonly upstream: Socket;
  /** Client bytes sent before the handshake would have completed; undefined once open. */
  early: (Buffer | undefined)[] | undefined;
}

/** A FIFO over an array, compacted when half of it is consumed. */
class Fifo<T> {
  private items: T[] = [];
  private head = 0;

  get size(): number {
    return this.items.length - this.head;
  }

  peek(): T | undefined {
    return this.items[this.head];
  }

  push(item: T): void {
    this.items.push(item);
  }

  shift(): T | undefined {
    const item = this.items[this.head];
    if (item === undefined) return undefined;
    this.head++;
    if (this.head > 1_024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }
}

export class DelayProxy {
  private readonly servers: Server[] = [];
  private readonly pairs = new Set<Pair>();
  private readonly chunks = new Fifo<Held>();
  private readonly handshakes = new Fifo<{ readonly due: number; readonly pair: Pair }>();
  private timer: NodeJS.Timeout | undefined;
  private timerDue = Number.POSITIVE_INFINITY;

  constructor(private readonly o: Omit<DelayProxyStart, 'type'>) {}

  get connections(): number {
    return this.pairs.size;
  }

  async start(): Promise<void> {
    for (const route of this.o.routes) {
      const server = createServer({ allowHalfOpen: true, noDelay: true }, (client) => { this.accept(client, route.targetHost); });
      this.servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        // A backlog as deep as the kernel allows: 10,000 clients may dial within one turn.
        server.listen({ host: route.listenHost, port: this.o.port, backlog: 4_096 }, () => {
          server.off('error', reject);
          resolve();
        });
      });
    }
  }

  async stop(): Promise<void> {
    if (this.timer !== undefined) clearTimeout(this.timer);
    for (const p of this.pairs) {
      p.client.destroy();
      p.upstream.destroy();
    }
    await Promise.all(this.servers.map((s) => new Promise<void>((resolve) => { s.close(() => { resolve(); }); })));
  }

  private accept(client: Socket, targetHost: string): void {
    const upstream = connect({ host: targetHost, port: this.o.port, allowHalfOpen: true, noDelay: true });
    const pair: Pair = { client, upstream, early: [] };
    this.pairs.add(pair);
    const drop = () => {
      if (!this.pairs.delete(pair)) return;
      client.destroy();
      upstream.destroy();
    };
    for (const s of [client, upstream]) {
      s.on('error', drop);
      s.on('close', drop);
    }
    client.on('data', (chunk: Buffer) => { this.fromClient(pair, chunk); });
    client.on('end', () => { this.fromClient(pair, undefined); });
    upstream.on('data', (chunk: Buffer) => { this.hold(client, chunk); });
    upstream.on('end', () => { this.hold(client, undefined); });
    this.handshakes.push({ due: performance.now() + 2 * this.o.oneWayMs, pair });
    this.arm();
  }

  private fromClient(pair: Pair, chunk: Buffer | undefined): void {
    if (pair.early !== undefined) pair.early.push(chunk);
    else this.hold(pair.upstream, chunk);
  }

  private hold(to: Socket, chunk: Buffer | undefined): void {
    this.chunks.push({ due: performance.now() + this.o.oneWayMs, to, chunk });
    this.arm();
  }

  /** Arms the one timer for the earliest head, unless it is already armed for it or sooner. */
  private arm(): void {
    const due = Math.min(this.chunks.peek()?.due ?? Number.POSITIVE_INFINITY, this.handshakes.peek()?.due ?? Number.POSITIVE_INFINITY);
    if (due === Number.POSITIVE_INFINITY || due >= this.timerDue) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timerDue = due;
    this.timer = setTimeout(() => { this.pump(); }, Math.max(0, due - performance.now()));
  }

  private pump(): void {
    this.timer = undefined;
    this.timerDue = Number.POSITIVE_INFINITY;
    const now = performance.now();
    for (let h = this.handshakes.peek(); h !== undefined && h.due <= now; h = this.handshakes.peek()) {
      this.handshakes.shift();
      const early = h.pair.early ?? [];
      h.pair.early = undefined;
      for (const chunk of early) this.hold(h.pair.upstream, chunk);
    }
    for (let c = this.chunks.peek(); c !== undefined && c.due <= now; c = this.chunks.peek()) {
      this.chunks.shift();
      if (c.to.destroyed) continue;
      if (c.chunk === undefined) c.to.end();
      else c.to.write(c.chunk);
    }
    this.arm();
  }
}

function runAsChild(send: (m: DelayProxyReply) => void): void {
  let proxy: DelayProxy | undefined;
  const stop = async () => {
    const running = proxy;
    proxy = undefined;
    await running?.stop();
  };
  process.on('message', (raw: unknown) => {
    const msg = raw as Partial<DelayProxyCommand> | null;
    if (msg?.type === 'start') {
      const started = new DelayProxy(msg as DelayProxyStart);
      proxy = started;
      started.start().then(
        () => { send({ type: 'ready' }); },
        (e: unknown) => { send({ type: 'failed', message: e instanceof Error ? e.message : String(e) }); },
      );
    } else if (msg?.type === 'usage') {
      const u = process.cpuUsage();
      send({ type: 'usage', cpuUs: u.user + u.system, connections: proxy?.connections ?? 0 });
    } else if (msg?.type === 'stop') {
      void stop().then(() => {
        send({ type: 'stopped' });
        process.disconnect();
      });
    }
  });
  process.on('disconnect', () => { void stop(); });
}

if (typeof process.send === 'function' && process.argv.includes('--delay-proxy')) {
  const send = process.send.bind(process);
  runAsChild((m) => { send(m); });
}
