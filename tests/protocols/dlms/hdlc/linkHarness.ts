/**
 * Runs a client and a server HdlcLink against each other in memory: every frame one side
 * writes is fed to the other, until both are quiet. A `drop` hook loses chosen frames.
 */
import { decodeHdlcFrame, type HdlcFrame } from '../../../../protocols/dlms/hdlc/frame.js';
import { HdlcLink, type HdlcLinkEvent, type HdlcLinkOptions, type HdlcLinkOutput } from '../../../../protocols/dlms/hdlc/link.js';

export type Side = 'client' | 'server';
export interface Wire {
  readonly from: Side;
  readonly bytes: Uint8Array;
  readonly frame: HdlcFrame;
}

export const SERVER_ADDRESS = { upper: 1, lower: 17 };

export class LinkPair {
  readonly client: HdlcLink;
  readonly server: HdlcLink;
  readonly wire: Wire[] = [];
  readonly events: Record<Side, HdlcLinkEvent[]> = { client: [], server: [] };
  /** Called for each APDU the server gets; its return value is sent back as the response. */
  onServerApdu: (apdu: Uint8Array) => Uint8Array | undefined = () => undefined;
  /** Return true to lose a frame on the wire. */
  drop: (w: Wire) => boolean = () => false;

  constructor(client: Partial<HdlcLinkOptions> = {}, server: Partial<HdlcLinkOptions> = {}) {
    this.client = new HdlcLink({ role: 'client', clientAddress: 16, serverAddress: SERVER_ADDRESS, ...client });
    this.server = new HdlcLink({ role: 'server', serverAddress: SERVER_ADDRESS, ...server });
  }

  /** Feeds `out` (written by `from`) through the wire until nothing more is sent. */
  run(from: Side, out: HdlcLinkOutput | Uint8Array[]): void {
    const queue: { from: Side; bytes: Uint8Array }[] = [];
    const take = (side: Side, o: HdlcLinkOutput | Uint8Array[]): void => {
      const sends = Array.isArray(o) ? o : o.send;
      if (!Array.isArray(o)) this.events[side].push(...o.events);
      for (const bytes of sends) queue.push({ from: side, bytes });
    };
    take(from, out);
    for (let steps = 0; queue.length > 0; steps++) {
      if (steps > 10_000) throw new Error('link pair does not settle');
      const { from: side, bytes } = queue.shift() ?? { from: 'client', bytes: new Uint8Array(0) };
      const w: Wire = { from: side, bytes, frame: decodeHdlcFrame(bytes) };
      this.wire.push(w);
      if (this.drop(w)) continue;
      if (side === 'client') {
        const o = this.server.receive(bytes);
        take('server', o);
        for (const e of o.events) {
          if (e.type !== 'apdu') continue;
          const response = this.onServerApdu(e.apdu);
          if (response) take('server', this.server.send(response));
        }
      } else take('client', this.client.receive(bytes));
    }
  }

  connect(): void {
    this.run('client', this.client.connect());
  }

  apdus(side: Side): Uint8Array[] {
    return this.events[side].flatMap((e) => (e.type === 'apdu' ? [e.apdu] : []));
  }

  errors(side: Side): string[] {
    return this.events[side].flatMap((e) => (e.type === 'error' ? [`${e.fatal ? 'fatal ' : ''}${e.error.message}`] : []));
  }

  /** Frames on the wire from `side`, as "KIND" or "I ns/nr S" strings. */
  trace(side?: Side): string[] {
    return this.wire
      .filter((w) => side === undefined || w.from === side)
      .map(({ from, frame: f }) => {
        const who = side === undefined ? `${from[0]}:` : '';
        if (f.kind === 'I') return `${who}I${f.ns}/${f.nr}${f.segmented ? 'S' : ''}`;
        if (f.kind === 'RR' || f.kind === 'RNR') return `${who}${f.kind}${f.nr}`;
        return `${who}${f.kind}`;
      });
  }
}

export function filled(n: number, seed = 1): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);
}
