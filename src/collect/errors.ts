/** Errors the collector raises, each with a stable `code`. */

export abstract class CollectError extends Error {
  abstract readonly code: string;
  constructor(message: string, readonly terminalId?: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The scheduler was stopped; queued and in-flight work ends with this reason. */
export class SchedulerStoppedError extends CollectError {
  readonly code = 'COLLECT_STOPPED';
  constructor() {
    super('collection scheduler stopped');
  }
}

/** The terminal is not (or no longer) in the collector's topology, or it is disabled. */
export class UnknownTerminalError extends CollectError {
  readonly code = 'COLLECT_UNKNOWN_TERMINAL';
  constructor(terminalId: string) {
    super(`terminal ${JSON.stringify(terminalId)} is not collected (unknown, removed or disabled)`, terminalId);
  }
}

/** Another node of the cluster polls the terminal now (src/cluster/placement.ts); ask that node. */
export class PlacedElsewhereError extends CollectError {
  readonly code = 'COLLECT_PLACED_ELSEWHERE';
  constructor(terminalId: string) {
    super(`terminal ${JSON.stringify(terminalId)} is polled by another node of the cluster now`, terminalId);
  }
}

/** On-demand reads need a polled terminal; a pushing terminal cannot be asked. */
export class NotPollableError extends CollectError {
  readonly code = 'COLLECT_NOT_POLLABLE';
  constructor(terminalId: string) {
    super(`terminal ${JSON.stringify(terminalId)} pushes its readings and cannot be polled`, terminalId);
  }
}

/** The terminal's adapter cannot send control commands. */
export class NotControllableError extends CollectError {
  readonly code = 'COLLECT_NOT_CONTROLLABLE';
  constructor(terminalId: string) {
    super(`terminal ${JSON.stringify(terminalId)} cannot be controlled by its adapter`, terminalId);
  }
}

/** Too many on-demand reads already wait for this terminal. */
export class CollectBusyError extends CollectError {
  readonly code = 'COLLECT_BUSY';
  constructor(terminalId: string, readonly limit: number, what = 'on-demand reads') {
    super(`terminal ${JSON.stringify(terminalId)} already has ${limit} ${what} queued`, terminalId);
  }
}

/** No adapter is configured for the terminal's protocol. */
export class NoAdapterError extends CollectError {
  readonly code = 'COLLECT_NO_ADAPTER';
  constructor(terminalId: string, readonly protocol: string) {
    super(`no adapter for protocol ${JSON.stringify(protocol)} (terminal ${JSON.stringify(terminalId)})`, terminalId);
  }
}

/** A terminal names a collection profile that the configuration does not define. */
export class UnknownProfileError extends CollectError {
  readonly code = 'COLLECT_UNKNOWN_PROFILE';
  constructor(terminalId: string, readonly profile: string) {
    super(`terminal ${JSON.stringify(terminalId)} names unknown collection profile ${JSON.stringify(profile)}`, terminalId);
  }
}

/** The adapter returned no outcome for an item it was asked to read. */
export class MissingOutcomeError extends CollectError {
  readonly code = 'COLLECT_MISSING_OUTCOME';
  constructor(terminalId: string, address: string, quantity: string) {
    super(`adapter returned no outcome for ${quantity} at address ${address}`, terminalId);
  }
}

/** The reading sink (ingest) rejected a batch; the readings of that batch are lost to it. */
export class SinkError extends CollectError {
  readonly code = 'COLLECT_SINK';
  constructor(terminalId: string, readonly count: number, cause: unknown) {
    super(`sink rejected ${count} readings of terminal ${JSON.stringify(terminalId)}: ${cause instanceof Error ? cause.message : String(cause)}`, terminalId, { cause });
  }
}

export { errorCode } from '../domain/errors.js';
