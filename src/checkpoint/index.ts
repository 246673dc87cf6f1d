/** The checkpoint journal: the only way into the store (see journal.ts). */
export { openJournal, Journal, JobView, Job, JournalTransitionError, type OpenJournalOptions } from './journal.js';
export { defaultStatePath, stateDir, STATE_FILE_NAME } from './paths.js';
export { jobLockPath } from './job-lock.js';
export { redactSecrets, describeTarget } from './redact.js';
export * from './types.js';
