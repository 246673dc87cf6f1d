/**
 * A full disk and a read-only store. With root and permission to mount (as in the project's sandbox and
 * CI container), the store lives on a real 2 MiB tmpfs that is filled up or remounted read-only: the
 * errors come from the kernel (ENOSPC, EROFS) through SQLite. Where mounting is not permitted, the full
 * disk is made with SQLite's max_page_count (SQLITE_FULL as well) and read-only with file modes.
 */
import Database from 'better-sqlite3';
import { execFileSync } from 'node:child_process';
import { chmodSync, closeSync, mkdirSync, mkdtempSync, openSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pst2ImapError } from '../../src/errors.js';
import { openJournal, type Job, type JobSpec, type Journal, type PlannedItem } from '../../src/checkpoint/index.js';
import { setLanguage, t } from '../../src/i18n/index.js';

const JOB: JobSpec = {
  fingerprint: 'diskfull0001',
  pstPath: '/mail/big.pst',
  target: { url: 'imaps://imap.example.test', user: 'user@example.test' },
  options: {},
};

const planned = (from: number, count: number): PlannedItem[] =>
  Array.from({ length: count }, (_, index) => ({
    nid: from + index,
    folderPath: ['Inbox', `Folder with a fairly long name ${(from + index) % 13}`],
    targetMailbox: `Archive/Folder with a fairly long name ${(from + index) % 13}`,
    size: 4096 + index,
  }));

function tryMount(dir: string, options: string): boolean {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Whether this process may mount a tmpfs (root with CAP_SYS_ADMIN, as in the project's container). */
const canMount = ((): boolean => {
  const probe = mkdtempSync(join(tmpdir(), 'pst2imap-mount-probe-'));
  const ok = !process.env.PST2IMAP_TEST_NO_MOUNT && tryMount(probe, 'size=64k');
  if (ok) execFileSync('umount', [probe]);
  rmSync(probe, { recursive: true });
  return ok;
})();
/** File modes make a store read-only for anyone but root; root needs a read-only mount. */
const canMakeReadOnly = canMount || process.getuid?.() !== 0;

let dir: string;
let volume: string;
let mounted = false;
const openJournals: Journal[] = [];

/** openJournal, remembered so that afterEach can close it before unmounting. */
function open(path: string, options: { maxPageCount?: number } = {}): Journal {
  const journal = openJournal(path, options);
  openJournals.push(journal);
  return journal;
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'pst2imap-full-'));
  volume = join(dir, 'volume');
  mkdirSync(volume);
  mounted = canMount && tryMount(volume, 'size=2m,mode=0700');
});
afterEach(() => {
  setLanguage('en');
  for (const journal of openJournals.splice(0)) {
    try {
      journal.close();
    } catch {
      // A test that failed while the disk was full: closing writes the job's status and may fail too.
    }
  }
  if (mounted) execFileSync('umount', [volume]);
  rmSync(dir, { recursive: true, force: true });
});

function expectStateError(work: () => unknown, reason: string): Pst2ImapError {
  let caught: unknown;
  try {
    work();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(Pst2ImapError);
  expect((caught as Pst2ImapError).code).toBe('E_STATE');
  expect((caught as Pst2ImapError).params.reason).toBe(reason);
  return caught as Pst2ImapError;
}

/** Fills the file system of `path` to the last byte; returns a function that frees the room again. */
function fillFileSystem(path: string): () => void {
  const filler = join(path, 'filler');
  const fd = openSync(filler, 'w');
  const chunk = Buffer.alloc(4096, 0x55);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (error) {
    expect((error as NodeJS.ErrnoException).code).toBe('ENOSPC');
  }
  // Then the last bytes of a partly free block.
  try {
    for (;;) writeSync(fd, chunk, 0, 1);
  } catch {
    // full
  }
  closeSync(fd);
  return () => unlinkSync(filler);
}

function pageCount(storePath: string): number {
  const raw = new Database(storePath, { readonly: true });
  try {
    return raw.pragma('page_count', { simple: true }) as number;
  } finally {
    raw.close();
  }
}

test(`a full disk during a commit: E_STATE, nothing half-written, and the job carries on once there is room`, () => {
  const storePath = join(volume, 'state.db');
  let journal: Journal = open(storePath);
  let job: Job = journal.findOrCreateJob(JOB);
  job.plan(planned(1, 200));
  job.markInFlight(planned(1, 50).map((item) => item.nid));
  job.batch(() => planned(1, 50).forEach((item) => job.markDone(item.nid, { uidValidity: 1, uid: item.nid })));
  const before = job.totals();
  expect(before).toMatchObject({ done: 50, pending: 150, total: 200 });

  let makeRoom: () => void;
  if (mounted) {
    makeRoom = fillFileSystem(volume);
  } else {
    // No mount permitted: cap the store at its present size (plus a page or two of slack).
    journal.close();
    journal = open(storePath, { maxPageCount: pageCount(storePath) + 2 });
    job = journal.findOrCreateJob(JOB);
    makeRoom = () => undefined;
  }

  // One transaction that needs room: marks and a plan of new mail together.
  const error = expectStateError(
    () =>
      job.batch(() => {
        job.markInFlight(planned(51, 20).map((item) => item.nid));
        job.plan(planned(1000, 2000));
      }),
    'full',
  );
  expect(error.params.path).toBe(storePath);
  expect(error.message).toContain('E_STATE');
  expect(t('E_STATE', error.params)).toContain('the disk is full');
  // {what} is worded in the language of the moment, which the CLI sets before anything runs.
  setLanguage('ja');
  const japanese = expectStateError(() => job.plan(planned(1000, 2000)), 'full');
  expect(t('E_STATE', japanese.params)).toMatch(/^チェックポイント .* を使えません: ディスクがいっぱいです。/);
  setLanguage('en');
  // Nothing of the failed transaction is visible, and the store reads fine while full.
  expect(job.totals()).toEqual(before);
  expect(job.item(51)!.state).toBe('pending');
  expect(job.item(1000)).toBeNull();
  expect(journal.integrityCheck()).toEqual(['ok']);

  makeRoom();
  if (!mounted) {
    journal.close();
    journal = open(storePath);
    job = journal.findOrCreateJob(JOB);
  }
  expect(job.plan(planned(1000, 2000)).added).toBe(2000);
  const next = job.pending(20);
  expect(next.map((item) => item.nid)).toEqual(planned(51, 20).map((item) => item.nid));
  job.markInFlight(next.map((item) => item.nid));
  job.batch(() => next.forEach((item) => job.markDone(item.nid, { uidValidity: 1, uid: item.nid })));
  journal.close();

  const reopened = open(storePath);
  try {
    expect(reopened.integrityCheck()).toEqual(['ok']);
    expect(reopened.lastJob()!.totals()).toMatchObject({ done: 70, pending: 2130, in_flight: 0, total: 2200 });
  } finally {
    reopened.close();
  }
});

test('SQLITE_FULL from max_page_count is E_STATE too, and a single mark that does not fit leaves the item as it was', () => {
  const storePath = join(dir, 'capped.db');
  let journal = open(storePath);
  journal.findOrCreateJob(JOB).plan(planned(1, 100));
  journal.close();
  journal = open(storePath, { maxPageCount: pageCount(storePath) });
  try {
    const job = journal.findOrCreateJob(JOB);
    expectStateError(() => job.plan(planned(500, 2000)), 'full');
    expect(job.totals()).toMatchObject({ pending: 100, total: 100 });
  } finally {
    journal.close();
  }
});

(canMakeReadOnly ? test : test.skip)('a read-only store is E_STATE readonly, whether it exists or is to be created', () => {
  const storePath = join(volume, 'state.db');
  open(storePath).close();
  if (mounted) {
    execFileSync('mount', ['-o', 'remount,ro', volume]);
  } else {
    chmodSync(storePath, 0o400);
    chmodSync(volume, 0o500);
  }
  try {
    const error = expectStateError(() => open(storePath), 'readonly');
    expect(t('E_STATE', error.params, 'en')).toContain('read-only');
    expectStateError(() => open(join(volume, 'new.db')), 'readonly');
  } finally {
    if (mounted) execFileSync('mount', ['-o', 'remount,rw', volume]);
    else chmodSync(volume, 0o700);
  }
});
