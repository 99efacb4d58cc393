/**
 * The control port's own rules, as the command service implements them, with a stand-in
 * device: the protected-meter guard rail (for programs only, and never on undo commands),
 * verification by the read-back state, error codes, and that every request and result lands
 * in the action log (and every failure in the audit log).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { DeviceControlState, MeterAccountState } from '../../../protocols/adapter.js';
import type { StationCommand } from '../../../src/control/commandModel.js';
import { TimeoutError } from '../../../protocols/adapter.js';
import type { CommandService } from '../../../src/control/commands.js';
import type { ControlRequest } from '../../../src/control/port.js';
import { meterId, terminalId, type Meter } from '../../../src/domain/index.js';
import { openDatabase, type Db } from '../../../src/storage/db.js';
import { testCommandService } from '../../helpers/commandService.js';

const dbs: Db[] = [];
const services: CommandService[] = [];
afterEach(async () => {
  for (const s of services.splice(0)) await s.close();
  for (const db of dbs.splice(0)) db.close();
});

function setup(reply: (c: StationCommand) => Promise<DeviceControlState>, paymentMetering?: (terminalId: string) => boolean) {
  const db = openDatabase(':memory:');
  dbs.push(db);
  const meters: Meter[] = ['plain', 'hospital'].map((id) => ({
    id: meterId(id), name: id, terminalId: terminalId('t1'), address: '7', ctRatio: 1, ptRatio: 1, areaId: null,
    protected: id === 'hospital', customerRef: null, accountRef: null,
  }));
  const sent: string[] = [];
  const { service: port, actions, audit } = testCommandService({
    db, meters, now: () => 1_000, ...(paymentMetering === undefined ? {} : { paymentMetering }),
    run: (t, c) => { sent.push(`${t}/${c.address}:${c.type}`); return reply(c); },
  });
  services.push(port);
  /** Failed outcomes as the audit log tells them, by error code. */
  const problems = async () => (await audit.query({ limit: 100 })).items.filter((e) => e.outcome === 'failed').map((e) => (e.detail?.error as { code?: string } | undefined)?.code);
  return { port, sent, actions, audit, problems };
}

const program = (meter: string, command: ControlRequest['command'], limitKw?: number): ControlRequest => ({
  meterId: meter, command, ...(limitKw === undefined ? {} : { limitKw }), origin: { kind: 'program', id: 'p1', round: 1 }, reason: 'test',
});
const obey = (c: StationCommand): Promise<DeviceControlState> => Promise.resolve(
  c.type === 'disconnect' ? { connected: false } : c.type === 'reconnect' ? { connected: true } : c.type === 'set-limit' ? { limitKw: c.limitKw } : { limitKw: null },
);

describe('control port', () => {
  it('refuses disconnect and set-limit of a protected meter from a program, before the device, and records it', async () => {
    const { port, sent, actions } = setup(obey);
    for (const command of ['disconnect', 'set-limit'] as const) {
      expect(await port.execute(program('hospital', command, command === 'set-limit' ? 5 : undefined))).toMatchObject({ status: 'refused', error: { code: 'PROTECTED_METER' } });
    }
    expect(sent).toEqual([]);
    expect((await actions.list({ meterId: 'hospital' })).map((a) => [a.command, a.status, a.reason])).toEqual([['set-limit', 'refused', 'test'], ['disconnect', 'refused', 'test']]);
  });

  it('lets a program undo (reconnect, clear-limit) and an operator act on a protected meter', async () => {
    const { port, sent } = setup(obey);
    expect((await port.execute(program('hospital', 'reconnect'))).status).toBe('verified');
    expect((await port.execute(program('hospital', 'clear-limit'))).status).toBe('verified');
    const operator: ControlRequest = { meterId: 'hospital', command: 'disconnect', origin: { kind: 'operator', actor: 'alice' }, reason: 'site work' };
    expect((await port.execute(operator)).status).toBe('verified');
    expect(sent).toEqual(['t1/7:reconnect', 't1/7:clear-limit', 't1/7:disconnect']);
  });

  it('verifies by the state read back: a relay still closed after disconnect fails NOT_VERIFIED', async () => {
    const { port, actions, problems } = setup(() => Promise.resolve({ connected: true }));
    const result = await port.execute(program('plain', 'disconnect'));
    expect(result).toMatchObject({ status: 'failed', state: { connected: true }, error: { code: 'NOT_VERIFIED' } });
    expect((await actions.list())[0]).toMatchObject({ status: 'failed', state: { connected: true }, finishedAt: 1_000 });
    expect(await problems()).toEqual(['NOT_VERIFIED']);
  });

  it('accepts a limit read back within the meter\'s resolution, not one far from it', async () => {
    const rounding = setup((c) => Promise.resolve({ limitKw: c.type === 'set-limit' ? Math.round(c.limitKw * 10) / 10 : null }));
    expect((await rounding.port.execute(program('plain', 'set-limit', 12.34))).status).toBe('verified');
    const wrong = setup(() => Promise.resolve({ limitKw: 20 }));
    expect((await wrong.port.execute(program('plain', 'set-limit', 12))).error?.code).toBe('NOT_VERIFIED');
  });

  it('fails with the device error code, an unknown meter, or bad parameters, never rejecting', async () => {
    const { port, sent } = setup(() => Promise.reject(new TimeoutError('t1', 3000, 'disconnect')));
    expect(await port.execute(program('plain', 'disconnect'))).toMatchObject({ status: 'failed', error: { code: 'TIMEOUT' } });
    expect(await port.execute(program('nobody', 'disconnect'))).toMatchObject({ status: 'failed', error: { code: 'UNKNOWN_METER' } });
    expect(await port.execute(program('plain', 'set-limit', -1))).toMatchObject({ status: 'failed', error: { code: 'BAD_PARAMS' } });
    expect(await port.execute(program('plain', 'set-limit'))).toMatchObject({ status: 'failed', error: { code: 'BAD_PARAMS' } });
    expect(sent).toEqual(['t1/7:disconnect']);
  });

  it('reads a meter\'s own account for a program where its terminal offers payment metering, outside the action log, and refuses it elsewhere before the device', async () => {
    const cny = (raw: number) => ({ raw, scale: -2, value: raw / 100, currency: 'CNY' });
    const account: MeterAccountState = {
      account: '0.0.19.0.0.255', mode: 'prepayment', status: 'active', unit: 'monetary', availableCredit: cny(2_500), amountToClear: cny(0), aggregatedDebt: cny(0),
      lowCreditThreshold: cny(2_000), creditStatus: ['inCredit'], credits: [], charges: [],
    };
    const withPayment = setup(() => Promise.resolve({ account }), (t) => t === 't1');
    const read = await withPayment.port.execute({ ...program('plain', 'read-account'), idempotencyKey: 'credit/1' });
    expect(read).toMatchObject({ status: 'verified', state: { account: { availableCredit: { raw: 2_500 } } } });
    expect(withPayment.sent).toEqual(['t1/7:read-account']);
    // Reading does nothing to the meter: the programs' action log keeps what they did.
    expect(await withPayment.actions.list({ meterId: 'plain' })).toEqual([]);
    const without = setup(() => Promise.resolve({ account }));
    expect(await without.port.execute(program('plain', 'read-account'))).toMatchObject({ status: 'failed', error: { code: 'PAYMENT_METERING_UNSUPPORTED' } });
    expect(without.sent).toEqual([]);
  });

  it('audits a workflow\'s command under the workflow instance as actor, and a load-control program\'s under the system', async () => {
    const { port, audit } = setup(obey);
    const workflow = { ...program('plain', 'disconnect'), origin: { kind: 'program' as const, id: 'workflow:fee-recovery/i-1', round: 0 } };
    expect(await port.execute(workflow)).toMatchObject({ status: 'verified' });
    expect(await port.execute(program('plain', 'reconnect'))).toMatchObject({ status: 'verified' });
    const actors = (await audit.query({ limit: 10 })).items.map((e) => [e.action, e.actor]);
    expect(actors).toEqual([['command.reconnect', 'system:program:p1'], ['command.disconnect', 'workflow:fee-recovery/i-1']]);
  });

  it('marks requests a crashed run left pending as INTERRUPTED', async () => {
    const { actions } = setup(obey);
    const id = await actions.begin(program('plain', 'disconnect'), 5);
    expect(await actions.closeInterrupted(9)).toBe(1);
    expect(await actions.get(id)).toMatchObject({ status: 'failed', finishedAt: 9, error: { code: 'INTERRUPTED' } });
    expect(await actions.closeInterrupted(10)).toBe(0);
  });
});
