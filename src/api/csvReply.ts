/**
 * CSV replies of the export routes (billing reads, fee reports): whether a request asked for
 * CSV, and a streamed body of one chunk of lines per page, so an export of the whole fleet
 * keeps memory bounded and the socket's backpressure paces the database reads.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Readable } from 'node:stream';
import { setImmediate as yieldToLoop } from 'node:timers/promises';

/** `format=csv`, or without `format` an Accept header naming text/csv. */
export function wantsCsv(req: FastifyRequest): boolean {
  const format = (req.query as { format?: string }).format;
  if (format !== undefined) return format === 'csv';
  return req.headers.accept?.includes('text/csv') === true;
}

/** One page as the chunks of an export. */
export async function* once<T>(page: Promise<{ rows: T[]; next: string | null }>): AsyncGenerator<T[]> {
  yield (await page).rows;
}

/**
 * Streams the header and then one chunk of lines per page. The first page is computed
 * before the reply starts, so a bad query (unknown area) is still a problem+json 400/404;
 * a failure later can only cut the stream, and is logged.
 */
export async function sendCsv<T>(req: FastifyRequest, reply: FastifyReply, header: string, chunks: AsyncIterator<T[]>, line: (r: T) => string): Promise<FastifyReply> {
  const first = await chunks.next();
  async function* body(): AsyncGenerator<string> {
    yield header;
    let step = first;
    while (step.done !== true) {
      yield step.value.map(line).join('');
      // Let other requests and the ingest pipeline run between pages of a long export.
      await yieldToLoop();
      step = await chunks.next();
    }
  }
  const stream = Readable.from(body(), { objectMode: false, highWaterMark: 64 * 1024 });
  stream.on('error', (err) => { req.log.error({ err, url: req.url }, 'CSV export failed mid-stream'); });
  return reply.type('text/csv; charset=utf-8').send(stream);
}
