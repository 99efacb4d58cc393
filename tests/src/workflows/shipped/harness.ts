/**
 * A shipped process run through bpmn-engine with the `gh:` moddle and the condition services,
 * the station's actions replaced by recorders that answer set outputs (the actions have their
 * own tests against the real services), user tasks completed and messages sent by the test,
 * and timers held until the test fires them. What the harness does in the runtime's place
 * follows src/workflows/README.md: an action's output and a completed task's result are merged
 * into the process variables; `gh:params` has `${name}` replaced by the variable.
 */
import { EventEmitter } from 'node:events';
import { Timers } from 'bpmn-elements';
import { Engine, type BpmnEngineOptions } from 'bpmn-engine';
import { gridheadModdle } from '../../../../src/workflows/moddle.js';
import { CONDITION_SERVICES } from '../../../../src/workflows/runtime/expressions.js';
import { shippedXml, type ShippedProcess } from '../../../../src/workflows/shipped/index.js';

export interface ActionCall {
  readonly action: string;
  readonly elementId: string;
  readonly params: Readonly<Record<string, string>>;
}

export interface HeldTimer {
  readonly delay: number;
  /** False once fired or cleared. */
  readonly live: boolean;
  fire(): void;
}

interface Waiting {
  readonly type: string;
  readonly api: { readonly environment: { readonly variables: Record<string, unknown> }; signal(message?: unknown): void };
}

type Outputs = Readonly<Record<string, (params: Readonly<Record<string, string>>) => Readonly<Record<string, unknown>>>>;

export class ProcessRun {
  readonly calls: ActionCall[] = [];
  readonly ends: string[] = [];
  readonly timers: HeldTimer[] = [];
  readonly #waiting = new Map<string, Waiting>();
  readonly #engine;
  #done: Promise<void>;
  #ended = false;

  private constructor(key: ShippedProcess, variables: Record<string, unknown>, outputs: Outputs) {
    const held = this.timers;
    const timers = new Timers(({
      setTimeout: (fn: () => void, delay: number) => {
        const timer = { delay, live: true, fire() { if (timer.live) { timer.live = false; fn(); } } };
        held.push(timer);
        return timer;
      },
      clearTimeout: (t?: { live: boolean }) => { if (t !== undefined) t.live = false; },
    }) as unknown as ConstructorParameters<typeof Timers>[0]);
    const calls = this.calls;
    this.#engine = new Engine({
      name: key, source: shippedXml(key), moddleOptions: { gh: gridheadModdle }, services: { ...CONDITION_SERVICES }, variables, timers,
      extensions: ({
        gridhead(activity: { type: string; id: string; behaviour: Record<string, unknown>; environment: { variables: Record<string, unknown> } }) {
          if (activity.type !== 'bpmn:ServiceTask') return;
          const action = String(activity.behaviour.action);
          const template = typeof activity.behaviour.params === 'string' ? activity.behaviour.params : '';
          activity.behaviour.Service = function Service() {
            return {
              execute(_message: unknown, callback: (err: Error | null, output?: unknown) => void) {
                const params = substitute(template, activity.environment.variables);
                calls.push({ action, elementId: activity.id, params });
                const output = outputs[action]?.(params) ?? {};
                Object.assign(activity.environment.variables, output);
                callback(null, output);
              },
            };
          };
        },
      }) as unknown as BpmnEngineOptions['extensions'],
    });
    const listener = new EventEmitter();
    listener.on('activity.wait', (api: Waiting['api'] & { id: string; type: string }) => { this.#waiting.set(api.id, { type: api.type, api }); });
    listener.on('activity.end', (api: { id: string; type: string }) => {
      this.#waiting.delete(api.id);
      if (api.type === 'bpmn:EndEvent') this.ends.push(api.id);
    });
    listener.on('activity.leave', (api: { id: string }) => { this.#waiting.delete(api.id); });
    this.#done = new Promise((resolve, reject) => {
      this.#engine.once('end', () => { this.#ended = true; resolve(); });
      this.#engine.once('error', reject);
    });
    this.#started = this.#engine.execute({ listener });
  }

  #started: Promise<unknown>;

  static async start(key: ShippedProcess, variables: Record<string, unknown>, outputs: Outputs = {}): Promise<ProcessRun> {
    const run = new ProcessRun(key, variables, outputs);
    await run.#started;
    return run;
  }

  /** The elements waiting now (user tasks, message catches), by id. */
  waiting(): string[] {
    return [...this.#waiting.keys()].sort();
  }

  get variables(): Record<string, unknown> {
    return this.#engine.environment.variables as Record<string, unknown>;
  }

  /** Completes a user task: its result becomes process variables, as the runtime does. */
  complete(taskId: string, result: Record<string, unknown> = {}): void {
    const w = this.#waiting.get(taskId);
    if (w?.type !== 'bpmn:UserTask') throw new Error(`${taskId} is not a waiting user task; waiting: ${this.waiting().join(', ')}`);
    Object.assign(w.api.environment.variables, result);
    w.api.signal(result);
  }

  /** Sends a message to the running instance, by its name (the shipped processes give a message its name as id). */
  message(name: string): void {
    this.#engine.execution.signal({ id: name });
  }

  /** Fires the only timer still pending. */
  fireTimer(): HeldTimer {
    const pending = this.timers.filter((t) => t.live);
    if (pending.length !== 1) throw new Error(`${pending.length} timers pending, expected one`);
    const [timer] = pending as [HeldTimer];
    timer.fire();
    return timer;
  }

  /** Resolves when the instance has ended. */
  ended(): Promise<void> {
    return this.#done;
  }

  async stop(): Promise<void> {
    // An engine that ended has nothing to stop (and its stop would never resolve).
    if (!this.#ended) await this.#engine.stop();
  }
}

/** `name=value;…` with `${variable}` replaced (an unset one by nothing), as the runtime does. */
function substitute(template: string, variables: Readonly<Record<string, unknown>>): Record<string, string> {
  const params: Record<string, string> = {};
  for (const pair of template.split(';')) {
    const at = pair.indexOf('=');
    if (at < 0) continue;
    params[pair.slice(0, at).trim()] = pair.slice(at + 1).replace(/\$\{(\w+)\}/g, (_m, name: string) => {
      const v = variables[name];
      return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? String(v) : '';
    });
  }
  return params;
}
