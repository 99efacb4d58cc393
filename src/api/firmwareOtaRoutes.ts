/**
 * The image download of MQTT OTA (docs/mqtt-ota.md): a terminal GETs the URL its offer
 * named. Public: terminals hold no API token, and the random per-offer token in the path is
 * the capability (src/firmware/ota/downloads.ts), bounded in lifetime and in downloads at once.
 */
import { Readable } from 'node:stream';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { OtaDownloadsBusy } from '../firmware/ota/errors.js';
import type { OtaDownloads } from '../firmware/ota/downloads.js';

export interface FirmwareOtaRoutesOptions {
  readonly downloads: Pick<OtaDownloads, 'open'>;
}

/** Written a slice at a time, so a slow terminal holds the socket's buffer, not a copy of the image. */
const SLICE_BYTES = 64 * 1024;

export const firmwareOtaRoutes: FastifyPluginAsyncTypebox<FirmwareOtaRoutesOptions> = async (app, { downloads }) => {
  app.get('/firmware/ota/:token', {
    config: { access: 'public' },
    // HEAD would hold a download slot for nothing; a terminal learns the size from its offer.
    exposeHeadRoute: false,
    schema: {
      tags: ['firmware'],
      description: 'A firmware image offered to an MQTT terminal, by the token of its offer URL (no other credentials). '
        + 'ETag is the image\'s SHA-256; 404 once the token expired or was revoked; 503 with Retry-After while too many downloads run.',
      params: Type.Object({ token: Type.String({ minLength: 1, maxLength: 128 }) }),
      response: {
        200: { description: 'The image, as uploaded.', content: { 'application/octet-stream': { schema: Type.String({ format: 'binary' }) } } },
        404: Type.Ref('Problem'), 503: Type.Ref('Problem'),
      },
    },
  }, async (req, reply) => {
    let download;
    try {
      download = await downloads.open(req.params.token);
    } catch (err) {
      if (err instanceof OtaDownloadsBusy) void reply.header('retry-after', String(err.retryAfterSec));
      throw err;
    }
    const { bytes, sha256, release } = download;
    const body = Readable.from(slices(bytes));
    // Ends the download's hold on its slot whether the terminal read it all or went away.
    body.once('close', release);
    return reply
      .header('content-type', 'application/octet-stream')
      .header('content-length', String(bytes.byteLength))
      .header('etag', `"${sha256}"`)
      .header('cache-control', 'no-store')
      .send(body);
  });
  await Promise.resolve();
};

function* slices(bytes: Uint8Array): Generator<Buffer> {
  for (let at = 0; at < bytes.byteLength; at += SLICE_BYTES) {
    yield Buffer.from(bytes.buffer, bytes.byteOffset + at, Math.min(SLICE_BYTES, bytes.byteLength - at));
  }
}
