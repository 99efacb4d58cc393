/**
 * The scheduler's running totals, read by /metrics. In their own file so the cycles that
 * bump them (the stored-profile cycle, the scheduler's own) need not import the scheduler.
 */
export interface CollectCounters {
  cycles: number;
  cyclesFailed: number;
  overruns: number;
  retries: number;
  sessionOpens: number;
  sessionErrors: number;
  itemsCollected: number;
  itemsFailed: number;
  onDemand: number;
  sinkErrors: number;
  faults: number;
}

export function zeroCollectCounters(): CollectCounters {
  return {
    cycles: 0, cyclesFailed: 0, overruns: 0, retries: 0, sessionOpens: 0, sessionErrors: 0,
    itemsCollected: 0, itemsFailed: 0, onDemand: 0, sinkErrors: 0, faults: 0,
  };
}
