/**
 * What `gridhead db import` copies: every embedded table that has a PostgreSQL counterpart,
 * in an order that satisfies the target's foreign keys (key sets before their records,
 * commands before their targets, alarms before their comments). A store that gains its
 * PostgreSQL implementation adds its tables here; see src/storage/import/table.ts.
 *
 * Not copied, because they have no PostgreSQL table yet: the registry (areas, terminals,
 * meters), users, API tokens and sessions, DLMS push lists and dead letters, and the broker's
 * dropped-message counter.
 */
import { readingsTable } from './readings.js';
import { plainTable, type ImportTable } from './table.js';

export const IMPORT_TABLES: readonly ImportTable[] = [
  plainTable({
    name: 'rules',
    columns: {
      id: 'text', name: 'text', description: 'text', enabled: 'bool', severity: 'text', subject: 'json', detector: 'text',
      params: 'json', origin: 'text', created_at: 'int', updated_at: 'int',
    },
    key: ['id'],
  }),
  plainTable({ name: 'key_sets', columns: { scope: 'text', generation: 'int', updated_at: 'int' }, key: ['scope'] }),
  // Sealed as they are: the station on PostgreSQL opens them with the same master key.
  plainTable({ name: 'key_records', columns: { scope: 'text', name: 'text', nonce: 'bytes', sealed: 'bytes' }, key: ['scope', 'name'] }),
  plainTable({ name: 'key_store_check', columns: { id: 'int', nonce: 'bytes', sealed: 'bytes' }, key: ['id'] }),
  plainTable({ name: 'dlms_outgoing_counters', columns: { scope: 'text', generation: 'int', reserved: 'int' }, key: ['scope', 'generation'] }),
  plainTable({
    name: 'dlms_incoming_counters',
    columns: { meter_id: 'text', scope: 'text', generation: 'int', last_accepted: 'int' },
    key: ['meter_id', 'scope', 'generation'],
  }),
  plainTable({
    name: 'security_events',
    columns: { id: 'int', ts: 'int', meter_id: 'text', terminal_id: 'text', kind: 'text', detail: 'text', system_title: 'text', counter: 'int' },
    key: ['id'],
    ids: { column: 'id', identity: true },
  }),
  plainTable({
    name: 'audit_log',
    columns: { id: 'int', ts: 'int', actor: 'text', source: 'text', action: 'text', target: 'text', outcome: 'text', detail: 'json' },
    key: ['id'],
    ids: { column: 'id', identity: true },
  }),
  plainTable({
    name: 'commands',
    columns: {
      id: 'text', type: 'text', params: 'json', scope: 'json', reason: 'text', override_reason: 'text', origin_kind: 'text', origin_id: 'text',
      origin_round: 'int', source: 'text', idempotency_key: 'text', body_hash: 'text', created_at: 'int',
    },
    key: ['id'],
  }),
  plainTable({
    name: 'command_targets',
    columns: {
      command_id: 'text', meter_id: 'text', seq: 'int', terminal_id: 'text', address: 'text', status: 'text', transitions: 'json',
      state: 'json', error_code: 'text', error_message: 'text', updated_at: 'int',
    },
    key: ['command_id', 'meter_id'],
  }),
  plainTable({
    name: 'control_actions',
    columns: {
      id: 'int', meter_id: 'text', command: 'text', limit_kw: 'float', origin_kind: 'text', origin_id: 'text', origin_round: 'int',
      reason: 'text', requested_at: 'int', status: 'text', finished_at: 'int', state: 'json', error_code: 'text', error_message: 'text',
    },
    key: ['id'],
    ids: { column: 'id', identity: true },
  }),
  plainTable({ name: 'load_control_state', columns: { program_id: 'text', state: 'json', updated_at: 'int' }, key: ['program_id'] }),
  plainTable({
    name: 'alarms',
    columns: {
      id: 'int', rule_id: 'text', detector: 'text', subject_kind: 'text', subject_id: 'text', area_id: 'text', severity: 'text', state: 'text',
      raised_at: 'int', since: 'int', acknowledged_at: 'int', acknowledged_by: 'text', cleared_at: 'int', explanation: 'text',
      clear_explanation: 'text', explanation_data: 'json', clear_explanation_data: 'json', value: 'float', updated_at: 'int',
    },
    key: ['id'],
    // Nodes take ids in blocks from this sequence (src/alarms/postgresStore.ts): the next block starts past every copied id.
    ids: { column: 'id', sequence: 'alarm_id_blocks' },
  }),
  plainTable({ name: 'alarm_comments', columns: { alarm_id: 'int', seq: 'int', at: 'int', by: 'text', text: 'text' }, key: ['alarm_id', 'seq'] }),
  plainTable({
    name: 'device_events',
    columns: { id: 'int', ts: 'int', received_at: 'int', meter_id: 'text', terminal_id: 'text', code: 'text', source: 'text', detail: 'text' },
    key: ['id'],
    ids: { column: 'id', identity: true },
  }),
  plainTable({ name: 'collection_stats', columns: { day: 'text', terminal_id: 'text', expected: 'int', collected: 'int' }, key: ['day', 'terminal_id'] }),
  plainTable({ name: 'profile_cursors', columns: { meter_id: 'text', profile: 'text', last_ts: 'int', updated_at: 'int' }, key: ['meter_id', 'profile'] }),
  plainTable({
    name: 'meter_replacements',
    columns: { meter_id: 'text', at: 'int', old_final: 'float', new_initial: 'float', created_at: 'int' },
    key: ['meter_id', 'at'],
  }),
  // Last: by far the largest, and the one an operator watches.
  readingsTable,
];
