/**
 * The definition service over the embedded store and audit log: deploys checked and refused
 * with their problems, versions made only when the XML changed, the size bound, and the
 * shipped processes deployed at start without overwriting what a person deployed.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteAuditLog } from '../../../../src/control/audit.js';
import { createLogger } from '../../../../src/observe/logger.js';
import { openDatabase, type Db } from '../../../../src/storage/db.js';
import { DefinitionInvalidError, DefinitionService } from '../../../../src/workflows/definitions/service.js';
import { SqliteWorkflowDefinitionStore } from '../../../../src/workflows/definitions/sqliteStore.js';
import { CATALOGUE, processXml } from './bpmnFixtures.js';

let db: Db;
let audit: SqliteAuditLog;
let logLines: Record<string, unknown>[];
let service: DefinitionService;
let clock: number;

beforeEach(() => {
  db = openDatabase(':memory:');
  audit = new SqliteAuditLog(db);
  logLines = [];
  clock = Date.UTC(2026, 2, 10);
  service = new DefinitionService({
    store: new SqliteWorkflowDefinitionStore(db), audit, catalogue: () => CATALOGUE, maxBytes: 64 * 1024,
    logger: createLogger('info', { write: (line: string) => { logLines.push(JSON.parse(line) as Record<string, unknown>); } }),
    now: () => clock++,
  });
});
afterEach(() => { db.close(); });

async function auditEntries() {
  return (await audit.query({ action: 'workflow-definition.deploy', limit: 100 })).items.reverse();
}

describe('DefinitionService.deploy', () => {
  it('deploys version 1, answers it again for the same XML, and makes version 2 of changed XML', async () => {
    const first = await service.deploy(processXml(), 'user:alice', { source: '10.0.0.7' });
    expect(first).toMatchObject({ created: true, definition: { key: 'field-check', version: 1, name: 'Field check', deployedBy: 'user:alice', shipped: false } });
    expect(first.warnings.every((w) => w.severity === 'warning')).toBe(true);
    expect(first.definition.hash).toMatch(/^[0-9a-f]{64}$/);

    const again = await service.deploy(processXml(), 'user:bob');
    expect(again).toMatchObject({ created: false, definition: { version: 1, deployedBy: 'user:alice' } });

    const changed = await service.deploy(processXml({ due: 'PT2H' }), 'user:bob');
    expect(changed).toMatchObject({ created: true, definition: { version: 2, deployedBy: 'user:bob' } });
    expect((await service.latest('field-check'))?.xml).toContain('gh:due="PT2H"');
    expect((await service.get('field-check', 1))?.xml).toContain('gh:due="PT4H"');
    expect((await service.versions('field-check')).map((v) => v.version)).toEqual([2, 1]);
    expect(await service.list()).toMatchObject([{ key: 'field-check', version: 2, versions: 2 }]);

    expect((await auditEntries()).map((e) => [e.actor, e.source, e.target, e.outcome, e.detail?.version, e.detail?.created])).toEqual([
      ['user:alice', '10.0.0.7', 'workflow-definition:field-check', 'ok', 1, true],
      ['user:bob', null, 'workflow-definition:field-check', 'ok', 1, false],
      ['user:bob', null, 'workflow-definition:field-check', 'ok', 2, true],
    ]);
  });

  it('refuses a bad definition with its problems, stores nothing and audits the refusal', async () => {
    const refused = await service.deploy(processXml({ action: 'launch-rocket' }), 'user:alice').catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(DefinitionInvalidError);
    expect(refused).toMatchObject({ code: 'DEFINITION_INVALID', status: 400 });
    expect((refused as DefinitionInvalidError).problems).toContainEqual(expect.objectContaining({ elementId: 'read', rule: 'gridhead/unknown-action', severity: 'error' }));
    expect(await service.list()).toEqual([]);
    expect((await auditEntries()).map((e) => [e.target, e.outcome, e.detail?.rules])).toEqual([['workflow-definition:field-check', 'refused', ['gridhead/unknown-action']]]);
  });

  it('refuses XML over the size bound before parsing it', async () => {
    const big = processXml({ extra: `<!-- ${'x'.repeat(70 * 1024)} -->` });
    await expect(service.deploy(big, 'user:alice')).rejects.toMatchObject({ code: 'DEFINITION_TOO_LARGE', status: 413, maxBytes: 64 * 1024 });
    await expect(service.check(big)).rejects.toMatchObject({ code: 'DEFINITION_TOO_LARGE' });
  });
});

describe('DefinitionService.deployShipped', () => {
  it('deploys a shipped file as version 1 of a new key, and changes nothing when started again', async () => {
    expect(await service.deployShipped([{ name: 'field-check.bpmn', xml: processXml() }]))
      .toEqual([{ file: 'field-check.bpmn', outcome: 'created', key: 'field-check', version: 1 }]);
    expect(await service.latest('field-check')).toMatchObject({ version: 1, shipped: true, deployedBy: 'system' });
    expect(await service.deployShipped([{ name: 'field-check.bpmn', xml: processXml() }]))
      .toEqual([{ file: 'field-check.bpmn', outcome: 'unchanged', key: 'field-check', version: 1 }]);
    expect((await auditEntries()).length).toBe(1);
  });

  it('deploys an upgraded shipped file as a new version while the latest is shipped', async () => {
    await service.deployShipped([{ name: 'field-check.bpmn', xml: processXml() }]);
    expect(await service.deployShipped([{ name: 'field-check.bpmn', xml: processXml({ due: 'PT8H' }) }]))
      .toEqual([{ file: 'field-check.bpmn', outcome: 'created', key: 'field-check', version: 2 }]);
    expect(await service.latest('field-check')).toMatchObject({ version: 2, shipped: true });
  });

  it('does not put back an older shipped file over the newer shipped version (a node of the previous release restarting)', async () => {
    await service.deployShipped([{ name: 'field-check.bpmn', xml: processXml() }]);
    await service.deployShipped([{ name: 'field-check.bpmn', xml: processXml({ due: 'PT8H' }) }]);
    expect(await service.deployShipped([{ name: 'field-check.bpmn', xml: processXml() }]))
      .toEqual([{ file: 'field-check.bpmn', outcome: 'kept', key: 'field-check', version: 2 }]);
    expect((await service.versions('field-check')).length).toBe(2);
    expect(logLines.filter((l) => String(l.msg).includes('older one'))).toHaveLength(1);
  });

  it('keeps the later version a person deployed, with one log line', async () => {
    await service.deployShipped([{ name: 'field-check.bpmn', xml: processXml() }]);
    await service.deploy(processXml({ due: 'PT1H' }), 'user:dispatcher');
    expect(await service.deployShipped([{ name: 'field-check.bpmn', xml: processXml({ due: 'PT8H' }) }]))
      .toEqual([{ file: 'field-check.bpmn', outcome: 'kept', key: 'field-check', version: 2 }]);
    expect(await service.latest('field-check')).toMatchObject({ version: 2, shipped: false, deployedBy: 'user:dispatcher' });
    expect(logLines.filter((l) => String(l.msg).includes('theirs is kept'))).toEqual([expect.objectContaining({ key: 'field-check', version: 2, deployedBy: 'user:dispatcher' })]);
  });

  it('skips a shipped file the check refuses, logging its problems, and deploys the others', async () => {
    const outcomes = await service.deployShipped([
      { name: 'broken.bpmn', xml: processXml({ id: 'broken', role: 'janitor' }) },
      { name: 'field-check.bpmn', xml: processXml() },
    ]);
    expect(outcomes).toEqual([
      { file: 'broken.bpmn', outcome: 'invalid', problems: [expect.objectContaining({ elementId: 'check', rule: 'gridhead/unknown-role' })] },
      { file: 'field-check.bpmn', outcome: 'created', key: 'field-check', version: 1 },
    ]);
    expect(logLines.filter((l) => l.level === 50).map((l) => l.file)).toEqual(['broken.bpmn']);
  });
});
