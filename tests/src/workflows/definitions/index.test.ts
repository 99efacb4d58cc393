/**
 * The definition assembly: built from the `workflows` section (none while workflows are off,
 * the configured size bound applied), the check's catalogue from the modeler's lists, and the
 * station's shipped processes deployed at start, passing the check against the station's own
 * actions, roles and work order types.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../../src/config/load.js';
import { DEFAULT_MAX_DEFINITION_BYTES } from '../../../../src/config/workflowDefinitions.js';
import { SqliteAuditLog } from '../../../../src/control/audit.js';
import { createLogger } from '../../../../src/observe/logger.js';
import { openDatabase, type Db } from '../../../../src/storage/db.js';
import { checkCatalogueOf, createWorkflowDefinitions } from '../../../../src/workflows/definitions/index.js';
import { SqliteWorkflowDefinitionStore } from '../../../../src/workflows/definitions/sqliteStore.js';
import { ROLES } from '../../../../src/auth/roles.js';
import { ACTION_NAMES } from '../../../../src/workflows/actions/index.js';
import { shippedDefinitions } from '../../../../src/workflows/shipped/index.js';
import { WORK_ORDER_TYPES } from '../../../../src/workOrders/types.js';
import { CATALOGUE, processXml } from './bpmnFixtures.js';

const open: Db[] = [];
afterEach(() => {
  for (const db of open.splice(0)) db.close();
});

function assemble(yaml: string) {
  const db = openDatabase(':memory:');
  open.push(db);
  return createWorkflowDefinitions({
    config: parseConfig(yaml, 'test.yaml'), store: new SqliteWorkflowDefinitionStore(db), audit: new SqliteAuditLog(db), logger: createLogger('silent'), catalogue: () => CATALOGUE,
  });
}

describe('the workflows section', () => {
  it('defaults to workflows on with a 1 MiB definition bound, and refuses an unknown key', () => {
    expect(parseConfig('', 'test.yaml').workflows).toMatchObject({ enabled: true, definitions: { maxBytes: DEFAULT_MAX_DEFINITION_BYTES }, triggers: [] });
    expect(DEFAULT_MAX_DEFINITION_BYTES).toBe(1024 * 1024);
    expect(() => parseConfig('workflows: { definitions: { maxSize: 5 } }', 'test.yaml')).toThrow(/workflows\.definitions/);
  });
});

describe('createWorkflowDefinitions', () => {
  it('builds no service while workflows are off', () => {
    expect(assemble('workflows: { enabled: false }')).toBeUndefined();
  });

  it('applies workflows.definitions.maxBytes', async () => {
    const service = assemble('workflows: { definitions: { maxBytes: 2048 } }');
    await expect(service?.deploy(processXml(), 'user:alice')).rejects.toMatchObject({ code: 'DEFINITION_TOO_LARGE', maxBytes: 2048 });
  });
});

describe('the shipped processes', () => {
  it('pass the deploy check against the station catalogue and deploy as version 1, once', async () => {
    const db = openDatabase(':memory:');
    open.push(db);
    const catalogue = checkCatalogueOf(ACTION_NAMES.map((name) => ({ name })), ROLES, WORK_ORDER_TYPES);
    const service = createWorkflowDefinitions({
      config: parseConfig('', 'test.yaml'), store: new SqliteWorkflowDefinitionStore(db), audit: new SqliteAuditLog(db), logger: createLogger('silent'), catalogue: () => catalogue,
    });
    const files = shippedDefinitions().map((d) => ({ name: `${d.key}.bpmn`, xml: d.xml }));
    for (const f of files) {
      const problems = (await service?.check(f.xml))?.problems.filter((p) => p.severity === 'error');
      expect({ file: f.name, problems }).toEqual({ file: f.name, problems: [] });
    }
    const first = await service?.deployShipped(files);
    expect(first?.map((o) => [o.file, o.outcome])).toEqual(files.map((f) => [f.name, 'created']));
    expect((await service?.list())?.map((d) => [d.key, d.version, d.shipped]).sort()).toEqual(
      [['communication-loss', 1, true], ['fee-recovery', 1, true], ['meter-replacement', 1, true], ['suspected-theft', 1, true]]);
    const again = await service?.deployShipped(files);
    expect(again?.every((o) => o.outcome !== 'created')).toBe(true);
  });
});

describe('checkCatalogueOf', () => {
  it('takes the names of the actions and work order types the modeler is shown', () => {
    const c = checkCatalogueOf([{ name: 'read-meter' }, { name: 'notify' }], ['field'], [{ type: 'repair' }]);
    expect([...c.actions]).toEqual(['read-meter', 'notify']);
    expect(c.roles).toEqual(['field']);
    expect(c.workOrderTypes.has('repair')).toBe(true);
  });
});
