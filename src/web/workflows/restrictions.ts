/**
 * A bpmn-js module that keeps the modeler to what the station's engine runs
 * (src/workflows/moddle.ts: SUPPORTED_ELEMENTS with timer and message event definitions), so a
 * dispatcher cannot draw what the deploy check would refuse. It filters, it does not replace:
 * each provider registers at a low priority and returns a function that receives the entries
 * bpmn-js's own providers made, keeps the supported ones, and adds user and service tasks
 * and timer and message catch events where bpmn-js offers only a generic task or event.
 */
import * as ReplaceOptions from 'bpmn-js/lib/features/replace/ReplaceOptions.js';
import { SUPPORTED_ELEMENTS, SUPPORTED_EVENT_DEFINITIONS } from '../../workflows/moddle.js';
import { t } from '../i18n.js';

/** After bpmn-js's providers (priority 1000), so their entries are there to filter. */
const FILTER_PRIORITY = 500;

/** An entry of the palette, the context pad or a popup menu, as far as this module reads it. */
type Entries = Record<string, unknown>;

/** A shape to place: the BPMN type and, for events, the event definition. */
export interface Placeable { readonly type: string; readonly eventDefinitionType?: string }

/** Whether the engine runs an element of this type (with this event definition, if any). */
export function supported({ type, eventDefinitionType }: Placeable): boolean {
  return (SUPPORTED_ELEMENTS as readonly string[]).includes(type)
    && (eventDefinitionType === undefined || (SUPPORTED_EVENT_DEFINITIONS as readonly string[]).includes(eventDefinitionType));
}

/** Palette tools that draw nothing by themselves, and bpmn-js's create entries the engine runs. */
const KEPT_PALETTE = ['hand-tool', 'lasso-tool', 'space-tool', 'global-connect-tool', 'tool-separator', 'create.start-event', 'create.end-event', 'create.exclusive-gateway'];
/** Context-pad entries that create nothing unsupported (append.end-event, append.gateway make supported elements). */
const KEPT_CONTEXT_PAD = ['delete', 'connect', 'replace', 'append.end-event', 'append.gateway', 'append.message-intermediate-event', 'append.timer-intermediate-event'];
/** Popup-menu header toggles that keep an element supported: a boundary event interrupting or not. */
const KEPT_HEADER = ['toggle-non-interrupting'];

/** What the modeler adds, in the palette (create.…) and the context pad (append.…). */
export interface Added extends Placeable { readonly name: string; readonly className: string; readonly title: TitleKey }
export const ADDED: readonly Added[] = [
  { name: 'user-task', type: 'bpmn:UserTask', className: 'bpmn-icon-user-task', title: 'wf.palette.userTask' },
  { name: 'service-task', type: 'bpmn:ServiceTask', className: 'bpmn-icon-service-task', title: 'wf.palette.serviceTask' },
  { name: 'timer-event', type: 'bpmn:IntermediateCatchEvent', eventDefinitionType: 'bpmn:TimerEventDefinition', className: 'bpmn-icon-intermediate-event-catch-timer', title: 'wf.palette.timer' },
  { name: 'message-event', type: 'bpmn:IntermediateCatchEvent', eventDefinitionType: 'bpmn:MessageEventDefinition', className: 'bpmn-icon-intermediate-event-catch-message', title: 'wf.palette.message' },
  { name: 'parallel-gateway', type: 'bpmn:ParallelGateway', className: 'bpmn-icon-gateway-parallel', title: 'wf.palette.parallel' },
];
type TitleKey = 'wf.palette.userTask' | 'wf.palette.serviceTask' | 'wf.palette.timer' | 'wf.palette.message' | 'wf.palette.parallel';

/** The palette's entries: the kept ones, then the added ones under their `create.` names. */
export function filterPalette(entries: Entries, create: (a: Added) => Entries[string]): Entries {
  const kept = pick(entries, KEPT_PALETTE);
  for (const a of ADDED) kept[`create.${a.name}`] = create(a);
  return kept;
}

/** The context pad's entries for one element: the kept ones, and appending what the engine runs (nothing after an end event). */
export function filterContextPad(entries: Entries, canAppend: boolean, append: (a: Added) => Entries[string]): Entries {
  const kept = pick(entries, KEPT_CONTEXT_PAD);
  if (canAppend) for (const a of ADDED) kept[`append.${a.name}`] ??= append(a);
  return kept;
}

/**
 * bpmn-js's replace options by action name, with the element each makes. Sequence-flow
 * options carry no target: a flow stays a flow (plain, default or conditional).
 */
const REPLACE_TARGETS = new Map<string, Placeable>(
  Object.values(ReplaceOptions).filter(Array.isArray).flat().map((o: ReplaceOptions.ReplaceOption) => [o.actionName, o.target ?? { type: 'bpmn:SequenceFlow' }]),
);

/** The replace menu's entries: those that turn the element into a supported one. */
export function filterReplace(entries: Entries): Entries {
  const kept: Entries = {};
  for (const [name, entry] of Object.entries(entries)) {
    const target = REPLACE_TARGETS.get(name);
    if (target !== undefined && supported(target)) kept[name] = entry;
  }
  return kept;
}

/** The replace menu's header toggles (loop, multi-instance, collection) the engine does not run here are dropped. */
export function filterReplaceHeader(entries: Entries): Entries {
  return pick(entries, KEPT_HEADER);
}

// --- the bpmn-js module -------------------------------------------------------------------

/** The services this module uses, typed as far as it calls them. */
interface ElementFactory { createShape(attrs: Record<string, unknown>): unknown }
interface Create { start(event: unknown, shape: unknown, context?: Record<string, unknown>): void }
interface AutoPlace { append(source: unknown, shape: unknown): void }
interface Registrar { registerProvider(priority: number, provider: object): void }
interface PopupMenu { registerProvider(id: string, priority: number, provider: object): void }
interface DiagramElement { readonly type?: string; readonly businessObject?: { readonly $type?: string } }

function GridheadRestrictions(this: unknown, palette: Registrar, contextPad: Registrar, popupMenu: PopupMenu, elementFactory: ElementFactory, create: Create, autoPlace: AutoPlace) {
  const shape = (p: Placeable) => elementFactory.createShape({ type: p.type, ...(p.eventDefinitionType === undefined ? {} : { eventDefinitionType: p.eventDefinitionType }) });

  palette.registerProvider(FILTER_PRIORITY, {
    getPaletteEntries: () => (entries: Entries) => filterPalette(entries, (a) => {
      const start = (event: unknown) => { create.start(event, shape(a)); };
      return { group: a.type.endsWith('Task') ? 'activity' : a.type.endsWith('Gateway') ? 'gateway' : 'event', className: a.className, title: t(a.title), action: { dragstart: start, click: start } };
    }),
  });

  contextPad.registerProvider(FILTER_PRIORITY, {
    getContextPadEntries: (element: DiagramElement) => (entries: Entries) => {
      const type = element.businessObject?.$type ?? element.type ?? '';
      // After an event-based gateway only catch events may follow (BPMN 2.0 §10.6.6): bpmn-js's own entries offer those.
      const canAppend = !['bpmn:EndEvent', 'bpmn:SequenceFlow', 'bpmn:Process', 'bpmn:EventBasedGateway', 'label'].includes(type);
      return filterContextPad(entries, canAppend, (a) => ({
        group: 'model', className: a.className, title: t(a.title),
        action: {
          click: (_event: unknown, source: unknown) => { autoPlace.append(source, shape(a)); },
          dragstart: (event: unknown, source: unknown) => { create.start(event, shape(a), { source }); },
        },
      }));
    },
  });

  popupMenu.registerProvider('bpmn-replace', FILTER_PRIORITY, {
    getPopupMenuEntries: () => (entries: Entries) => filterReplace(entries),
    // diagram-js hands header entries keyed by id, like the others.
    getPopupMenuHeaderEntries: () => (entries: Entries) => filterReplaceHeader(entries),
  });
}
GridheadRestrictions.$inject = ['palette', 'contextPad', 'popupMenu', 'elementFactory', 'create', 'autoPlace'];

/** Give to the Modeler as `additionalModules: [gridheadRestrictions]`. */
export const gridheadRestrictions = {
  __init__: ['gridheadRestrictions'],
  gridheadRestrictions: ['type', GridheadRestrictions],
};

function pick(entries: Entries, names: readonly string[]): Entries {
  const kept: Entries = {};
  for (const name of names) if (name in entries) kept[name] = entries[name];
  return kept;
}
