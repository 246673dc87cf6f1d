/**
 * A thread of `export` (see export.ts): opens the PST, exports its share of the items, answers with
 * what it did.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { setLanguage } from '../i18n/index.js';
import { openPst } from '../pst/index.js';
import { describeFailure, exportShare, type ExportAnswer, type ExportJob } from './export.js';

const job = workerData as ExportJob;
setLanguage(job.language);

let answer: ExportAnswer;
try {
  const reader = openPst(job.pstPath, { codepage: job.codepage });
  try {
    answer = { type: 'done', counts: await exportShare(reader, job, new Int32Array(job.control)) };
  } finally {
    reader.close();
  }
} catch (error) {
  answer = { type: 'failed', message: describeFailure(error) };
}
parentPort!.postMessage(answer);
