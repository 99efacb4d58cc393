/** The pure detector core: condition state machine, detectors and their parameter schemas. */
export * from './condition.js';
export * from './format.js';
export * from './snapshot.js';
export * from './params.js';
export * from './power.js';
export * from './voltage.js';
export * from './current.js';
export * from './register.js';
export * from './jump.js';
export * from './clock.js';
export * from './silence.js';
export * from './area.js';
export * from './deviceEvent.js';
