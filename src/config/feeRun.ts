/**
 * `fees.run` (read by src/fees/run): how often the fee-control runner charges and decides, in what batches, how fast
 * it follows payments, and where its warnings go.
 */
import Type, { type Static } from 'typebox';
import { strict } from '../../protocols/config.js';
import { ClockTime } from './clock.js';

export const FeeRunConfig = Type.Object(
  {
    /** Prepaid accounts are charged from their newest reads and decided this often. */
    prepaidEveryMs: Type.Integer({ minimum: 1_000, maximum: 3_600_000, default: 60_000 }),
    /** Every account is charged and decided once a day at this time, on the policy's wall clock (`fees.policy.timeZone`). */
    dailyAt: { ...ClockTime, default: '10:00' },
    /** Accounts read, charged and decided per batch (keyset over account ids). */
    batchSize: Type.Integer({ minimum: 1, maximum: 1_000, default: 500 }),
    /** Ledger rows read per poll of what changed (payments, reversals, adjustments). */
    changesPerPoll: Type.Integer({ minimum: 1, maximum: 100_000, default: 1_000 }),
    /** The ledger is polled this often for payments, so a payment reconnects within seconds. */
    paymentPollMs: Type.Integer({ minimum: 100, maximum: 60_000, default: 1_000 }),
    /** A provisional charge not trued up within this many days stands as charged. */
    trueUpWithinDays: Type.Integer({ minimum: 1, maximum: 366, default: 35 }),
    /** Provisional charges awaiting valid data, at most, across the station; beyond, the oldest stand as charged. */
    maxPendingTrueUps: Type.Integer({ minimum: 100, maximum: 10_000_000, default: 1_000_000 }),
    /** Meters that keep their own account are read and compared with the station's balance this often; 0: never. */
    meterCreditEveryMs: Type.Integer({ minimum: 0, maximum: 7 * 86_400_000, default: 6 * 3_600_000 }),
    /** A meter's available credit and the account's balance agree within this many minor units (inclusive). */
    meterCreditToleranceMinor: Type.Integer({ minimum: 0, maximum: 100_000_000, default: 100 }),
    notify: Type.Object(
      {
        /** HMAC key of webhook notices (`X-Gridhead-Signature`); accounts with a webhook target get none without it. */
        webhookSecret: Type.Optional(Type.String({ minLength: 16, maxLength: 256 })),
        /** Per attempt. */
        timeoutMs: Type.Integer({ minimum: 100, maximum: 60_000, default: 5_000 }),
        /** Attempts per notice, the first included. */
        maxAttempts: Type.Integer({ minimum: 1, maximum: 100, default: 8 }),
        /** Notices waiting per target, at most; the oldest is dropped beyond. */
        queueCapacity: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 1_000 }),
        /** Distinct webhook URLs notified, at most (usually one SMS gateway); notices to more are refused and counted. */
        maxWebhookTargets: Type.Integer({ minimum: 1, maximum: 10_000, default: 100 }),
      },
      { ...strict, default: {} },
    ),
  },
  { ...strict, default: {} },
);

export type FeeRunConfig = Static<typeof FeeRunConfig>;
