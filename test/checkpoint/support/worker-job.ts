/** The job the crash-test worker migrates (shared with the tests, which check it). */
import type { JobSpec } from '../../../src/checkpoint/index.js';

export const WORKER_JOB: JobSpec = {
  fingerprint: 'f00dfacecafebeef',
  pstPath: '/data/archive.pst',
  target: { url: 'imaps://imap.example.test:993', user: 'someone@example.test' },
  options: { folders: [] },
};
