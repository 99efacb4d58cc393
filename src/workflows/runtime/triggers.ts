/**
 * What starts and wakes instances besides the API: alarms by rule (detector, severity, area;
 * one instance per alarm and process, the store's unique index making a second raise or an
 * update of the same alarm start nothing), fee-control decisions (one running instance per
 * account and process: repeated warnings add none, a later arrears episode starts anew), an alarm clearing (`alarm-cleared` to the instances it started) and a payment
 * (`payment` to the instances whose `accountId` variable is the account). Attached on the
 * leader only, where instances run; alarm changes made on other nodes reach it as heard ones.
 */
import type { AlarmChange } from '../../alarms/service.js';
import type { WorkflowTrigger } from '../../config/workflows.js';
import type { Alarm } from '../../domain/alarm.js';
import type { FeeDecision, LedgerEntry } from '../../fees/model.js';
import type { LogThrottle, Logger } from '../../observe/logger.js';
import type { WorkflowRuntime } from './runtime.js';

export interface TriggerFeeds {
  readonly alarms?: {
    onChange(listener: (change: AlarmChange) => void): () => void;
    /** The alarms open now: those raised while no node ran workflows (at start, during a failover) are caught up at attach. */
    openAlarms?(): readonly Alarm[];
  };
  /** Fee-control decisions and the payments its follower finds on the shared ledger, booked on any node (FeeControlRunner). */
  readonly fees?: {
    onDecision(listener: (decision: FeeDecision) => void): () => void;
    onPayment(listener: (payment: LedgerEntry) => void): () => void;
  };
}

export interface WorkflowTriggersOptions {
  readonly runtime: Pick<WorkflowRuntime, 'start' | 'correlate'>;
  readonly triggers: readonly WorkflowTrigger[];
  /** Whether `areaId` is `root` or below it (the registry's area tree). */
  readonly inArea: (areaId: string, root: string) => boolean;
  /** The meters of a fee account: a fee decision names only the account, the processes act on its meter. */
  readonly feeAccountMeters?: (accountId: string) => Promise<readonly string[]>;
  readonly logger: Logger;
  readonly throttle: LogThrottle;
}

export class WorkflowTriggers {
  private detach: (() => void)[] = [];

  constructor(private readonly o: WorkflowTriggersOptions) {}

  /**
   * Subscribes to the feeds (duty start), then starts what the open alarms should have
   * started: the unique trigger index makes an alarm that already started its process (even
   * one long ended) start nothing again. Resolves once caught up.
   */
  async attach(feeds: TriggerFeeds): Promise<void> {
    this.close();
    if (feeds.alarms !== undefined) this.detach.push(feeds.alarms.onChange((c) => { void this.alarmChanged(c); }));
    if (feeds.fees !== undefined) {
      this.detach.push(feeds.fees.onDecision((d) => { void this.feeDecided(d); }));
      this.detach.push(feeds.fees.onPayment((e) => { this.booked(e); }));
    }
    for (const alarm of feeds.alarms?.openAlarms?.() ?? []) await this.alarmChanged({ kind: 'raised', alarm });
  }

  /** Unsubscribes (duty stop, shutdown). */
  close(): void {
    for (const d of this.detach) d();
    this.detach = [];
  }

  async alarmChanged(change: AlarmChange): Promise<void> {
    const { alarm } = change;
    if (change.kind === 'cleared') {
      this.o.runtime.correlate((i) => i.trigger.kind === 'alarm' && i.trigger.ref === alarm.id, 'alarm-cleared', { alarmCleared: true, alarmClearedAt: alarm.clearedAt });
      return;
    }
    if (change.kind !== 'raised') return;
    for (const t of this.o.triggers) {
      if (t.on !== 'alarm' || !this.matches(t, alarm)) continue;
      await this.start(t.process, alarmVariables(alarm), 'alarm', alarm.id, alarm.subject.id);
    }
  }

  async feeDecided(decision: FeeDecision): Promise<void> {
    if (decision.dryRun === true) return;
    for (const t of this.o.triggers) {
      if (t.on !== 'fee' || !(t.actions as readonly string[]).includes(decision.action)) continue;
      await this.start(t.process, {
        accountId: decision.accountId, feeAction: decision.action, feeReason: decision.reason, balanceMinor: decision.balanceMinor,
        ...await this.accountMeters(decision.accountId),
      }, 'fee', decision.accountId, decision.accountId);
    }
  }

  booked(entry: LedgerEntry): void {
    if (entry.kind !== 'payment') return;
    this.o.runtime.correlate((_i, v) => v.accountId === entry.accountId, 'payment', { paidMinor: entry.amountMinor, paidAt: entry.at });
  }

  /**
   * `meterIds` of the account, and `meterId` when it has exactly one: a process acting on one
   * meter (disconnect, reconnect) then has it, and for an account of several the step names
   * the missing parameter rather than acting on one meter of them.
   */
  private async accountMeters(accountId: string): Promise<{ meterIds?: string[]; meterId?: string }> {
    if (this.o.feeAccountMeters === undefined) return {};
    try {
      const meterIds = [...await this.o.feeAccountMeters(accountId)];
      return { meterIds, ...(meterIds.length === 1 ? { meterId: meterIds[0] } : {}) };
    } catch (err) {
      if (this.o.throttle.pass('workflows:trigger:fee-account') >= 0) this.o.logger.warn({ err, accountId }, 'the meters of a fee account could not be read for its workflow');
      return {};
    }
  }

  private matches(t: Extract<WorkflowTrigger, { on: 'alarm' }>, alarm: Alarm): boolean {
    if (t.rules.length > 0 && !t.rules.includes(alarm.ruleId)) return false;
    if (t.detectors.length > 0 && !t.detectors.includes(alarm.detector)) return false;
    if (t.severities.length > 0 && !t.severities.includes(alarm.severity)) return false;
    if (t.areas.length === 0) return true;
    const area = alarm.areaId;
    return area !== null && t.areas.some((root) => this.o.inArea(area, root));
  }

  private async start(process: string, variables: Record<string, unknown>, kind: 'alarm' | 'fee', ref: string, businessKey: string): Promise<void> {
    try {
      await this.o.runtime.start(process, variables, { kind, ref }, businessKey);
    } catch (err) {
      if (this.o.throttle.pass(`workflows:trigger:${process}`) >= 0) this.o.logger.warn({ err, process, trigger: kind, ref }, 'a workflow trigger could not start its process');
    }
  }
}

/** The variables of an instance an alarm starts. */
export function alarmVariables(alarm: Alarm): Record<string, unknown> {
  return {
    alarmId: alarm.id, detector: alarm.detector, severity: alarm.severity, value: alarm.value, explanation: alarm.explanation,
    areaId: alarm.areaId, subjectKind: alarm.subject.kind,
    ...(alarm.subject.kind === 'meter' ? { meterId: alarm.subject.id } : {}),
    ...(alarm.subject.kind === 'terminal' ? { terminalId: alarm.subject.id } : {}),
  };
}
