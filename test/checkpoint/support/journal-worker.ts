/**
 * A small migrate loop run as a separate process by the crash tests, so that it can be killed with
 * SIGKILL at any point. It speaks to a stand-in "server": an append-only file where each stored message
 * is one line "<nid> <uid> <message-id>", written with fsync, as a server's tagged OK means "stored".
 *
 *   journal-worker.ts migrate <store> <server-log> <item-count> <batch-size>
 *     Plans items 1..count, recovers what a previous run left in flight (looked up in the server log by
 *     Message-ID: found -> done, absent -> pending again), then sends batch after batch:
 *     markInFlight (committed) -> append to the server -> markDone for the batch in one transaction.
 *     Prints "batch <n>" after each committed batch and "finished" at the end.
 *
 *   journal-worker.ts write-lock <store> <ms>
 *     Holds the store's write transaction open for <ms> milliseconds, printing "writing" then "committed".
 *
 *   journal-worker.ts hold <store>
 *     Claims the job and prints "holding <pid>", then waits to be killed.
 */
import { appendFileSync, closeSync, existsSync, fsyncSync, openSync, readFileSync, writeSync } from 'node:fs';
import { openJournal } from '../../../src/checkpoint/index.js';
import { WORKER_JOB } from './worker-job.js';


/** Milliseconds to wait inside the in-flight window (after markInFlight, after each append), so that a
 * kill lands there often: that is the window where a crash can lose or double a message. */
const PAUSE_MS = Number(process.env.WORKER_PAUSE_MS ?? '0');
const pause = (): void => {
  if (PAUSE_MS > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, PAUSE_MS);
};

const messageIdOf = (nid: number): string => `<pst-${nid}@worker.test>`;

interface ServerMessage {
  nid: number;
  uid: number;
  messageId: string;
}

function readServer(logPath: string): ServerMessage[] {
  if (!existsSync(logPath)) return [];
  return readFileSync(logPath, 'utf8')
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => {
      const [nid, uid, messageId] = line.split(' ');
      return { nid: Number(nid), uid: Number(uid), messageId: messageId! };
    });
}

function appendToServer(logPath: string, message: ServerMessage): void {
  const fd = openSync(logPath, 'a');
  try {
    writeSync(fd, `${message.nid} ${message.uid} ${message.messageId}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function migrate(storePath: string, logPath: string, count: number, batchSize: number): void {
  const journal = openJournal(storePath);
  const job = journal.findOrCreateJob(WORKER_JOB);
  job.plan(
    Array.from({ length: count }, (_, index) => ({
      nid: index + 1,
      folderPath: [index % 3 === 0 ? 'Inbox' : 'Sent Items'],
      targetMailbox: index % 3 === 0 ? 'INBOX' : 'Sent',
      size: 1000 + index,
    })),
  );
  const server = readServer(logPath);
  const onServer = new Map(server.map((message) => [message.messageId, message]));
  let nextUid = server.length + 1;
  const absent: number[] = [];
  job.batch(() => {
    for (const item of job.inFlight()) {
      const found = item.messageId ? onServer.get(item.messageId) : undefined;
      if (found) job.markDone(item.nid, { uidValidity: 1, uid: found.uid });
      else absent.push(item.nid);
    }
    job.requeue(absent);
  });
  let batches = 0;
  for (;;) {
    const batch = job.pending(batchSize);
    if (batch.length === 0) break;
    job.markInFlight(batch.map((item) => ({ nid: item.nid, messageId: messageIdOf(item.nid), size: item.size })));
    pause();
    const stored = batch.map((item) => {
      const message = { nid: item.nid, uid: nextUid++, messageId: messageIdOf(item.nid) };
      appendToServer(logPath, message);
      pause();
      return message;
    });
    job.batch(() => {
      for (const message of stored) job.markDone(message.nid, { uidValidity: 1, uid: message.uid });
    });
    batches += 1;
    process.stdout.write(`batch ${batches}\n`);
  }
  job.finish();
  journal.close();
  process.stdout.write('finished\n');
}

function hold(storePath: string): void {
  const journal = openJournal(storePath);
  journal.findOrCreateJob(WORKER_JOB);
  process.stdout.write(`holding ${process.pid}\n`);
  setInterval(() => undefined, 1000);
}

/** Holds the store's write lock (BEGIN IMMEDIATE) for `ms` milliseconds, as a long write would. */
function writeLock(storePath: string, ms: number): void {
  const journal = openJournal(storePath);
  journal.batch(() => {
    process.stdout.write('writing\n');
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
  });
  journal.close();
  process.stdout.write('committed\n');
}

const [mode, ...args] = process.argv.slice(2);
if (mode === 'migrate') migrate(args[0]!, args[1]!, Number(args[2]), Number(args[3]));
else if (mode === 'hold') hold(args[0]!);
else if (mode === 'write-lock') writeLock(args[0]!, Number(args[1]));
else {
  appendFileSync(2, `unknown mode ${mode}\n`);
  process.exit(2);
}
