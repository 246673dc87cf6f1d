/** Selection and mapping: pure, data in, a plan out. */
export * from './plan.js';
export * from './select.js';
export * from './types.js';
export * from './utf7.js';
export { planToJson, PLAN_SCHEMA } from './json.js';
