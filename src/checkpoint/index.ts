/**
 * The checkpoint journal: the only way into the store (see journal.ts for the durability rules).
 *
 * How the engine uses it, so that a crash at any point loses nothing and doubles nothing:
 *
 *   const journal = openJournal(options.statePath);            // E_STATE when unusable
 *   const job = journal.findOrCreateJob({ fingerprint, pstPath, target: { url, user }, options });
 *   job.plan(plannedItems);                                    // new mail becomes pending; known items stay
 *   job.retry();                                               // failed items of the last run: pending again
 *   for (const item of job.inFlight()) {                       // left by a crash: maybe on the server
 *     const found = await target.lookUp(item.targetMailbox, item.messageId);
 *     found ? job.markDone(item.nid, found) : job.requeue([item.nid]);
 *   }
 *   for (let batch; (batch = job.pending(50, { exclude: takenByOtherConnections })).length > 0; ) {
 *     const messages = batch.map(rebuild);                     // Message-ID, bytes, sha256
 *     job.markInFlight(messages.map(({ nid, messageId, hash, bytes }) =>
 *       ({ nid, messageId, contentHash: hash, size: bytes.length })));   // committed BEFORE sending
 *     const results = await appendAll(messages);               // tagged OK -> APPENDUID
 *     job.batch(() => results.forEach((r) =>                   // one commit for the batch
 *       r.ok ? job.markDone(r.nid, { uidValidity: r.uidValidity, uid: r.uid })
 *            : r.answered ? job.recordAttempt(r.nid, r.error)  // NO/BAD: not stored, pending again
 *                         : job.recordAttempt(r.nid, r.error, 'unknown')));  // no answer: stays in flight
 *   }
 *   job.finish();
 *   journal.close();                                           // also on Ctrl-C: the job becomes interrupted
 */
export { openJournal, Journal, JobView, Job, JournalTransitionError, type OpenJournalOptions } from './journal.js';
export { defaultStatePath, stateDir, STATE_FILE_NAME } from './paths.js';
export { jobLockPath } from './job-lock.js';
export { redactSecrets, describeTarget } from './redact.js';
export * from './types.js';
