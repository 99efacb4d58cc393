/**
 * The station's side of the DLMS push intake (protocols/dlms/push/intake.ts), for the
 * composition root: who may send (the registry, behind the intake's sender lookup), where
 * learnt push object lists and TCP dead letters are kept (the embedded store), and the
 * intake's counters as Prometheus metrics. The DLMS adapter gets the options and owns the
 * intake; the collector's push sink (collect/pushSink.ts) takes what it delivers.
 */
import type { DlmsAdapter } from '../protocols/dlms/adapter.js';
import type { DlmsPushOptions } from '../protocols/dlms/push/intake.js';
import type { PushListStore } from '../protocols/dlms/push/pushLists.js';
import { PUSH_PROBLEM_CODES } from '../protocols/dlms/push/receiver.js';
import type { PushSenderLookup, PushTerminal } from '../protocols/dlms/push/senders.js';
import type { GridheadConfig } from './config/schema.js';
import type { Meter, Terminal } from './domain/index.js';
import type { MetricSource } from './observe/metrics.js';
import { PushDeadLetters, type PushDeadLetterStore } from './storage/dlmsPushDeadLetters.js';

/** The registry as the sender lookup reads it. */
export interface PushTopology {
  listTerminals(): Terminal[];
  findTerminal(id: string): Terminal | undefined;
  findMeter(id: string): Meter | undefined;
  metersOfTerminal(id: string): Meter[];
}

export interface StationDlmsPush {
  /** Push options for the DLMS adapter. */
  readonly options: DlmsPushOptions;
  /** Dead letters of TCP pushes, for the admin route; `flush()` them at shutdown, after the adapter closed. */
  readonly deadLetters: PushDeadLetters;
  /** The registry changed: the sender indexes are rebuilt on the next push that needs them. */
  readonly senders: RegistryPushSenders;
}

/** Where the push intake keeps its learnt object lists and its TCP dead letters. */
export interface DlmsPushStores {
  readonly lists: PushListStore;
  readonly deadLetters: PushDeadLetterStore;
}

export function stationDlmsPush(
  config: GridheadConfig['dlms']['push'], stores: DlmsPushStores, topology: PushTopology,
  parts: Omit<DlmsPushOptions, 'settings' | 'senders' | 'listStore' | 'deadLetters'>,
): StationDlmsPush {
  const senders = new RegistryPushSenders(topology);
  const deadLetters = new PushDeadLetters(stores.deadLetters, {
    maxRows: config.deadLetters.maxRows,
    maxQueued: config.deadLetters.maxQueued,
    // Retried, not lost; the station's push problem line is rate-limited per code.
    onFailure: (err, waiting) => {
      parts.onProblem('tcp', 'dead-letter-store', '-', `dead letters not written yet (${waiting} waiting): ${err instanceof Error ? err.message : String(err)}`);
    },
  });
  return {
    senders,
    deadLetters,
    options: { ...parts, settings: config, senders, deadLetters, listStore: stores.lists },
  };
}

/** Push senders looked up in the registry; the name and host indexes are built from the terminals on first use and dropped on a terminal change. */
export class RegistryPushSenders implements PushSenderLookup {
  private byName: Map<string, string> | undefined;
  private byHostIndex: Map<string, string | null> | undefined;

  constructor(private readonly topology: PushTopology) {}

  invalidate(): void {
    this.byName = undefined;
    this.byHostIndex = undefined;
  }

  meter(meterId: string): { readonly terminal: PushTerminal; readonly address: string } | undefined {
    const meter = this.topology.findMeter(meterId);
    const terminal = meter === undefined ? undefined : this.pushTerminal(this.topology.findTerminal(meter.terminalId));
    return meter === undefined || terminal === undefined ? undefined : { terminal, address: meter.address };
  }

  byLogicalDeviceName(name: string): PushTerminal | undefined {
    if (this.byName === undefined) {
      this.byName = new Map();
      for (const t of this.topology.listTerminals()) {
        if (t.protocol === 'dlms' && t.dlms.logicalDeviceName !== undefined) this.byName.set(t.dlms.logicalDeviceName, t.id);
      }
    }
    const id = this.byName.get(name);
    return id === undefined ? undefined : this.dlmsTerminal(id);
  }

  byHost(host: string): PushTerminal | undefined {
    if (this.byHostIndex === undefined) {
      this.byHostIndex = new Map();
      for (const t of this.topology.listTerminals()) {
        if (t.protocol !== 'dlms') continue;
        // Several terminals behind one address (a gateway, a NAT) identify nobody.
        this.byHostIndex.set(t.dlms.host, this.byHostIndex.has(t.dlms.host) ? null : t.id);
      }
    }
    const id = this.byHostIndex.get(host);
    return id === undefined || id === null ? undefined : this.dlmsTerminal(id);
  }

  dlmsTerminal(id: string): PushTerminal | undefined {
    const t = this.topology.findTerminal(id);
    return t?.protocol === 'dlms' ? this.pushTerminal(t) : undefined;
  }

  private pushTerminal(t: Terminal | undefined): PushTerminal | undefined {
    if (t === undefined) return undefined;
    return {
      id: t.id,
      dlms: t.protocol === 'dlms',
      requiresSecurity: t.protocol === 'dlms' && (t.dlms.security ?? 'none') !== 'none',
      addresses: this.topology.metersOfTerminal(t.id).map((m) => m.address),
    };
  }
}

const PUSH_LIST_SOURCES = ['described', 'learnt', 'known', 'read'] as const;

/** The push intake's counters (zero while it is not running), under the metric names the station has always used. */
export function dlmsPushMetricSources(adapter: Pick<DlmsAdapter, 'pushIntake'>, deadLetters: Pick<PushDeadLetters, 'counters'>): MetricSource[] {
  const counters = () => adapter.pushIntake?.counters();
  const r = () => counters()?.receiver;
  return [
    {
      name: 'gridhead_dlms_push_apdus', help: 'DLMS pushes by outcome', type: 'counter', labelNames: ['outcome'],
      read: () => [
        { labels: { outcome: 'received' }, value: r()?.received ?? 0 },
        { labels: { outcome: 'accepted' }, value: r()?.accepted ?? 0 },
        { labels: { outcome: 'dead_lettered' }, value: r()?.deadLettered ?? 0 },
      ],
    },
    {
      name: 'gridhead_dlms_push_problems', help: 'DLMS push problems by code (no-scaler loses registers, not the push)', type: 'counter', labelNames: ['code'],
      read: () => PUSH_PROBLEM_CODES.map((code) => ({ labels: { code }, value: r()?.dropped[code] ?? 0 })),
    },
    {
      name: 'gridhead_dlms_push_lists', help: 'Accepted DLMS pushes by how their push object list was found', type: 'counter', labelNames: ['source'],
      read: () => PUSH_LIST_SOURCES.map((source) => ({ labels: { source }, value: r()?.lists[source] ?? 0 })),
    },
    {
      name: 'gridhead_dlms_push_list_reads', help: 'Push object list reads from meters by outcome', type: 'counter', labelNames: ['outcome'],
      read: () => [
        { labels: { outcome: 'started' }, value: counters()?.listReads.reads ?? 0 },
        { labels: { outcome: 'failed' }, value: counters()?.listReads.readFailures ?? 0 },
      ],
    },
    { name: 'gridhead_dlms_push_list_waiting', help: 'DLMS pushes waiting for their meter\'s push object lists', type: 'gauge', read: () => [{ value: counters()?.listWaiting ?? 0 }] },
    {
      name: 'gridhead_dlms_push_dead_letters', help: 'DLMS push dead letters by store and outcome', type: 'counter', labelNames: ['store', 'outcome'],
      read: () => [
        { labels: { store: 'database', outcome: 'stored' }, value: deadLetters.counters.stored },
        { labels: { store: 'database', outcome: 'dropped_oldest' }, value: deadLetters.counters.dropped },
        { labels: { store: 'database', outcome: 'failed' }, value: deadLetters.counters.failed },
        { labels: { store: 'mqtt', outcome: 'published' }, value: counters()?.mqtt.deadLettered ?? 0 },
        { labels: { store: 'mqtt', outcome: 'dropped' }, value: counters()?.mqtt.deadLetterDropped ?? 0 },
      ],
    },
  ];
}
