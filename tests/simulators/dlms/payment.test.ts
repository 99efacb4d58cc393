/**
 * A meter's own account (Blue Book §4.6 payment metering) through the head-end's DLMS adapter
 * against simulated meters over real TCP: the account read with its credits and charge, credit
 * added through update_amount and through the token gateway and read back, a meter without the
 * objects ("not supported", naming what it lacks), and a meter whose available_credit has the
 * wrong type (a typed error that leaves its association and the other meters alone).
 *
 * The meters' clock stands still, so no energy is charged between the reads of one test.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PaymentMeteringUnsupported, type TerminalSession } from '../../../protocols/adapter.js';
import { DlmsAdapter } from '../../../protocols/dlms/adapter.js';
import { DlmsTokenRejected } from '../../../protocols/dlms/client/payment.js';
import type { DlmsEndpoint } from '../../../protocols/dlms/config.js';
import { DlmsDecodeError } from '../../../protocols/dlms/errors.js';
import { simulatedToken } from '../../../simulators/dlms/paymentAccount.js';
import { DlmsMeterSimulator, MANAGEMENT_CLIENT } from '../../../simulators/dlms/server.js';

const NOW = Date.UTC(2025, 4, 12, 10, 0, 0);
const signal = () => new AbortController().signal;

describe('payment metering over the DLMS adapter', () => {
  const sims: Record<'account' | 'token' | 'plain' | 'malformed', DlmsMeterSimulator> = {
    account: new DlmsMeterSimulator({ framing: 'wrapper', seed: 11, serialNumber: '00000011', historyDays: 0, clock: () => NOW, payment: { tokenCredit: 12_345 } }),
    token: new DlmsMeterSimulator({ framing: 'hdlc', seed: 12, serialNumber: '00000012', historyDays: 0, clock: () => NOW, payment: {} }),
    plain: new DlmsMeterSimulator({ framing: 'wrapper', seed: 13, serialNumber: '00000013', historyDays: 0, clock: () => NOW }),
    malformed: new DlmsMeterSimulator({ framing: 'wrapper', seed: 14, serialNumber: '00000014', historyDays: 0, clock: () => NOW, payment: { malformed: 'available-credit' } }),
  };
  const adapter = new DlmsAdapter({
    catalogue: { 'energy.active.import': { obis: '1.0.1.8.0.255', unit: 'kWh' } }, timeoutMs: 5_000, passwordFor: () => '12345678',
  });
  const endpoint = (sim: DlmsMeterSimulator, extra: Partial<DlmsEndpoint> = {}): DlmsEndpoint => ({
    host: '127.0.0.1', port: sim.port, framing: sim === sims.token ? 'hdlc' : 'wrapper', clientSap: MANAGEMENT_CLIENT, auth: 'low', ...extra,
  });
  const sessions: TerminalSession[] = [];
  const open = async (id: string, e: DlmsEndpoint) => {
    const s = await adapter.open({ id, endpoint: e }, signal());
    sessions.push(s);
    return s;
  };
  const payment = (s: TerminalSession) => {
    if (s.payment === undefined) throw new Error('the DLMS session has no payment capability');
    return s.payment;
  };

  beforeAll(async () => {
    await Promise.all(Object.values(sims).map((s) => s.start()));
  });
  afterAll(async () => {
    await Promise.all(sessions.map((s) => s.close()));
    await adapter.close();
    await Promise.all(Object.values(sims).map((s) => s.stop()));
  });

  it('declares the capability on the adapter', () => {
    expect(adapter.capabilities.paymentMetering).toBe(true);
  });

  it('reads the account: mode, status, available credit with its currency, the credits and the charge', async () => {
    const s = await open('A', endpoint(sims.account));
    const account = await payment(s).readAccount('1', signal());
    expect(account).toMatchObject({
      account: '0.0.19.0.0.255', mode: 'prepayment', status: 'active', unit: 'monetary',
      availableCredit: { raw: 12_345, scale: -2, value: 123.45, currency: 'CNY' },
      aggregatedDebt: { raw: 0 },
      lowCreditThreshold: { raw: 2_000, value: 20 },
      creditStatus: ['inCredit', 'nextCreditSelectable'],
    });
    expect(account.credits).toEqual([
      { credit: '0.0.19.10.0.255', amount: { raw: 12_345, scale: -2, value: 123.45, currency: 'CNY' }, type: 'token', priority: 1, status: 'in-use' },
      { credit: '0.0.19.10.1.255', amount: { raw: 0, scale: -2, value: 0, currency: 'CNY' }, type: 'emergency', priority: 2, status: 'selectable' },
    ]);
    expect(account.charges).toEqual([{ charge: '0.0.19.20.0.255', type: 'consumption-based', priority: 1, totalAmountPaid: { raw: 0, scale: -2, value: 0, currency: 'CNY' } }]);
  });

  it('adds credit through the token credit\'s update_amount: the available credit rises by the amount', async () => {
    const s = await open('B', endpoint(sims.account));
    const { before, after } = await payment(s).addCredit({ address: '1', units: 5_000, exponent: -2, currency: 'CNY' }, signal());
    expect(after.availableCredit.raw - before.availableCredit.raw).toBe(5_000);
    expect(sims.account.meter.account?.credits[0].amount).toBe(after.credits[0]?.amount.raw);
    // One yuan in whole units is 100 raw units at scale −2.
    const more = await payment(s).addCredit({ address: '1', units: 1, exponent: 0, currency: 'cny' }, signal());
    expect(more.after.availableCredit.raw - more.before.availableCredit.raw).toBe(100);
  });

  it('refuses a top-up in another currency or finer than the account keeps, before touching the meter', async () => {
    const s = await open('C', endpoint(sims.account));
    const before = sims.account.meter.account?.credits[0].amount;
    await expect(payment(s).addCredit({ address: '1', units: 5, exponent: 0, currency: 'EUR' }, signal())).rejects.toMatchObject({ code: 'DLMS_CURRENCY_MISMATCH' });
    await expect(payment(s).addCredit({ address: '1', units: 5, exponent: -3, currency: 'CNY' }, signal())).rejects.toMatchObject({ code: 'DLMS_ENCODE' });
    expect(sims.account.meter.account?.credits[0].amount).toBe(before);
  });

  it('adds credit through the token gateway where the endpoint says so; a token used twice is refused with its status', async () => {
    const s = await open('D', endpoint(sims.token, { payment: { topUp: 'token-gateway' } }));
    const token = Buffer.from(simulatedToken(7, 2_500)).toString('hex');
    const { before, after } = await payment(s).addCredit({ address: '1', units: 2_500, exponent: -2, currency: 'CNY', token }, signal());
    expect(after.availableCredit.raw - before.availableCredit.raw).toBe(2_500);
    const again = await payment(s).addCredit({ address: '1', units: 2_500, exponent: -2, currency: 'CNY', token }, signal()).catch((e: unknown) => e);
    expect(again).toBeInstanceOf(DlmsTokenRejected);
    expect(again).toMatchObject({ code: 'DLMS_TOKEN_REJECTED', status: 'validation-failure' });
  });

  it('answers "not supported", naming the missing Account, for a meter without payment metering objects', async () => {
    const s = await open('E', endpoint(sims.plain));
    const e = await payment(s).readAccount('1', signal()).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(PaymentMeteringUnsupported);
    expect(e).toMatchObject({ code: 'PAYMENT_METERING_UNSUPPORTED', missing: "the meter's object list has no IC 111 Account at 0.0.19.0.0.255" });
    const top = await payment(s).addCredit({ address: '1', units: 100, exponent: -2, currency: 'CNY' }, signal()).catch((err: unknown) => err);
    expect(top).toBeInstanceOf(PaymentMeteringUnsupported);
    // The association is kept: the meter still reads.
    const [read] = await s.read([{ address: '1', quantity: 'energy.active.import' }], signal());
    expect(read?.ok).toBe(true);
  });

  it('fails a malformed available_credit with a typed decode error and leaves the association and the other meters alone', async () => {
    const bad = await open('F', endpoint(sims.malformed));
    const good = await open('G', endpoint(sims.account));
    const [badRead, goodRead] = await Promise.allSettled([payment(bad).readAccount('1', signal()), payment(good).readAccount('1', signal())]);
    expect(badRead.status).toBe('rejected');
    const e = (badRead as PromiseRejectedResult).reason as unknown;
    expect(e).toBeInstanceOf(DlmsDecodeError);
    expect((e as Error).message).toContain('available_credit: expected double-long, got long-unsigned');
    expect(goodRead.status).toBe('fulfilled');
    const [read] = await bad.read([{ address: '1', quantity: 'energy.active.import' }], signal());
    expect(read?.ok).toBe(true);
  });
});
