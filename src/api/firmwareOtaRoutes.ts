/**
 * The image download of MQTT OTA (docs/mqtt-ota.md): a terminal GETs the URL its offer
 * named, whole or one byte range to resume (RFC 9110 §14). Public: terminals hold no API
 * token, and the random per-offer token in the path is the capability
 * (src/firmware/ota/downloads.ts), bounded in lifetime and in downloads at once.
 */
import { Readable } from 'node:stream';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { contentRange } from '../firmware/ota/byteRange.js';
import { OtaDownloadsBusy, OtaRangeNotSatisfiable } from '../firmware/ota/errors.js';
import type { OtaDownloads } from '../firmware/ota/downloads.js';

export interface FirmwareOtaRoutesOptions {
  readonly downloads: Pick<OtaDownloads, 'open'>;
}

/** Written a slice at a time, so a slow terminal holds the socket's buffer, not a copy of the image. */
const SLICE_BYTES = 64 * 1024;

const imageHeaders = {
  'accept-ranges': Type.String({ description: '`bytes`: a broken download resumes with `Range: bytes=<received>-`' }),
  etag: Type.String({ description: 'The image\'s SHA-256 as a strong entity tag, `"<64 hex digits>"`: the validator for `If-Range`' }),
};
const image = { 'application/octet-stream': { schema: Type.String({ format: 'binary' }) } };

export const firmwareOtaRoutes: FastifyPluginAsyncTypebox<FirmwareOtaRoutesOptions> = async (app, { downloads }) => {
  app.get('/firmware/ota/:token', {
    config: { access: 'public' },
    // HEAD would hold a download slot for nothing; a terminal learns the size from its offer.
    exposeHeadRoute: false,
    schema: {
      tags: ['firmware'],
      description: 'A firmware image offered to an MQTT terminal, by the token of its offer URL (no other credentials). '
        + 'The token serves any number of GETs until it expires or the offer ends (verified or failed), so a broken download resumes with '
        + '`Range: bytes=<received>-` (one range: `a-b`, `a-` or `-n`), best with `If-Range: <ETag>`. ETag is the image\'s SHA-256. '
        + 'A Range that is malformed or asks for several ranges is ignored (200, the whole image, RFC 9110 §14.2), as is one whose If-Range does not match. '
        + '404 once the token expired or was revoked; 416 with `Content-Range: bytes */<size>` for a range past the end; '
        + '503 with Retry-After while too many downloads run (a ranged GET takes a slot too).',
      params: Type.Object({ token: Type.String({ minLength: 1, maxLength: 128 }) }),
      headers: Type.Object({
        range: Type.Optional(Type.String({ description: 'RFC 9110 §14.2, one byte range' })),
        'if-range': Type.Optional(Type.String({ description: 'RFC 9110 §13.1.5: the ETag; the range applies only while it matches' })),
      }),
      response: {
        200: { description: 'The whole image, as uploaded.', headers: imageHeaders, content: image },
        206: {
          description: 'One range of the image.',
          headers: { ...imageHeaders, 'content-range': Type.String({ description: '`bytes <first>-<last>/<size>` (RFC 9110 §14.4)' }) },
          content: image,
        },
        404: Type.Ref('Problem'), 416: Type.Ref('Problem'), 503: Type.Ref('Problem'),
      },
    },
  }, async (req, reply) => {
    let download;
    try {
      download = await downloads.open(req.params.token, { range: req.headers.range, ifRange: req.headers['if-range'] });
    } catch (err) {
      if (err instanceof OtaDownloadsBusy) void reply.header('retry-after', String(err.retryAfterSec));
      if (err instanceof OtaRangeNotSatisfiable) void reply.header('content-range', contentRange({ kind: 'unsatisfiable' }, err.size));
      throw err;
    }
    const { body: bytes, selection, size, sha256, release } = download;
    let sent = 0;
    // Byte mode with a one-slice buffer: what a broken response counts as sent is at most a slice ahead of the socket.
    const body = Readable.from(slices(bytes, (n) => { sent += n; }), { objectMode: false, highWaterMark: SLICE_BYTES });
    // Ends the download's hold on its slot whether the terminal read it all or went away; a finished response sent every byte.
    reply.raw.once('close', () => { release(reply.raw.writableFinished ? bytes.byteLength : sent); });
    if (selection.kind === 'range') void reply.code(206).header('content-range', contentRange(selection, size));
    return reply
      .header('content-type', 'application/octet-stream')
      .header('content-length', String(bytes.byteLength))
      .header('accept-ranges', 'bytes')
      .header('etag', `"${sha256}"`)
      .header('cache-control', 'no-store')
      .send(body);
  });
  await Promise.resolve();
};

function* slices(bytes: Uint8Array, handed: (n: number) => void): Generator<Buffer> {
  for (let at = 0; at < bytes.byteLength; at += SLICE_BYTES) {
    const slice = Buffer.from(bytes.buffer, bytes.byteOffset + at, Math.min(SLICE_BYTES, bytes.byteLength - at));
    handed(slice.byteLength);
    yield slice;
  }
}
