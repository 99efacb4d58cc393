/**
 * The work order types and their result forms: what a crew fills in when it closes an order.
 * Browser-safe (no Node imports): the dashboard renders the forms from the same definitions
 * the API checks results against, and the modeler lists the types (`gh:workOrderType`).
 */
import type { WorkOrderResult } from './model.js';

export type FormFieldKind = 'choice' | 'text' | 'number' | 'boolean' | 'meter';

/** A label in both languages of the dashboard. */
export interface Label {
  readonly en: string;
  readonly zh: string;
}

export interface FormField {
  readonly name: string;
  readonly kind: FormFieldKind;
  readonly required: boolean;
  /** The allowed values of a `choice`. */
  readonly choices?: readonly string[];
  /** How the dashboard shows each choice. */
  readonly choiceLabels?: Readonly<Record<string, Label>>;
  /** A `text` that must be an RFC 3339 date or date-time. */
  readonly format?: 'date-time';
  /** The unit of a `number` (kWh for register reads). */
  readonly unit?: string;
  readonly label: Label;
}

export interface WorkOrderType {
  readonly type: string;
  readonly label: Label;
  readonly fields: readonly FormField[];
}

/** The types of the station, in the order the dashboard offers them. */
export const WORK_ORDER_TYPES: readonly WorkOrderType[] = [
  {
    type: 'field-check',
    label: { en: 'Field check', zh: '现场核查' },
    fields: [
      {
        name: 'outcome', kind: 'choice', required: true, choices: ['confirmed', 'false-alarm'], label: { en: 'Outcome', zh: '核查结论' },
        choiceLabels: { confirmed: { en: 'Confirmed', zh: '属实' }, 'false-alarm': { en: 'False alarm', zh: '误报' } },
      },
      { name: 'findings', kind: 'text', required: false, label: { en: 'Findings', zh: '现场情况' } },
      { name: 'sealIntact', kind: 'boolean', required: false, label: { en: 'Seal intact', zh: '封印完好' } },
    ],
  },
  {
    type: 'repair',
    label: { en: 'Repair', zh: '故障维修' },
    fields: [
      {
        name: 'outcome', kind: 'choice', required: true, choices: ['repaired', 'replaced-terminal', 'no-fault-found'], label: { en: 'Outcome', zh: '处理结果' },
        choiceLabels: {
          repaired: { en: 'Repaired', zh: '已修复' }, 'replaced-terminal': { en: 'Terminal replaced', zh: '更换终端' }, 'no-fault-found': { en: 'No fault found', zh: '未发现故障' },
        },
      },
      { name: 'cause', kind: 'text', required: false, label: { en: 'Cause', zh: '故障原因' } },
    ],
  },
  {
    type: 'meter-replacement',
    label: { en: 'Meter replacement', zh: '换表' },
    fields: [
      { name: 'oldMeterId', kind: 'meter', required: false, label: { en: 'Old meter', zh: '旧表' } },
      { name: 'newMeterId', kind: 'text', required: true, label: { en: 'New meter id', zh: '新表编号' } },
      { name: 'finalRead', kind: 'number', required: true, unit: 'kWh', label: { en: 'Final read of the old meter (kWh)', zh: '旧表止码 (kWh)' } },
      { name: 'initialRead', kind: 'number', required: true, unit: 'kWh', label: { en: 'Initial read of the new meter (kWh)', zh: '新表起码 (kWh)' } },
      { name: 'replacedAt', kind: 'text', required: false, format: 'date-time', label: { en: 'Replaced at', zh: '换表时间' } },
    ],
  },
  {
    type: 'arrears',
    label: { en: 'Arrears visit', zh: '欠费催缴' },
    fields: [
      {
        name: 'outcome', kind: 'choice', required: true, choices: ['paid', 'promised', 'unreachable'], label: { en: 'Outcome', zh: '催缴结果' },
        choiceLabels: { paid: { en: 'Paid', zh: '已缴费' }, promised: { en: 'Promised to pay', zh: '承诺缴费' }, unreachable: { en: 'Unreachable', zh: '联系不上' } },
      },
      { name: 'note', kind: 'text', required: false, label: { en: 'Note', zh: '备注' } },
    ],
  },
  {
    type: 'general',
    label: { en: 'General', zh: '通用工单' },
    fields: [{ name: 'note', kind: 'text', required: false, label: { en: 'Note', zh: '备注' } }],
  },
];

/** The longest meter id a `meter` field takes (the registry's id bound). */
export const MAX_METER_ID_CHARS = 64;

/** Why a result does not fit its form, naming the field (null: the result as a whole). */
export interface ResultProblem {
  readonly field: string | null;
  readonly message: string;
}

export function workOrderType(type: string): WorkOrderType | undefined {
  return WORK_ORDER_TYPES.find((t) => t.type === type);
}

export function isWorkOrderType(type: string): boolean {
  return workOrderType(type) !== undefined;
}

/**
 * The first problem of `result` against the form of `type`, or undefined when it fits: a
 * field the form does not have, a required field missing, a value of the wrong kind, a choice
 * outside its choices, a number that is not finite, a text longer than `maxTextChars`.
 */
export function resultProblem(type: WorkOrderType, result: WorkOrderResult, maxTextChars: number): ResultProblem | undefined {
  for (const name of Object.keys(result)) {
    if (!type.fields.some((f) => f.name === name)) return { field: name, message: `${name} is not a field of a ${type.type} result (fields: ${type.fields.map((f) => f.name).join(', ')})` };
  }
  for (const field of type.fields) {
    const value = Object.hasOwn(result, field.name) ? result[field.name] : undefined;
    if (value === undefined) {
      if (field.required) return { field: field.name, message: `${field.name} is required` };
      continue;
    }
    const problem = valueProblem(field, value, maxTextChars);
    if (problem !== undefined) return { field: field.name, message: `${field.name} ${problem}` };
  }
  return undefined;
}

function valueProblem(field: FormField, value: string | number | boolean, maxTextChars: number): string | undefined {
  switch (field.kind) {
    case 'choice':
      return typeof value === 'string' && field.choices?.includes(value) === true ? undefined : `must be one of ${(field.choices ?? []).join(', ')}`;
    case 'boolean':
      return typeof value === 'boolean' ? undefined : 'must be true or false';
    case 'number':
      return typeof value === 'number' && Number.isFinite(value) ? undefined : 'must be a finite number';
    case 'meter':
      return typeof value === 'string' && value.length > 0 && value.length <= MAX_METER_ID_CHARS ? undefined : `must be a meter id of 1 to ${MAX_METER_ID_CHARS} characters`;
    case 'text':
      if (typeof value !== 'string') return 'must be text';
      if (field.required && value.trim() === '') return 'is required';
      if (value.length > maxTextChars) return `is longer than ${maxTextChars} characters`;
      if (field.format === 'date-time' && !/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2}))?$/.test(value)) return 'must be an RFC 3339 date or date-time';
      if (field.format === 'date-time' && !Number.isFinite(Date.parse(value))) return 'is not a valid date';
      return undefined;
  }
}
