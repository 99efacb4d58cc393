/**
 * What `gridhead db import` copies: every table of the embedded store but those in
 * NOT_IMPORTED, in an order that satisfies the target's foreign keys (the registry's areas
 * parents first, then terminals and meters; users before their sessions; key sets before their
 * records, commands before their targets, alarms before their comments, fee accounts before
 * their meters, ledger and state, workflow instances before their history and effects, work
 * orders before their comments and events, firmware images before their campaigns, campaigns
 * before their devices). A table added to the embedded store adds its entry here, or its reason
 * to NOT_IMPORTED (tests/src/storage/import/tables.test.ts fails until it does); see
 * src/storage/import/table.ts.
 */
import { counterTable } from './counters.js';
import { readingsTable } from './readings.js';
import { plainTable, type ImportTable } from './table.js';

/** Tables of the embedded store the import leaves, each with its reason. */
export const NOT_IMPORTED: Readonly<Record<string, string>> = {
  quantity_codes: 'each store numbers its quantities itself: the readings are mapped by quantity name (readings.ts)',
};

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
  plainTable({ name: 'collection_area_stats', columns: { day: 'text', area_id: 'text', expected: 'int', collected: 'int' }, key: ['day', 'area_id'] }),
  // The marks that a meter was counted on a day: without them a meter read again today would count twice.
  plainTable({ name: 'collection_meter_days', columns: { day: 'text', meter_id: 'text', area_id: 'text', read: 'bool' }, key: ['day', 'meter_id'] }),
  plainTable({
    name: 'fee_accounts',
    columns: {
      id: 'text', customer_ref: 'text', name: 'text', mode: 'text', cycle: 'json', tariff_id: 'text', currency: 'text', credit_limit_minor: 'int',
      warn_first_minor: 'int', warn_second_minor: 'int', reconnect_minor: 'int', protected: 'bool', notify: 'json', created_at: 'int', updated_at: 'int',
    },
    key: ['id'],
  }),
  plainTable({ name: 'fee_account_meters', columns: { meter_id: 'text', account_id: 'text', position: 'int' }, key: ['meter_id'] }),
  // Sequence numbers kept: each balance records the ledger row it is summed through.
  plainTable({
    name: 'fee_ledger',
    columns: {
      seq: 'int', account_id: 'text', kind: 'text', amount_minor: 'int', currency: 'text', key: 'text', at: 'int', period_from: 'int', period_to: 'int',
      payment_id: 'text', detail: 'json', actor: 'text', request_key: 'text', body_hash: 'text',
    },
    key: ['seq'],
    ids: { column: 'seq', identity: true },
  }),
  plainTable({ name: 'fee_balances', columns: { account_id: 'text', balance_minor: 'int', through_seq: 'int' }, key: ['account_id'] }),
  plainTable({
    name: 'fee_control_states',
    columns: {
      account_id: 'text', stage: 'text', warned_first_at: 'int', warned_second_at: 'int', disconnect_due_at: 'int', next_window_at: 'int',
      disconnected_at: 'int', last_command_id: 'text', updated_at: 'int', version: 'int',
    },
    key: ['account_id'],
  }),
  plainTable({
    name: 'fee_decisions',
    columns: {
      seq: 'int', account_id: 'text', at: 'int', action: 'text', reason: 'text', message: 'text', balance_minor: 'int', next_window_at: 'int',
      command_id: 'text', dry_run: 'bool',
    },
    key: ['seq'],
    ids: { column: 'seq', identity: true },
  }),
  plainTable({ name: 'fee_emergency', columns: { id: 'int', active: 'bool', reason: 'text', set_by: 'text', since: 'int' }, key: ['id'] }),
  plainTable({
    name: 'workflow_definitions',
    columns: { key: 'text', version: 'int', name: 'text', xml: 'text', hash: 'text', deployed_at: 'int', deployed_by: 'text', shipped: 'bool' },
    key: ['key', 'version'],
  }),
  // variables, waiting and the engine's state are text on PostgreSQL too: kept as the engine wrote them.
  plainTable({
    name: 'workflow_instances',
    columns: {
      id: 'text', process_key: 'text', version: 'int', status: 'text', trigger_kind: 'text', trigger_ref: 'text', business_key: 'text',
      variables: 'text', waiting: 'text', state: 'text', started_at: 'int', updated_at: 'int', ended_at: 'int', error: 'text',
    },
    key: ['id'],
  }),
  plainTable({
    name: 'workflow_history',
    columns: { instance_id: 'text', seq: 'int', at: 'int', element_id: 'text', element_type: 'text', event: 'text', detail: 'text' },
    key: ['instance_id', 'seq'],
  }),
  plainTable({
    name: 'workflow_effects',
    columns: { instance_id: 'text', step_key: 'text', action: 'text', output: 'text', at: 'int' },
    key: ['instance_id', 'step_key'],
  }),
  plainTable({
    name: 'work_orders',
    columns: {
      id: 'text', number: 'text', key: 'text', type: 'text', title: 'text', meter_id: 'text', customer: 'text', area_id: 'text', role: 'text',
      assignee: 'text', due_at: 'int', state: 'text', result: 'json', result_text: 'text', escalations: 'int', alarm_id: 'text',
      source_instance_id: 'text', source_process_key: 'text', source_element_id: 'text', created_at: 'int', updated_at: 'int', closed_at: 'int',
      change_seq: 'int',
    },
    key: ['id'],
  }),
  plainTable({ name: 'work_order_comments', columns: { order_id: 'text', seq: 'int', at: 'int', by: 'text', text: 'text' }, key: ['order_id', 'seq'] }),
  plainTable({
    name: 'work_order_events',
    columns: { order_id: 'text', seq: 'int', at: 'int', by: 'text', event: 'text', detail: 'text' },
    key: ['order_id', 'seq'],
  }),
  counterTable({ name: 'work_order_counters', sequences: { number: 'work_order_numbers', change: 'work_order_changes' } }),
  plainTable({
    name: 'firmware_images',
    columns: {
      id: 'text', name: 'text', identifier: 'text', version: 'text', size: 'int', sha256: 'text', signature: 'text', bytes: 'bytes',
      uploaded_at: 'int', uploaded_by: 'text',
    },
    key: ['id'],
    oneRowAtATime: true,
  }),
  plainTable({
    name: 'firmware_campaigns',
    columns: {
      id: 'text', name: 'text', image_id: 'text', definition: 'json', state: 'text', pause_reason: 'text', created_at: 'int', created_by: 'text',
      started_at: 'int', finished_at: 'int',
    },
    key: ['id'],
  }),
  plainTable({
    name: 'firmware_campaign_devices',
    columns: {
      campaign_id: 'text', meter_id: 'text', terminal_id: 'text', state: 'text', blocks_held: 'int', blocks_total: 'int', block_size: 'int',
      initiated: 'bool', reason: 'text', code: 'text', from_version: 'text', to_version: 'text', attempts: 'int', not_before: 'int', offer_id: 'text',
      updated_at: 'int',
    },
    key: ['campaign_id', 'meter_id'],
  }),
  plainTable({
    name: 'devices',
    columns: {
      kind: 'text', id: 'text', manufacturer: 'text', model: 'text', serial: 'text', firmware_version: 'text', firmware_signature: 'text',
      hardware_version: 'text', nameplate_read_at: 'int', installed_at: 'int', removed_at: 'int', check_at: 'int',
    },
    key: ['kind', 'id'],
  }),
  plainTable({
    name: 'device_firmware_history',
    columns: {
      kind: 'text', id: 'text', seq: 'int', at: 'int', from_version: 'text', to_version: 'text', source: 'text', campaign_id: 'text', actor: 'text',
    },
    key: ['kind', 'id', 'seq'],
  }),
  // Last: by far the largest, and the one an operator watches.
  readingsTable,
];
