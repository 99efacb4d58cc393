/**
 * The `gh:` attributes as the modeler's side panel edits them (src/workflows/moddle.ts):
 * a service task's `gh:params` as name/value rows, ISO 8601 durations and date-times for
 * `gh:due` and timers, and the template a new process starts from. Pure functions, so the
 * panel and its tests agree on what is written into the XML.
 */
import { GRIDHEAD_BPMN_NAMESPACE } from '../../workflows/moddle.js';

export interface Param { readonly name: string; readonly value: string }

/** `meterId=${meterId};quantity=energy-import` → rows; a part without `=` is a name with an empty value. */
export function parseParams(text: string | undefined): Param[] {
  if (text === undefined || text.trim() === '') return [];
  return text.split(';').map((part) => part.trim()).filter((part) => part !== '').map((part) => {
    const eq = part.indexOf('=');
    return eq < 0 ? { name: part, value: '' } : { name: part.slice(0, eq).trim(), value: part.slice(eq + 1).trim() };
  });
}

/** Rows → `gh:params`; rows without a name are left out, and no rows give `undefined` (the attribute removed). */
export function formatParams(params: readonly Param[]): string | undefined {
  const parts = params.filter((p) => p.name.trim() !== '').map((p) => `${p.name.trim()}=${p.value.trim()}`);
  return parts.length === 0 ? undefined : parts.join(';');
}

/** Sets one parameter, keeping the others in their order; an empty value removes it. */
export function setParam(params: readonly Param[], name: string, value: string): Param[] {
  const rest = params.filter((p) => p.name !== name);
  if (value.trim() === '') return rest;
  const at = params.findIndex((p) => p.name === name);
  const next = { name, value };
  return at < 0 ? [...rest, next] : [...params.slice(0, at), next, ...params.slice(at + 1)];
}

/** `${name}`: a process variable the engine puts in at run time, accepted wherever a literal is. */
const VARIABLE = /^\$\{[^}]+\}$/;
/** ISO 8601 duration (PT4H, P3D, P1DT12H, PT0.5S): at least one part, a time part after T. */
const DURATION = /^P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$/;
/** ISO 8601 date-time with an offset or Z, as a timer's timeDate needs to mean one instant. */
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;

export function isDuration(text: string): boolean {
  return DURATION.test(text) || VARIABLE.test(text);
}

export function isDateTime(text: string): boolean {
  return (DATE_TIME.test(text) && !Number.isNaN(Date.parse(text))) || VARIABLE.test(text);
}

/** The process a new definition starts from: one start event, drawn, in a process that runs. */
export function newProcessXml(key: string, name: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" xmlns:gh="${GRIDHEAD_BPMN_NAMESPACE}" id="definitions" targetNamespace="${GRIDHEAD_BPMN_NAMESPACE}/processes">
  <bpmn:process id="${escapeXml(key)}" name="${escapeXml(name)}" isExecutable="true">
    <bpmn:startEvent id="start" />
  </bpmn:process>
  <bpmndi:BPMNDiagram id="diagram">
    <bpmndi:BPMNPlane id="plane" bpmnElement="${escapeXml(key)}">
      <bpmndi:BPMNShape id="start_di" bpmnElement="start">
        <dc:Bounds x="180" y="160" width="36" height="36" />
      </bpmndi:BPMNShape>
    </bpmndi:BPMNPlane>
  </bpmndi:BPMNDiagram>
</bpmn:definitions>
`;
}

/** A process id is an XML NCName: what the engine and the API use as the definition's key. */
export function isProcessKey(text: string): boolean {
  return /^[A-Za-z_][\w.-]*$/.test(text);
}

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
