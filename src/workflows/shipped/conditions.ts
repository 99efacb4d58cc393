/**
 * What the shipped processes' gateway conditions call. bpmn-elements resolves a condition
 * `${path}` to the value at that path (truthy takes the flow) and can call a function on the
 * way (`${environment.services.fn(arg,"constant")}`, arguments being paths or quoted
 * constants), but it has no operators. Comparing a variable with a value, such as a field
 * check's `outcome` with "confirmed", therefore needs a function, and these are the ones: the
 * engine gets them as its `services`, so a condition stays an expression and no script runs.
 *
 * A boolean variable needs none: `${environment.variables.disconnectAllowed}`.
 */
export const CONDITION_SERVICES = {
  /** `${environment.services.equals(environment.variables.outcome,"confirmed")}` */
  equals: (a: unknown, b: unknown): boolean => a === b,
  /** `${environment.services.differs(environment.variables.commandStatus,"verified")}` */
  differs: (a: unknown, b: unknown): boolean => a !== b,
} as const;
