/**
 * POST /api/v1/registry/import/{areas|terminals|meters}: the bulk registry import
 * (src/registry/import/) of a `text/csv` body into the running station's registry, which
 * checks, writes, applies and announces it batch by batch as it does every change.
 *
 * The body is streamed to the importer as it arrives, never held whole: the CSV parser is
 * registered in this plugin only and hands the request stream through, so the API's JSON
 * body limit does not apply and `http.registryImportLimitBytes` does instead, counted as the
 * bytes arrive (a body announcing more is refused before it is read). `?dryRun=true` checks
 * and counts without writing. Audited as `registry.import` with the summary's counts.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { IncomingMessage } from 'node:http';
import Type from 'typebox';
import { ImportBodyTooLarge } from '../registry/import/errors.js';
import { importRegistryCsv } from '../registry/import/importer.js';
import type { Registry } from '../registry/registry.js';
import { noteAudit, setAuditTarget } from './auditRoutes.js';
import { problemResponses } from './problem.js';

export interface RegistryImportRoutesOptions {
  readonly registry: Registry;
  /** `http.registryImportLimitBytes`: the largest CSV body taken. */
  readonly limitBytes: number;
}

const RejectedRowOut = Type.Object({
  line: Type.Integer(), column: Type.Union([Type.String(), Type.Null()]), code: Type.String(), message: Type.String(),
});

const SummaryOut = Type.Object({
  kind: Type.String(), dryRun: Type.Boolean(), read: Type.Integer(), created: Type.Integer(), updated: Type.Integer(),
  unchanged: Type.Integer(), rejected: Type.Integer(), errors: Type.Array(RejectedRowOut), errorsOmitted: Type.Integer(),
  elapsedMs: Type.Number(), rowsPerSecond: Type.Number(),
});

export const registryImportRoutes: FastifyPluginAsyncTypebox<RegistryImportRoutesOptions> = async (app, { registry, limitBytes }) => {
  app.addContentTypeParser('text/csv', (req, payload, done) => {
    const announced = Number(req.headers['content-length']);
    if (Number.isFinite(announced) && announced > limitBytes) {
      done(new ImportBodyTooLarge(limitBytes), undefined);
      return;
    }
    done(null, payload);
  });
  app.post('/registry/import/:kind', {
    config: { access: 'admin' },
    schema: {
      summary: 'Imports areas, terminals or meters from a CSV body (text/csv, header row first), streamed; rows equal to the stored ones are left unchanged. '
        + 'Bad rows are rejected with their line, column and reason, the others imported.',
      tags: ['topology'],
      params: Type.Object({ kind: Type.Union([Type.Literal('areas'), Type.Literal('terminals'), Type.Literal('meters')]) }),
      querystring: Type.Object({ dryRun: Type.Boolean({ default: false }) }, { additionalProperties: false }),
      response: { 200: SummaryOut, ...problemResponses },
    },
  }, async (req) => {
    const { kind } = req.params;
    setAuditTarget(req, `registry:${kind}`);
    const summary = await importRegistryCsv(limited(req.body as IncomingMessage, limitBytes), { registry, kind, dryRun: req.query.dryRun });
    noteAudit(req, { dryRun: summary.dryRun, read: summary.read, created: summary.created, updated: summary.updated, unchanged: summary.unchanged, rejected: summary.rejected });
    return summary;
  });
  await Promise.resolve();
};

/** The body's chunks up to `limit` bytes; past it, ImportBodyTooLarge (the rows before it are imported). */
async function* limited(body: AsyncIterable<Buffer>, limit: number): AsyncGenerator<Buffer> {
  let bytes = 0;
  for await (const chunk of body) {
    bytes += chunk.length;
    if (bytes > limit) throw new ImportBodyTooLarge(limit);
    yield chunk;
  }
}
