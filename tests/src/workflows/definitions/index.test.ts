/**
 * The definition assembly: built from the `workflows` section (none while workflows are off,
 * the configured size bound applied), the check's catalogue from the modeler's lists, and the
 * shipped files of a folder deployed at start.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../../src/config/load.js';
import { DEFAULT_MAX_DEFINITION_BYTES } from '../../../../src/config/workflowDefinitions.js';
import { SqliteAuditLog } from '../../../../src/control/audit.js';
import { createLogger } from '../../../../src/observe/logger.js';
import { openDatabase, type Db } from '../../../../src/storage/db.js';
import { checkCatalogueOf, createWorkflowDefinitions, readShippedFiles } from '../../../../src/workflows/definitions/index.js';
import { SqliteWorkflowDefinitionStore } from '../../../../src/workflows/definitions/sqliteStore.js';
import { CATALOGUE, processXml } from './bpmnFixtures.js';

const open: Db[] = [];
const dirs: string[] = [];
afterEach(() => {
  for (const db of open.splice(0)) db.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
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
    expect(parseConfig('', 'test.yaml').workflows).toEqual({ enabled: true, definitions: { maxBytes: DEFAULT_MAX_DEFINITION_BYTES } });
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

  it('deploys the .bpmn files of a folder as shipped processes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gridhead-shipped-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'b.bpmn'), processXml({ id: 'second' }));
    writeFileSync(join(dir, 'a.bpmn'), processXml({ id: 'first' }));
    writeFileSync(join(dir, 'notes.md'), 'not a process');
    const files = readShippedFiles(dir);
    expect(files.map((f) => f.name)).toEqual(['a.bpmn', 'b.bpmn']);
    const outcomes = await assemble('')?.deployShipped(files);
    expect(outcomes?.map((o) => [o.file, o.outcome])).toEqual([['a.bpmn', 'created'], ['b.bpmn', 'created']]);
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
