/**
 * How many statements a pool has sent to PostgreSQL, by command: what the coordination of a
 * cluster (heartbeats, leases, the member list) costs the shared database next to the readings,
 * and a figure to watch on /metrics as `gridhead_database_statements_total{command}`.
 *
 * The client publishes every query it runs on the `postgres:query` diagnostics channel (see the
 * `postgres` package's README, "Tracing"); a query counts once it settles, if it went out on a
 * connection (a query that waited in vain for one never reached the server). Its command is the
 * tag the server answered with (SELECT, INSERT, BEGIN, LISTEN ...), `failed` when the server
 * answered with an error. The client's `debug` hook would count per pool too, but it makes the
 * parameters of every failed query enumerable, so whole reading batches would end up in logs.
 *
 * The channel does not say which pool a query came from, only the database, host and port it
 * ran on: a pool counts every query of its process to the same database on the same server. A
 * station opens one pool; tests that open several to one database count their own.
 */
import { tracingChannel } from 'node:diagnostics_channel';
import type { MetricSource } from '../../observe/metrics.js';

/** The commands counted apart; any other tag counts as `other`, so the label set stays bounded. */
export const COUNTED_COMMANDS = [
  'select', 'insert', 'update', 'delete', 'copy', 'begin', 'commit', 'rollback', 'savepoint', 'release',
  'listen', 'unlisten', 'notify', 'set', 'create', 'alter', 'drop', 'lock', 'other', 'failed',
] as const;
export type CountedCommand = (typeof COUNTED_COMMANDS)[number];

export interface StatementCounts {
  readonly total: number;
  readonly byCommand: Readonly<Partial<Record<CountedCommand, number>>>;
}

/** Where a pool's statements go: matched against each query's `database`, `host` and `port`. */
export interface StatementTarget {
  readonly database: string;
  readonly hosts: readonly string[];
  readonly ports: readonly number[];
}

export interface StatementCounter {
  counts(): StatementCounts;
  /** Stops counting (the pool closed). */
  stop(): void;
}

/** The fields of the `postgres:query` context this counter reads. */
interface QueryTrace {
  readonly database?: string | null;
  readonly host?: string | null;
  readonly port?: number | null;
  readonly connection?: number | null;
  readonly command?: string | null;
  readonly error?: unknown;
}

const COMMAND_SET: ReadonlySet<string> = new Set(COUNTED_COMMANDS);
const counters = new Set<{ readonly target: StatementTarget; readonly counts: Map<CountedCommand, number> }>();
let subscribed = false;

/** Counts the statements sent to `target` from now until `stop()`. */
export function countStatements(target: StatementTarget): StatementCounter {
  subscribe();
  const entry = { target, counts: new Map<CountedCommand, number>() };
  counters.add(entry);
  return {
    counts: () => {
      let total = 0;
      const byCommand: Partial<Record<CountedCommand, number>> = {};
      for (const [command, n] of entry.counts) {
        byCommand[command] = n;
        total += n;
      }
      return { total, byCommand };
    },
    stop: () => { counters.delete(entry); },
  };
}

/** `gridhead_database_statements_total{command}`, read from the pool's counts at scrape time. */
export function statementMetricSources(pool: { statements(): StatementCounts }): MetricSource[] {
  return [{
    name: 'gridhead_database_statements',
    help: 'Statements sent to PostgreSQL, by the command tag the server answered (failed: the server answered with an error)',
    type: 'counter',
    labelNames: ['command'],
    read: () => Object.entries(pool.statements().byCommand).map(([command, value]) => ({ labels: { command }, value })),
  }];
}

function subscribe(): void {
  if (subscribed) return;
  subscribed = true;
  // asyncEnd follows both a result and an error, once per query.
  tracingChannel<unknown, QueryTrace>('postgres:query').subscribe({
    start: () => undefined,
    end: () => undefined,
    asyncStart: () => undefined,
    error: () => undefined,
    asyncEnd: (trace) => {
      if (trace.connection === null || trace.connection === undefined) return;
      for (const c of counters) {
        if (!sentTo(c.target, trace)) continue;
        const command = commandOf(trace);
        c.counts.set(command, (c.counts.get(command) ?? 0) + 1);
      }
    },
  });
}

function sentTo(target: StatementTarget, trace: QueryTrace): boolean {
  return trace.database === target.database
    && (trace.host === null || trace.host === undefined || target.hosts.includes(trace.host))
    && (trace.port === null || trace.port === undefined || target.ports.includes(trace.port));
}

/** The counted command of a settled query: the first word of its tag, lower case. */
function commandOf(trace: QueryTrace): CountedCommand {
  if (trace.error !== undefined && trace.error !== null) return 'failed';
  const word = (trace.command ?? '').split(' ', 1)[0]?.toLowerCase() ?? '';
  return COMMAND_SET.has(word) ? word as CountedCommand : 'other';
}
