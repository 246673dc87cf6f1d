/**
 * Crash safety with real processes: a worker migrates batches against a stand-in server (an fsynced
 * append-only file) and is killed with SIGKILL at several points. After each kill the store must be
 * sound and tell the truth: every item in exactly one state, counts adding up, nothing the server has
 * left pending (it would be sent twice), nothing marked done that the server lacks (it would be lost).
 */
import Database from 'better-sqlite3';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pst2ImapError } from '../../src/errors.js';
import { openJournal, type ItemState } from '../../src/checkpoint/index.js';
import { WORKER_JOB } from './support/worker-job.js';
import { startWorker, type Worker } from './support/spawn.js';

const ITEM_COUNT = 600;
const BATCH_SIZE = 10;

let dir: string;
const running: Worker[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'pst2imap-crash-'));
});
afterEach(async () => {
  for (const worker of running.splice(0)) {
    if (worker.child.exitCode === null && worker.child.signalCode === null) worker.child.kill('SIGKILL');
    await worker.exited;
  }
  rmSync(dir, { recursive: true, force: true });
});

function serverLog(path: string): Map<number, number[]> {
  const uidsByNid = new Map<number, number[]>();
  if (!existsSync(path)) return uidsByNid;
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (!line) continue;
    const [nid, uid] = line.split(' ').map(Number) as [number, number];
    uidsByNid.set(nid, [...(uidsByNid.get(nid) ?? []), uid]);
  }
  return uidsByNid;
}

/** Checks the store against the server after a crash; returns the items found in flight. */
function checkConsistency(storePath: string, logPath: string): { inFlight: number; done: number } {
  // Raw rows first: one row per planned nid, whatever the journal's own code believes.
  const raw = new Database(storePath, { readonly: true });
  let rows: Array<{ nid: number; state: ItemState; uid: number | null }>;
  try {
    rows = raw.prepare('SELECT nid, state, uid FROM items ORDER BY nid').all() as typeof rows;
  } finally {
    raw.close();
  }
  const journal = openJournal(storePath);
  try {
    expect(journal.integrityCheck()).toEqual(['ok']);
    const job = journal.lastJob()!;
    expect(job.status).toBe('interrupted');
    const totals = job.totals();
    if (rows.length > 0) {
      expect(rows.map((row) => row.nid)).toEqual(Array.from({ length: ITEM_COUNT }, (_, index) => index + 1));
    }
    expect(totals.total).toBe(rows.length);
    expect(totals.pending + totals.in_flight + totals.done + totals.skipped + totals.failed).toBe(totals.total);
    const perFolder = job.counts();
    expect(perFolder.reduce((sum, folder) => sum + folder.total, 0)).toBe(totals.total);
    expect(perFolder.reduce((sum, folder) => sum + folder.done, 0)).toBe(totals.done);
    // At most one batch can be caught between markInFlight and markDone.
    expect(totals.in_flight).toBeLessThanOrEqual(BATCH_SIZE);

    const server = serverLog(logPath);
    for (const row of rows) {
      const onServer = server.get(row.nid);
      if (row.state === 'done') {
        expect({ nid: row.nid, uids: onServer }).toEqual({ nid: row.nid, uids: [row.uid] });
      } else if (row.state === 'pending') {
        expect({ nid: row.nid, onServer }).toEqual({ nid: row.nid, onServer: undefined });
      } else {
        expect(row.state).toBe('in_flight');
        expect((onServer ?? []).length).toBeLessThanOrEqual(1);
      }
    }
    return { inFlight: totals.in_flight, done: totals.done };
  } finally {
    journal.close();
  }
}

test('kill -9 at several points: the store stays consistent and the job finishes with every message once', async () => {
  const storePath = join(dir, 'state.db');
  const logPath = join(dir, 'server.log');
  const args = ['migrate', storePath, logPath, String(ITEM_COUNT), String(BATCH_SIZE)];
  let caughtInFlight = 0;
  let previousDone = -1;
  // Kill after the worker reports this many committed batches in its run (each run resumes the last).
  for (const afterBatches of [1, 2, 4, 3, 7, 5]) {
    const worker = startWorker(args, { WORKER_PAUSE_MS: '2' });
    running.push(worker);
    await worker.waitFor(new RegExp(`^batch ${afterBatches}$`));
    // A little later again, so the kill lands at different places inside the next batch.
    await new Promise((resolve) => setTimeout(resolve, afterBatches * 3));
    worker.child.kill('SIGKILL');
    const { signal } = await worker.exited;
    expect(signal).toBe('SIGKILL');
    const { inFlight, done } = checkConsistency(storePath, logPath);
    expect(done).toBeGreaterThan(previousDone);
    previousDone = done;
    caughtInFlight += inFlight;
  }
  // The kills landed inside the window that matters at least once: items in flight were recovered.
  expect(caughtInFlight).toBeGreaterThan(0);

  const last = startWorker(args);
  running.push(last);
  const { code, stdout, stderr } = await last.exited;
  expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
  expect(stdout).toMatch(/finished\n$/);

  const server = serverLog(logPath);
  expect(server.size).toBe(ITEM_COUNT);
  for (const [nid, uids] of server) expect({ nid, copies: uids.length }).toEqual({ nid, copies: 1 });
  const journal = openJournal(storePath);
  try {
    const job = journal.lastJob()!;
    expect(job.status).toBe('finished');
    expect(job.totals()).toMatchObject({ done: ITEM_COUNT, total: ITEM_COUNT, pending: 0, in_flight: 0 });
    for (const item of job.items()) expect(item.uid).toBe(server.get(item.nid)![0]);
  } finally {
    journal.close();
  }
});

test('a second process on the same job refuses with E_STATE, and may take over once the first is killed', async () => {
  const storePath = join(dir, 'state.db');
  const holder = startWorker(['hold', storePath]);
  running.push(holder);
  const line = await holder.waitFor(/^holding \d+$/);
  const holderPid = Number(line.split(' ')[1]);

  // A second worker process is refused, and says why.
  const second = startWorker(['hold', storePath]);
  running.push(second);
  const refused = await second.exited;
  expect(refused.code).not.toBe(0);
  expect(refused.stderr).toContain('E_STATE');
  expect(refused.stderr).toContain('jobLocked');

  // This process too, with the holder's pid in the message parameters.
  const journal = openJournal(storePath);
  try {
    let error: unknown;
    try {
      journal.findOrCreateJob(WORKER_JOB);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(Pst2ImapError);
    expect((error as Pst2ImapError).params).toMatchObject({ reason: 'jobLocked', pid: holderPid, path: storePath });
    expect(journal.lastJob()!.status).toBe('running');

    holder.child.kill('SIGKILL');
    await holder.exited;
    // The kernel released the lock with the process: no stale lock to clean up.
    expect(journal.lastJob()!.status).toBe('interrupted');
    const job = journal.findOrCreateJob(WORKER_JOB);
    expect(job.info().owner).toMatchObject({ pid: process.pid });
  } finally {
    journal.close();
  }
});

test('another job in the same store is not blocked by a running one', async () => {
  const storePath = join(dir, 'state.db');
  const holder = startWorker(['hold', storePath]);
  running.push(holder);
  await holder.waitFor(/^holding/);
  const journal = openJournal(storePath);
  try {
    const other = journal.findOrCreateJob({ ...WORKER_JOB, fingerprint: 'another-pst' });
    other.plan([{ nid: 1, folderPath: ['Inbox'], targetMailbox: 'INBOX', size: 1 }]);
    other.markInFlight([1]);
    other.markDone(1, { uidValidity: 1, uid: 1 });
    expect(other.totals().done).toBe(1);
  } finally {
    journal.close();
  }
});

test('a write waits for another process to finish writing (BEGIN IMMEDIATE and a busy timeout), and says so when it takes too long', async () => {
  const storePath = join(dir, 'state.db');
  openJournal(storePath).close();

  const shortWriter = startWorker(['write-lock', storePath, '600']);
  running.push(shortWriter);
  await shortWriter.waitFor(/^writing$/);
  const patient = openJournal(storePath, { busyTimeoutMs: 10_000 });
  try {
    const started = Date.now();
    const job = patient.findOrCreateJob(WORKER_JOB);
    expect(Date.now() - started).toBeGreaterThan(100);
    expect(job.status).toBe('running');
  } finally {
    patient.close();
  }
  expect((await shortWriter.exited).code).toBe(0);

  const longWriter = startWorker(['write-lock', storePath, '5000']);
  running.push(longWriter);
  await longWriter.waitFor(/^writing$/);
  const hasty = openJournal(storePath, { busyTimeoutMs: 300 });
  try {
    let error: unknown;
    try {
      hasty.findOrCreateJob(WORKER_JOB);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(Pst2ImapError);
    expect((error as Pst2ImapError).params).toMatchObject({ reason: 'busy', seconds: 1 });
    // Reading is not blocked by a writer (WAL).
    expect(hasty.jobs()).toHaveLength(1);
  } finally {
    hasty.close();
  }
});
