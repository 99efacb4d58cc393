/**
 * What `gridhead db import` copies: every table of the embedded store but `quantity_codes`
 * (mapped by name with the readings, readings.ts), in an order that satisfies the target's
 * foreign keys (the registry's areas parents first, then terminals and meters; users before
 * their sessions; key sets before their records, commands before their targets, alarms before
 * their comments). A table added to the embedded store adds its entry here; see
 * src/storage/import/table.ts.
 */
import { readingsTable } from './readings.js';
import { plainTable, type ImportTable } from './table.js';

export const IMPORT_TABLES: readonly ImportTable[] = [
  plainTable({
    name: 'areas',
    columns: { id: 'text', name: 'text', kind: 'text', parent_id: 'text', transformer_kva: 'float', created_at: 'int', updated_at: 'int' },
    key: ['id'],
    parent: 'parent_id',
  }),
  // Endpoints as stored, an LLS password an older station left in one included: the station
  // on PostgreSQL moves it into the key store at start, as the embedded one does.
  plainTable({
    name: 'terminals',
    columns: { id: 'text', name: 'text', protocol: 'text', enabled: 'bool', profiles: 'json', endpoint: 'json', created_at: 'int', updated_at: 'int' },
    key: ['id'],
  }),
  // Keys kept: they are what every reading copied after them refers to (readings.ts).
  plainTable({
    name: 'meters',
    columns: {
      key: 'int', id: 'text', name: 'text', terminal_id: 'text', address: 'text', ct_ratio: 'float', pt_ratio: 'float', nominal_voltage: 'float',
      max_current: 'float', area_id: 'text', protected: 'bool', customer_ref: 'text', account_ref: 'text', created_at: 'int', updated_at: 'int',
    },
    key: ['key'],
    ids: { column: 'key', identity: true },
  }),
  plainTable({
    name: 'users',
    columns: { name: 'text', role: 'text', password_hash: 'text', disabled: 'bool', created_at: 'int', updated_at: 'int', last_login_at: 'int' },
    key: ['name'],
  }),
  // Hashes only, as stored: every token and session the embedded station handed out keeps working.
  plainTable({
    name: 'api_tokens',
    columns: {
      id: 'int', name: 'text', role: 'text', prefix: 'text', hash: 'bytes', created_at: 'int', created_by: 'text', last_used_at: 'int',
      expires_at: 'int', revoked_at: 'int',
    },
    key: ['id'],
    ids: { column: 'id', identity: true },
  }),
  plainTable({
    name: 'sessions',
    columns: { id_hash: 'bytes', user_name: 'text', created_at: 'int', last_seen_at: 'int', expires_at: 'int' },
    key: ['id_hash'],
  }),
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
    name: 'load_control_purchases',
    columns: { program_id: 'text', purchase_id: 'text', wh: 'int', idempotency_key: 'text', actor: 'text', at: 'int' },
    key: ['program_id', 'purchase_id'],
  }),
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
  plainTable({ name: 'dlms_push_lists', columns: { meter_key: 'text', lists: 'json', learnt_at: 'int' }, key: ['meter_key'] }),
  plainTable({
    name: 'dlms_push_dead_letters',
    columns: {
      id: 'int', received_at: 'int', origin: 'text', peer: 'text', sender: 'text', terminal_id: 'text', code: 'text', reason: 'text', apdu: 'bytes',
    },
    key: ['id'],
    ids: { column: 'id', identity: true },
  }),
  plainTable({ name: 'broker_drop_counter', columns: { id: 'int', value: 'int', confirmed_at: 'int' }, key: ['id'] }),
  // Last: by far the largest, and the one an operator watches.
  readingsTable,
];
