/**
 * Builds the topology's address space after the server listens, a slice at a time: ten
 * thousand areas cost node-opcua seconds of CPU (an AnalogItem each for AggregateLoad), which
 * in one go would hold up the station's start and every timer and socket with it. Each slice
 * adds `sliceAreas` areas (or meters of the same weight) and yields to the event loop with
 * setImmediate, so I/O is served between slices; SCADA browses the areas built so far.
 *
 * Area changes arrive one per changed area (an import announces thousands in one go): each
 * only marks the tree for building again, and the next slice begins that build once for all of
 * them. A build under way when an area changes is dropped and begun anew from the registry.
 */
import type { ComponentStatus } from '../observe/health.js';
import type { LiveValues } from './liveValues.js';
import type { TopologyNodes } from './topologyNodes.js';

export interface AddressSpaceBuildOptions {
  readonly nodes: TopologyNodes;
  readonly values: Pick<LiveValues, 'areasChanged'>;
  /** Areas added per slice; a mirrored meter counts as its analog items (topologyNodes.ts METER_WEIGHT). */
  readonly sliceAreas: number;
  /** A slice threw: the build stops there until the next area change, and health says so. */
  readonly onProblem: (err: unknown) => void;
}

export class AddressSpaceBuild {
  readonly #o: AddressSpaceBuildOptions;
  #next: NodeJS.Immediate | undefined;
  #restartDue = false;
  #failure: string | undefined;
  #closed = false;

  constructor(options: AddressSpaceBuildOptions) {
    this.#o = options;
  }

  /** Begins the first build; the slices follow on their own. */
  start(): void {
    this.areasChanged();
  }

  /** An area was created, changed or deleted: the tree is built again, once for every change up to the next slice. */
  areasChanged(): void {
    this.#restartDue = true;
    this.#schedule();
  }

  /** `starting` while the tree is being built: the endpoint serves, with part of the areas. */
  health(): ComponentStatus {
    const p = this.#o.nodes.progress();
    const info = { areas: p.areas, of: p.of, meterNodes: p.meterNodes, builds: p.builds };
    if (this.#failure !== undefined) return { status: 'degraded', detail: `the address space could not be built: ${this.#failure}`, info };
    if (this.#restartDue || this.#o.nodes.building) return { status: 'starting', detail: `building the address space: ${p.areas} of ${p.of} areas`, info };
    return { status: 'ok', detail: `${p.areas} areas, ${p.meterNodes} meter nodes`, info };
  }

  close(): void {
    this.#closed = true;
    if (this.#next !== undefined) clearImmediate(this.#next);
    this.#next = undefined;
  }

  #schedule(): void {
    if (this.#closed || this.#next !== undefined) return;
    this.#next = setImmediate(() => { this.#slice(); });
  }

  #slice(): void {
    this.#next = undefined;
    const { nodes, values } = this.#o;
    try {
      if (this.#restartDue) {
        this.#restartDue = false;
        this.#failure = undefined;
        nodes.restart();
        // The loads cached for the old tree go; each area's is due as it is added.
        values.areasChanged('all');
      }
      values.areasChanged(nodes.step(this.#o.sliceAreas));
    } catch (err) {
      this.#failure = err instanceof Error ? err.message : String(err);
      this.#o.onProblem(err);
      return;
    }
    if (nodes.building) this.#schedule();
  }
}
