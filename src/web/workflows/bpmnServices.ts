/**
 * The few bpmn-js services the modeler's pages call, typed as far as they call them (bpmn-js's
 * own element types carry `any` business objects), and the reads the side panel needs from a
 * BPMN element.
 */
import type BaseViewer from 'bpmn-js/lib/BaseViewer';

/** A bpmn-moddle element: `get` reads a property (extension attributes as `gh:action`). */
export interface ModdleElement {
  readonly $type: string;
  readonly id?: string;
  readonly $parent?: ModdleElement;
  get(name: string): unknown;
}

/** A shape or connection on the canvas. */
export interface DiagramElement {
  readonly id: string;
  readonly type: string;
  readonly businessObject: ModdleElement;
  readonly source?: DiagramElement;
  readonly outgoing?: readonly DiagramElement[];
}

export interface Modeling {
  updateProperties(element: DiagramElement, properties: Record<string, unknown>): void;
  updateModdleProperties(element: DiagramElement, moddleElement: ModdleElement, properties: Record<string, unknown>): void;
}
export interface BpmnFactory { create(type: string, attrs?: Record<string, unknown>): ModdleElement }
export interface ElementRegistry { get(id: string): DiagramElement | undefined; getAll(): DiagramElement[] }
export interface Canvas {
  addMarker(element: DiagramElement | string, marker: string): void;
  removeMarker(element: DiagramElement | string, marker: string): void;
  scrollToElement(element: DiagramElement | string): void;
  zoom(level: number | 'fit-viewport', center?: 'auto'): number;
  getRootElement(): DiagramElement | { readonly businessObject?: undefined };
}
export interface DirectEditing { isActive(): boolean; complete(): void }
export interface Selection { select(element: DiagramElement | null): void; get(): DiagramElement[] }
export interface EventBus {
  on(event: string, callback: (event: { element?: DiagramElement; newSelection?: DiagramElement[] }) => void): void;
  off(event: string, callback: (event: { element?: DiagramElement; newSelection?: DiagramElement[] }) => void): void;
}

/** What a diagram (modeler or viewer) offers the pages: its services by name. */
export type ServiceLocator = Pick<BaseViewer, 'get'>;

/** The element's first event definition (`bpmn:TimerEventDefinition`…), if it is an event that has one. */
export function eventDefinitionOf(bo: ModdleElement): ModdleElement | undefined {
  const defs = bo.get('eventDefinitions');
  return Array.isArray(defs) ? (defs[0] as ModdleElement | undefined) : undefined;
}

/** A string property, or '' when absent. */
export function text(bo: ModdleElement | undefined, name: string): string {
  const v = bo?.get(name);
  return typeof v === 'string' ? v : '';
}

/** The body of a formal expression property (a timer's timeDuration, a flow's conditionExpression). */
export function expressionBody(bo: ModdleElement | undefined, name: string): string {
  const expr = bo?.get(name) as ModdleElement | undefined;
  return expr === undefined ? '' : text(expr, 'body');
}

/** The whole diagram in view, never enlarged past its natural size (a new process is one small circle). */
export function fitDiagram(services: ServiceLocator): void {
  const canvas = services.get<Canvas>('canvas');
  if (canvas.zoom('fit-viewport', 'auto') > 1) canvas.zoom(1, 'auto');
}
