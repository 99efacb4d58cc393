/**
 * The operations part of an embedded station written for the import tests, through the real
 * SQLite stores: a firmware image (its bytes) with a campaign over two meters, the device
 * register with a nameplate and firmware history, two versions of a workflow definition, an
 * instance with its history and a recorded effect, work orders (one the instance made, with a
 * comment) and their counters, a fee account with its ledger, fee-control state, decisions and
 * the emergency flag, and the marks of meters counted on a day.
 */
import { SqliteCollectionStatsStore } from '../../src/collect/statsStore.js';
import { SqliteDeviceRegisterStore } from '../../src/deviceRegister/sqliteStore.js';
import { SqliteFeeStore } from '../../src/fees/sqliteStore.js';
import { SqliteFirmwareStore } from '../../src/firmware/sqliteStore.js';
import type { Db } from '../../src/storage/db.js';
import { SqliteWorkOrderStore } from '../../src/workOrders/sqliteStore.js';
import { SqliteWorkflowDefinitionStore } from '../../src/workflows/definitions/sqliteStore.js';
import { SqliteWorkflowInstanceStore } from '../../src/workflows/runtime/sqliteStore.js';

export const FIRMWARE_BYTES = Uint8Array.from({ length: 70_000 }, (_, i) => (i * 7) & 0xff);
export const FIRMWARE_CAMPAIGN = 'fw-1';
export const WORKFLOW_KEY = 'field-check';
export const WORKFLOW_INSTANCE = 'wi-1';
export const WORK_ORDER = 'wo-1';
export const FEE_ACCOUNT = 'fa-1';
export const METER_DAY = '2024-07-01';
/** Firmware history lines the register keeps per device (deviceRegister.historyPerDevice). */
export const HISTORY_PER_DEVICE = 10;

/** Writes them into `db` at around `t0`; `meters` are the registry's first two meter ids. */
export async function writeOperations(db: Db, t0: number, [m1, m2]: readonly [string, string]): Promise<void> {
  const firmware = new SqliteFirmwareStore(db);
  await firmware.insertImage({
    id: 'img-1', name: 'GRD 1.1', identifier: 'GRD-FW-1.1.0', version: '1.1.0', size: FIRMWARE_BYTES.length, sha256: 'ab'.repeat(32), signature: 'c0ffee',
    uploadedAt: t0, uploadedBy: 'token:ops', bytes: FIRMWARE_BYTES,
  });
  await firmware.insertCampaign({
    id: FIRMWARE_CAMPAIGN, name: 'GRD to 1.1', imageId: 'img-1', group: { meterIds: [m1, m2] }, window: { daily: { from: '22:00', to: '05:00' } },
    rate: { perTerminal: 1, total: 16 }, activation: { at: 'now' }, failureBudget: { percent: 10, minFailed: 3 },
    state: 'running', pauseReason: null, createdAt: t0, createdBy: 'token:ops', startedAt: t0 + 1, finishedAt: null,
  }, [{ meterId: m1, terminalId: 't-1' }, { meterId: m2, terminalId: 't-1' }]);
  await firmware.updateDevice(FIRMWARE_CAMPAIGN, m1, { state: 'transferring', blocksHeld: 12, blocksTotal: 35, blockSize: 2_000, initiated: true, attempts: 1 }, t0 + 2);
  await firmware.updateDevice(FIRMWARE_CAMPAIGN, m2, { state: 'failed', code: 'IMAGE_REFUSED', reason: 'the meter refused the image', attempts: 3 }, t0 + 3);

  const register = new SqliteDeviceRegisterStore(db, HISTORY_PER_DEVICE);
  await register.installed('meter', [m1, m2], t0);
  await register.installed('terminal', ['t-1'], t0);
  await register.noteNameplate('meter', m1, { manufacturer: 'GRD', model: 'GX-1', serial: 'S1', firmwareVersion: '1.0.0', firmwareSignature: 'aa', hardwareVersion: 'H1' }, t0 + 1, 'read', t0 + 86_400_000);
  await register.recordFirmware('meter', m1, { version: '1.1.0', signature: 'bb', at: t0 + 2, source: 'campaign', campaignId: FIRMWARE_CAMPAIGN, actor: 'token:ops' });
  await register.recordFirmware('meter', m1, { version: '1.1.1', at: t0 + 3, source: 'ota' });
  await register.removed('meter', [m2], t0 + 4);

  const definitions = new SqliteWorkflowDefinitionStore(db);
  for (const [i, xml] of ['<definitions id="v1"/>', '<definitions id="v2"/>'].entries()) {
    await definitions.deploy({ key: WORKFLOW_KEY, name: 'Field check', xml, hash: String(i + 1).repeat(64), deployedAt: t0 + i, deployedBy: 'user:ops', shipped: i === 0 });
  }
  const instances = new SqliteWorkflowInstanceStore(db);
  await instances.create({ id: WORKFLOW_INSTANCE, processKey: WORKFLOW_KEY, version: 2, trigger: { kind: 'alarm', ref: '7' }, businessKey: m1, variables: { meterId: m1 }, startedAt: t0 });
  await instances.step(WORKFLOW_INSTANCE, {
    status: 'running', variables: { meterId: m1, order: 'WO-000001' }, waiting: [{ elementId: 'check', elementType: 'bpmn:UserTask', since: t0 + 1, detail: 'WO-000001' }],
    state: '{"engine":"state"}', updatedAt: t0 + 1, endedAt: null, error: null,
  }, [
    { at: t0, elementId: 'start', elementType: 'bpmn:StartEvent', event: 'start', detail: null },
    { at: t0 + 1, elementId: 'check', elementType: 'bpmn:UserTask', event: 'wait', detail: 'WO-000001' },
  ], 100);
  await instances.recordEffect({ instanceId: WORKFLOW_INSTANCE, stepKey: `${WORKFLOW_INSTANCE}:notify`, action: 'notify', output: { sent: true }, at: t0 + 1 });

  const orders = new SqliteWorkOrderStore(db);
  const order = { type: 'field-check', title: 'Check the meter', customer: null, role: 'field', assignee: null, dueAt: t0 + 3_600_000, alarmId: '7' } as const;
  await orders.insert({
    ...order, id: WORK_ORDER, key: `${WORKFLOW_INSTANCE}:check`, meterId: m1, areaId: 'a-tx-1', state: 'open', createdAt: t0 + 1,
    source: { instanceId: WORKFLOW_INSTANCE, processKey: WORKFLOW_KEY, elementId: 'check' },
  }, `workflow:${WORKFLOW_KEY}/${WORKFLOW_INSTANCE}`);
  await orders.insert({ ...order, id: 'wo-2', key: null, title: 'By hand', meterId: null, areaId: null, alarmId: null, state: 'open', createdAt: t0 + 2, source: null }, 'user:ops');
  await orders.change(WORK_ORDER, () => ({
    patch: { state: 'done', assignee: 'zhang', result: { outcome: 'repaired' }, resultText: 'loose wire', closedAt: t0 + 5 },
    event: { at: t0 + 5, by: 'user:zhang', event: 'completed', detail: null }, comment: { text: 'photos on the share' },
  }));

  const fees = new SqliteFeeStore(db);
  await fees.createAccount({
    id: FEE_ACCOUNT, customerRef: 'C-1', name: 'Customer 1', meterIds: [m1], mode: 'postpaid', cycle: { closeDay: 5, dueDays: 10 }, tariffId: 'flat',
    currency: 'CNY', creditLimitMinor: 1_000, warnFirstMinor: 5_000, warnSecondMinor: 1_000, reconnectMinor: 0, protected: false,
    notify: { kind: 'webhook', url: 'http://127.0.0.1:9/sms' }, createdAt: t0, updatedAt: t0,
  });
  await fees.append([
    { accountId: FEE_ACCOUNT, kind: 'charge', amountMinor: -8_000, currency: 'CNY', key: 'charge:june', at: t0, periodFrom: t0 - 86_400_000, periodTo: t0, detail: { kwh: 100 }, actor: 'fee-run' },
    { accountId: FEE_ACCOUNT, kind: 'payment', amountMinor: 5_000, currency: 'CNY', key: 'payment:p-1', paymentId: 'p-1', at: t0 + 1, actor: 'token:pay', request: { key: 'r-1', bodyHash: 'h-1' } },
  ]);
  const state = await fees.controlState(FEE_ACCOUNT);
  if (state === undefined) throw new Error('no fee-control state for the new account');
  const { version, ...current } = state;
  await fees.saveControlState({ ...current, stage: 'warned-first', warnedFirstAt: t0 + 2, updatedAt: t0 + 2 }, version);
  await fees.recordDecisions([{ accountId: FEE_ACCOUNT, at: t0 + 2, action: 'warn-first', reason: 'below-first-warning', message: 'warned', balanceMinor: -3_000, dryRun: false }]);
  await fees.setEmergency({ active: true, reason: 'typhoon', setBy: 'user:ops', since: t0 });

  await new SqliteCollectionStatsStore(db).addMeterDays([
    { day: METER_DAY, meterId: m1, areaId: 'a-tx-1', read: true },
    { day: METER_DAY, meterId: m2, areaId: 'a-tx-2', read: false },
  ]);
}
