export * from './ids.js';
export * from './quantity.js';
export * from './reading.js';
export * from './topology.js';
export * from './errors.js';
export * from './event.js';
export * from './alarm.js';
export * from './explanation.js';
