/** Notifications for the notifier tests. */
import { alarmView, type AlarmNotice } from '../../../../src/alarms/view.js';
import { areaId, meterId, type Severity } from '../../../../src/domain/index.js';

export function notice(id: string, severity: Severity = 'major', meter = 'm1'): AlarmNotice {
  return {
    change: 'raised',
    alarm: alarmView({
      id, ruleId: 'over-limit', detector: 'power-over-limit', subject: { kind: 'meter', id: meterId(meter) }, areaId: areaId('tx1'),
      severity, state: 'raised', raisedAt: 1_750_000_000_000, since: 1_749_999_940_000, acknowledgedAt: null, acknowledgedBy: null,
      clearedAt: null, explanation: 'power 12.4 kW over the 10 kW limit for 60 s', clearExplanation: null, explanationData: null, clearExplanationData: null, value: 12.4, comments: [],
    }),
  };
}
