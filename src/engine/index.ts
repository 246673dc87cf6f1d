/** src/engine: queue, throttle, retry; drives PST -> rebuild -> target -> checkpoint. */
export { migrate, type MigrateOptions } from './migrate.js';
export { verify, type VerifyOptions, type VerifyResult, type VerifyFolder } from './verify.js';
export type { MigrateEvent, MigrateListener, MigrateSummary, ItemRef } from './events.js';
export { REPORT_SCHEMA } from './report.js';
