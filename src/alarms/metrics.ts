/** Prometheus sources for alarms, their notifiers, the SSE streams and device events, read from each part's stats(). */
import type { EventRecorder } from '../events/recorder.js';
import type { MetricSource } from '../observe/metrics.js';
import type { AlarmNotifiers } from './notify/index.js';
import type { AlarmService } from './service.js';

export interface AlarmMetricParts {
  readonly alarms: AlarmService;
  readonly notifiers: AlarmNotifiers;
  /** The SSE counters the alarm routes keep (structurally AlarmStreamCounters; src/api sits above us). */
  readonly streams: { readonly streams: number; readonly slowClientsDropped: number };
  readonly events: EventRecorder;
}

export function alarmMetricSources({ alarms, notifiers, streams, events }: AlarmMetricParts): MetricSource[] {
  return [
    { name: 'gridhead_alarms_open', help: 'Alarms raised or acknowledged, not yet cleared', type: 'gauge', read: () => [{ value: alarms.stats().open }] },
    {
      name: 'gridhead_alarm_signals', help: 'Rule signals by what they did to an alarm', type: 'counter', labelNames: ['outcome'],
      read: () => {
        const s = alarms.stats();
        return [
          { labels: { outcome: 'raised' }, value: s.raised },
          { labels: { outcome: 'updated' }, value: s.updated },
          { labels: { outcome: 'cleared' }, value: s.cleared },
          { labels: { outcome: 'overflow' }, value: s.overflow },
          { labels: { outcome: 'clear_without_open' }, value: s.clearsWithoutOpen },
          { labels: { outcome: 'store_error' }, value: s.storeErrors },
        ];
      },
    },
    { name: 'gridhead_alarm_store_waiting', help: 'Alarm store writes queued behind the rules (alarms.storeQueueMax at most)', type: 'gauge', read: () => [{ value: alarms.stats().storeWaiting }] },
    { name: 'gridhead_alarm_store_write_failures', help: 'Failed attempts of alarm store writes, each retried', type: 'counter', read: () => [{ value: alarms.stats().storeWriteFailures }] },
    { name: 'gridhead_alarm_streams', help: 'Open alarm SSE streams', type: 'gauge', read: () => [{ value: streams.streams }] },
    { name: 'gridhead_alarm_stream_slow_clients', help: 'SSE clients cut off for not reading', type: 'counter', read: () => [{ value: streams.slowClientsDropped }] },
    {
      name: 'gridhead_alarm_notifications', help: 'Alarm notifications by channel and outcome', type: 'counter', labelNames: ['channel', 'outcome'],
      read: () => {
        const out: { labels: Record<string, string>; value: number }[] = [];
        const m = notifiers.mqtt?.stats();
        if (m !== undefined) {
          out.push({ labels: { channel: 'mqtt', outcome: 'published' }, value: m.published });
          out.push({ labels: { channel: 'mqtt', outcome: 'dropped' }, value: m.dropped });
          out.push({ labels: { channel: 'mqtt', outcome: 'failed' }, value: m.failed });
        }
        // Summed over webhooks: the URL may hold a token and does not belong in a label.
        const w = notifiers.webhooks.map((n) => n.stats());
        const sum = (k: 'delivered' | 'dropped' | 'rejected' | 'gaveUp' | 'failedAttempts') => w.reduce((n, s) => n + s[k], 0);
        if (w.length > 0) {
          out.push({ labels: { channel: 'webhook', outcome: 'delivered' }, value: sum('delivered') });
          out.push({ labels: { channel: 'webhook', outcome: 'dropped' }, value: sum('dropped') });
          out.push({ labels: { channel: 'webhook', outcome: 'rejected' }, value: sum('rejected') });
          out.push({ labels: { channel: 'webhook', outcome: 'gave_up' }, value: sum('gaveUp') });
          out.push({ labels: { channel: 'webhook', outcome: 'failed_attempt' }, value: sum('failedAttempts') });
        }
        // The leader gate before every channel: what it let through and why it held the rest.
        const f = notifiers.fencing();
        if (f !== undefined) {
          out.push({ labels: { channel: 'leader', outcome: 'marked' }, value: f.sent });
          out.push({ labels: { channel: 'leader', outcome: 'not_leading' }, value: f.notLeading });
          out.push({ labels: { channel: 'leader', outcome: 'stale_token' }, value: f.stale });
          out.push({ labels: { channel: 'leader', outcome: 'unrecorded' }, value: f.unrecorded });
          out.push({ labels: { channel: 'leader', outcome: 'dropped' }, value: f.dropped });
        }
        return out;
      },
    },
    {
      name: 'gridhead_device_events', help: 'Device events stored, and the unusual ones among them', type: 'counter', labelNames: ['kind'],
      read: () => {
        const s = events.stats();
        return [
          { labels: { kind: 'stored' }, value: s.stored },
          { labels: { kind: 'unknown_meter' }, value: s.unknownMeter },
          { labels: { kind: 'unknown_code' }, value: s.unknownCode },
          { labels: { kind: 'callback_error' }, value: s.callbackErrors },
          { labels: { kind: 'pruned' }, value: s.pruned },
        ];
      },
    },
  ];
}
