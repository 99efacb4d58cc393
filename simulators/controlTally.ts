/**
 * The control operations a simulated device executed, per meter address: every remote
 * disconnect, reconnect, set-limit and clear-limit the device was asked to perform and took
 * in, counted when it arrives (a request that finds the relay already there is still one
 * execution). A head-end that sends the same operation twice (a resend after a failover
 * instead of a read-back) shows here as a count of 2, which a read of the device's state
 * alone cannot tell from a single send. Reads of the state are not operations.
 */
export const CONTROL_OPERATIONS = ['disconnect', 'reconnect', 'set-limit', 'clear-limit'] as const;
export type ControlOperation = (typeof CONTROL_OPERATIONS)[number];

/** How many times each operation was executed; operations never executed are absent. */
export type ControlCounts = Partial<Record<ControlOperation, number>>;

export class ControlTally {
  readonly #byAddress = new Map<string, Record<ControlOperation, number>>();

  /** One execution of `operation` on the meter at `address`. */
  record(address: string, operation: ControlOperation): void {
    let counts = this.#byAddress.get(address);
    if (counts === undefined) this.#byAddress.set(address, (counts = { disconnect: 0, reconnect: 0, 'set-limit': 0, 'clear-limit': 0 }));
    counts[operation] += 1;
  }

  /** The counts of the meter at `address` (empty when it executed nothing). */
  of(address: string): ControlCounts {
    const counts = this.#byAddress.get(address);
    if (counts === undefined) return {};
    return Object.fromEntries(CONTROL_OPERATIONS.filter((op) => counts[op] > 0).map((op) => [op, counts[op]]));
  }

  /** Addresses that executed at least one operation. */
  addresses(): string[] {
    return [...this.#byAddress.keys()];
  }
}
