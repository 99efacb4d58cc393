/**
 * COSEM interface classes the head-end uses: class ids, versions, and the indexes of their
 * attributes and methods (DLMS UA Blue Book, IEC 62056-6-2 §4.3–4.5). Names are the
 * standard's, so a trace or a log line can be checked against the book.
 */
export const INTERFACE_CLASSES = {
  data: {
    classId: 1, version: 0,
    attributes: { logical_name: 1, value: 2 },
    methods: {},
  },
  register: {
    classId: 3, version: 0,
    attributes: { logical_name: 1, value: 2, scaler_unit: 3 },
    methods: { reset: 1 },
  },
  extendedRegister: {
    classId: 4, version: 0,
    attributes: { logical_name: 1, value: 2, scaler_unit: 3, status: 4, capture_time: 5 },
    methods: { reset: 1 },
  },
  demandRegister: {
    classId: 5, version: 0,
    attributes: {
      logical_name: 1, current_average_value: 2, last_average_value: 3, scaler_unit: 4, status: 5,
      capture_time: 6, start_time_current: 7, period: 8, number_of_periods: 9,
    },
    methods: { reset: 1, next_period: 2 },
  },
  profileGeneric: {
    classId: 7, version: 1,
    attributes: {
      logical_name: 1, buffer: 2, capture_objects: 3, capture_period: 4, sort_method: 5, sort_object: 6,
      entries_in_use: 7, profile_entries: 8,
    },
    methods: { reset: 1, capture: 2 },
  },
  clock: {
    classId: 8, version: 0,
    attributes: {
      logical_name: 1, time: 2, time_zone: 3, status: 4, daylight_savings_begin: 5, daylight_savings_end: 6,
      daylight_savings_deviation: 7, daylight_savings_enabled: 8, clock_base: 9,
    },
    methods: {
      adjust_to_quarter: 1, adjust_to_measuring_period: 2, adjust_to_minute: 3, adjust_to_preset_time: 4,
      preset_adjusting_time: 5, shift_time: 6,
    },
  },
  /**
   * Image transfer (Blue Book, class_id 18): an image is sent in blocks of image_block_size octets
   * numbered from 0, verified, then activated (now, or by the Single action schedule below).
   */
  imageTransfer: {
    classId: 18, version: 0,
    attributes: {
      logical_name: 1, image_block_size: 2, image_transferred_blocks_status: 3, image_first_not_transferred_block_number: 4,
      image_transfer_enabled: 5, image_transfer_status: 6, image_to_activate_info: 7,
    },
    methods: { image_transfer_initiate: 1, image_block_transfer: 2, image_verify: 3, image_activate: 4 },
  },
  /** Single action schedule (Blue Book §4.5.7): runs one script at the times of execution_time. */
  singleActionSchedule: {
    classId: 22, version: 0,
    attributes: { logical_name: 1, executed_script: 2, type: 3, execution_time: 4 },
    methods: {},
  },
  associationLn: {
    classId: 15, version: 1,
    attributes: {
      logical_name: 1, object_list: 2, associated_partners_id: 3, application_context_name: 4, xdlms_context_info: 5,
      authentication_mechanism_name: 6, secret: 7, association_status: 8, security_setup_reference: 9,
    },
    methods: { reply_to_hls_authentication: 1, change_hls_secret: 2, add_object: 3, remove_object: 4 },
  },
  pushSetup: {
    classId: 40, version: 0,
    attributes: {
      logical_name: 1, push_object_list: 2, send_destination_and_method: 3, communication_window: 4,
      randomisation_start_interval: 5, number_of_retries: 6, repetition_delay: 7,
    },
    methods: { push: 1 },
  },
  disconnectControl: {
    classId: 70, version: 0,
    attributes: { logical_name: 1, output_state: 2, control_state: 3, control_mode: 4 },
    methods: { remote_disconnect: 1, remote_reconnect: 2 },
  },
  limiter: {
    classId: 71, version: 0,
    attributes: {
      logical_name: 1, monitored_value: 2, threshold_active: 3, threshold_normal: 4, threshold_emergency: 5,
      min_over_threshold_duration: 6, min_under_threshold_duration: 7, emergency_profile: 8,
      emergency_profile_group_id_list: 9, emergency_profile_active: 10, actions: 11,
    },
    methods: {},
  },
  /**
   * Payment metering (Blue Book Part 2 §4.6): an Account (§4.6.2) aggregates the Credit
   * objects it lists (§4.6.3), collects through its Charge objects (§4.6.4) and takes credit
   * tokens through a Token gateway (§4.6.5). Amounts are double-long in the account's
   * currency (attribute 15: value × 10^currency_scale).
   */
  account: {
    classId: 111, version: 0,
    attributes: {
      logical_name: 1, account_mode_and_status: 2, current_credit_in_use: 3, current_credit_status: 4, available_credit: 5,
      amount_to_clear: 6, clearance_threshold: 7, aggregated_debt: 8, credit_reference_list: 9, charge_reference_list: 10,
      credit_charge_configuration: 11, token_gateway_configuration: 12, account_activation_time: 13, account_closure_time: 14,
      currency: 15, low_credit_threshold: 16, next_credit_available_threshold: 17, max_provision: 18, max_provision_period: 19,
    },
    methods: { activate_account: 1, close_account: 2, reset_account: 3 },
  },
  credit: {
    classId: 112, version: 0,
    attributes: {
      logical_name: 1, current_credit_amount: 2, credit_type: 3, priority: 4, warning_threshold: 5, limit: 6,
      credit_configuration: 7, credit_status: 8, preset_credit_amount: 9, credit_available_threshold: 10, period: 11,
    },
    methods: { update_amount: 1, set_amount_to_value: 2, invoke_credit: 3 },
  },
  charge: {
    classId: 113, version: 0,
    attributes: {
      logical_name: 1, total_amount_paid: 2, charge_type: 3, priority: 4, unit_charge_active: 5, unit_charge_passive: 6,
      unit_charge_activation_time: 7, period: 8, charge_configuration: 9, last_collection_time: 10, last_collection_amount: 11,
      total_amount_remaining: 12, proportion: 13,
    },
    methods: {
      update_unit_charge: 1, activate_passive_unit_charge: 2, collect: 3, update_total_amount_remaining: 4, set_total_amount_remaining: 5,
    },
  },
  tokenGateway: {
    classId: 115, version: 0,
    attributes: { logical_name: 1, token: 2, token_time: 3, token_description: 4, token_delivery_method: 5, token_status: 6 },
    methods: { enter: 1 },
  },
} as const;

export type InterfaceClassName = keyof typeof INTERFACE_CLASSES;

const byId = new Map<number, InterfaceClassName>(
  (Object.keys(INTERFACE_CLASSES) as InterfaceClassName[]).map((n) => [INTERFACE_CLASSES[n].classId, n]),
);

/** The class name for a class id, or undefined for a class the head-end does not model. */
export function interfaceClassOf(classId: number): InterfaceClassName | undefined {
  return byId.get(classId);
}

/** IC 70 control_state values (Blue Book §4.5.8). */
export const DISCONNECT_CONTROL_STATE = { disconnected: 0, connected: 1, ready_for_reconnection: 2 } as const;
export type DisconnectControlState = keyof typeof DISCONNECT_CONTROL_STATE;

export function controlStateName(value: number): DisconnectControlState | undefined {
  return (Object.keys(DISCONNECT_CONTROL_STATE) as DisconnectControlState[]).find((k) => DISCONNECT_CONTROL_STATE[k] === value);
}
