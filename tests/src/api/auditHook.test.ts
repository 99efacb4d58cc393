/**
 * The API's audit hook: a change made through the API answers only once its audit entry is
 * stored, so a client that reads the log after the answer always finds it, whichever store
 * (and however slow a network round trip to it) keeps the log.
 */
import Fastify from 'fastify';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { installAuditHook } from '../../../src/api/auditRoutes.js';
import type { AuditEntry, AuditInput, AuditLog } from '../../../src/control/audit.js';

const apps: { close(): Promise<unknown> }[] = [];
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
});

/** An audit log whose writes take a few event-loop turns, as one over the network does. */
function slowAuditLog(): AuditLog & { readonly stored: AuditInput[] } {
  const stored: AuditInput[] = [];
  return {
    stored,
    append: async (input) => {
      await sleep(20);
      stored.push(input);
      return { ...input, id: stored.length, ts: 0, detail: input.detail ?? null } satisfies AuditEntry;
    },
    query: () => Promise.resolve({ items: [], next: null }),
  };
}

describe('audit hook', () => {
  it('answers a change only after its audit entry is stored', async () => {
    const audit = slowAuditLog();
    const errors: unknown[] = [];
    const app = Fastify();
    apps.push(app);
    await app.register(async (v1) => {
      installAuditHook(v1, { audit, onError: (err) => { errors.push(err); } });
      v1.delete('/areas/:id', () => ({ deleted: true }));
      await Promise.resolve();
    }, { prefix: '/api/v1' });
    const res = await app.inject({ method: 'DELETE', url: '/api/v1/areas/north' });
    expect(res.statusCode).toBe(200);
    expect(audit.stored).toMatchObject([{ action: 'area.delete', target: 'area:north', outcome: 'ok' }]);
    expect(errors).toEqual([]);
  });

  it('still answers when the entry cannot be stored, and reports the failure', async () => {
    const errors: unknown[] = [];
    const app = Fastify();
    apps.push(app);
    const failing: AuditLog = { append: () => Promise.reject(new Error('database unreachable')), query: () => Promise.resolve({ items: [], next: null }) };
    await app.register(async (v1) => {
      installAuditHook(v1, { audit: failing, onError: (err) => { errors.push(err); } });
      v1.delete('/areas/:id', () => ({ deleted: true }));
      await Promise.resolve();
    }, { prefix: '/api/v1' });
    const res = await app.inject({ method: 'DELETE', url: '/api/v1/areas/north' });
    expect(res.json()).toEqual({ deleted: true });
    expect(errors).toMatchObject([{ message: 'database unreachable' }]);
  });
});
