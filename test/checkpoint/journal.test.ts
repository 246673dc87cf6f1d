import Database from 'better-sqlite3';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pst2ImapError } from '../../src/errors.js';
import { setLanguage, t } from '../../src/i18n/index.js';
import { asStateError } from '../../src/checkpoint/state-error.js';
import {
  defaultStatePath,
  jobLockPath,
  JournalTransitionError,
  openJournal,
  type Job,
  type JobSpec,
  type Journal,
  type PlannedItem,
} from '../../src/checkpoint/index.js';

let dir: string;
let journal: Journal | null;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'pst2imap-journal-'));
  journal = null;
});
afterEach(() => {
  journal?.close();
  rmSync(dir, { recursive: true, force: true });
});

const spec = (overrides: Partial<JobSpec> = {}): JobSpec => ({
  fingerprint: '0123456789abcdef',
  pstPath: '/mail/archive.pst',
  target: { url: 'imaps://outlook.office365.com:993', user: 'taro@example.com' },
  options: { folders: ['Inbox/**'], targetRoot: '' },
  ...overrides,
});

const items = (from: number, to: number, folder = 'Inbox', mailbox = 'INBOX'): PlannedItem[] =>
  Array.from({ length: to - from + 1 }, (_, index) => ({
    nid: from + index,
    folderPath: [folder],
    targetMailbox: mailbox,
    size: 100 * (from + index),
  }));

function open(path = join(dir, 'state.db')): Journal {
  journal = openJournal(path);
  return journal;
}

function stateError(work: () => unknown): Pst2ImapError {
  try {
    work();
  } catch (error) {
    expect(error).toBeInstanceOf(Pst2ImapError);
    expect((error as Pst2ImapError).code).toBe('E_STATE');
    return error as Pst2ImapError;
  }
  throw new Error('expected E_STATE, nothing was thrown');
}

describe('item states', () => {
  let job: Job;
  beforeEach(() => {
    job = open().findOrCreateJob(spec());
    job.plan(items(1, 10));
  });

  test('pending -> in_flight -> done keeps what the server said', () => {
    job.markInFlight([{ nid: 1, messageId: '<a@b>', contentHash: 'ab'.repeat(32), size: 1234 }]);
    expect(job.item(1)).toMatchObject({ state: 'in_flight', attempts: 1, messageId: '<a@b>', appendedSize: 1234 });
    expect(job.item(1)!.inFlightAt).toBeInstanceOf(Date);
    job.markDone(1, { uidValidity: 7, uid: 42 });
    expect(job.item(1)).toMatchObject({
      state: 'done',
      uidValidity: 7,
      uid: 42,
      messageId: '<a@b>',
      contentHash: 'ab'.repeat(32),
      size: 100,
    });
    expect(job.item(1)!.doneAt).toBeInstanceOf(Date);
  });

  test('done is only reachable from in_flight: the order in flight, send, done is enforced', () => {
    expect(() => job.markDone(2, { uidValidity: 7, uid: 1 })).toThrow(JournalTransitionError);
    expect(job.item(2)!.state).toBe('pending');
  });

  test('marking done twice with the same UID is a no-op, with another UID a bug', () => {
    job.markInFlight([3]);
    job.markDone(3, { uidValidity: 7, uid: 5 });
    job.markDone(3, { uidValidity: 7, uid: 5 });
    expect(() => job.markDone(3, { uidValidity: 7, uid: 6 })).toThrow(JournalTransitionError);
    expect(job.item(3)!.uid).toBe(5);
  });

  test('uid without uidValidity is refused (they come together in APPENDUID)', () => {
    job.markInFlight([4]);
    expect(() => job.markDone(4, { uid: 9 })).toThrow(TypeError);
    job.markDone(4, {});
    expect(job.item(4)).toMatchObject({ state: 'done', uid: null, uidValidity: null });
  });

  test('markInFlight refuses items not pending, and then changes nothing', () => {
    job.markInFlight([5]);
    expect(() => job.markInFlight([6, 5])).toThrow(JournalTransitionError);
    // One transaction: item 6 was not left in flight by the refused call.
    expect(job.item(6)!.state).toBe('pending');
    expect(() => job.markInFlight([999])).toThrow(/not in job/);
  });

  test('a refused send goes back to pending, an unanswered one stays in flight', () => {
    job.markInFlight([1, 2]);
    job.recordAttempt(1, new Error('NO [OVERQUOTA] Mailbox is full'));
    job.recordAttempt(2, 'connection reset', 'unknown');
    expect(job.item(1)).toMatchObject({ state: 'pending', attempts: 1, lastError: 'NO [OVERQUOTA] Mailbox is full' });
    expect(job.item(2)).toMatchObject({ state: 'in_flight', lastError: 'connection reset' });
    expect(job.inFlight().map((item) => item.nid)).toEqual([2]);
    job.requeue([2]);
    job.markInFlight([1, 2]);
    expect(job.item(1)!.attempts).toBe(2);
    expect(job.item(2)!.attempts).toBe(2);
  });

  test('failed and skipped, and retry() for the next run', () => {
    job.markInFlight([1]);
    job.markFailed(1, new Pst2ImapError('E_TARGET', { server: 'x', what: 'refused' }, { detail: 'NO too big' }));
    job.markSkipped(2, 'not mail (IPM.Contact)');
    job.markFailed(3, 'cannot rebuild');
    expect(job.item(1)).toMatchObject({ state: 'failed', lastError: 'E_TARGET: NO too big' });
    expect(job.item(2)).toMatchObject({ state: 'skipped', skipReason: 'not mail (IPM.Contact)' });
    expect(() => job.recordAttempt(3, 'x')).toThrow(JournalTransitionError);
    expect(job.retry()).toBe(2);
    expect(job.item(1)!.state).toBe('pending');
    expect(job.item(2)!.state).toBe('skipped');
    expect(job.retry(['skipped'])).toBe(1);
    expect(job.item(2)).toMatchObject({ state: 'pending', skipReason: null });
  });

  test('retry() can leave skipped items of one reason as they are', () => {
    job.markSkipped(1, 'already on the server');
    job.markSkipped(2, 'too large');
    job.markFailed(3, 'refused');
    expect(job.retry(['failed', 'skipped'], { keepSkippedBecause: 'already on the server' })).toBe(2);
    expect(job.item(1)).toMatchObject({ state: 'skipped', skipReason: 'already on the server' });
    expect(job.item(2)!.state).toBe('pending');
    expect(job.item(3)!.state).toBe('pending');
  });

  test('batch() commits several marks together, or none of them', () => {
    job.markInFlight([1, 2, 3]);
    job.batch(() => {
      job.markDone(1, { uidValidity: 1, uid: 1 });
      job.markDone(2, { uidValidity: 1, uid: 2 });
    });
    expect(() =>
      job.batch(() => {
        job.markDone(3, { uidValidity: 1, uid: 3 });
        job.markDone(4, { uidValidity: 1, uid: 4 }); // not in flight: the whole batch is undone
      }),
    ).toThrow(JournalTransitionError);
    expect(job.item(3)!.state).toBe('in_flight');
    expect(job.totals()).toMatchObject({ done: 2, in_flight: 1, pending: 7, total: 10 });
  });

  test('batch() refuses an async function: nothing may be sent inside a transaction', () => {
    expect(() => job.batch((async () => undefined) as unknown as () => void)).toThrow(/synchronous/);
  });

  test('pending() gives plan order and leaves out what another connection took', () => {
    expect(job.pending(3).map((item) => item.nid)).toEqual([1, 2, 3]);
    expect(job.pending(3, { exclude: [1, 2, 3] }).map((item) => item.nid)).toEqual([4, 5, 6]);
    job.markInFlight([4]);
    expect(job.pending(3, { exclude: [1] }).map((item) => item.nid)).toEqual([2, 3, 5]);
  });

  test('errors are kept without credentials', () => {
    job.markInFlight([1, 2, 3]);
    job.recordAttempt(1, 'BAD command: a1 LOGIN "taro@example.com" "s3cret pass"');
    job.recordAttempt(2, 'a2 AUTHENTICATE XOAUTH2 dXNlcj10YXJvAWF1dGg9QmVhcmVyIHRva2VuAQE=');
    job.recordAttempt(3, 'token refresh failed: access_token=EwBwA8l6BAAU refresh_token=M.C105_BAY');
    const errors = [1, 2, 3].map((nid) => job.item(nid)!.lastError!);
    expect(errors[0]).toBe('BAD command: a1 LOGIN "taro@example.com" [redacted]');
    expect(errors[1]).toBe('a2 AUTHENTICATE XOAUTH2 [redacted]');
    expect(errors.join(' ')).not.toMatch(/s3cret|dXNlcj10|EwBwA8l6|M\.C105/);
  });
});

describe('plan()', () => {
  test('is idempotent: known items keep their state, new ones become pending', () => {
    const job = open().findOrCreateJob(spec());
    expect(job.plan(items(1, 5))).toEqual({ added: 5, retargeted: 0, unchanged: 0 });
    job.markInFlight([1, 2]);
    job.markDone(1, { uidValidity: 3, uid: 10 });
    job.markSkipped(3, 'too big');
    expect(job.plan(items(1, 5))).toEqual({ added: 0, retargeted: 0, unchanged: 5 });
    expect(job.plan(items(1, 8))).toEqual({ added: 3, retargeted: 0, unchanged: 5 });
    expect([...job.items()].map((item) => `${item.nid}:${item.state}`)).toEqual([
      '1:done',
      '2:in_flight',
      '3:skipped',
      '4:pending',
      '5:pending',
      '6:pending',
      '7:pending',
      '8:pending',
    ]);
  });

  test('a new mapping moves pending items only; sent or in-flight items stay where they went', () => {
    const job = open().findOrCreateJob(spec());
    job.plan(items(1, 3, 'Old', 'INBOX'));
    job.markInFlight([1, 2]);
    job.markDone(1, { uidValidity: 1, uid: 1 });
    expect(job.plan(items(1, 3, 'Old', 'Archive/2019'))).toEqual({ added: 0, retargeted: 1, unchanged: 2 });
    expect([1, 2, 3].map((nid) => job.item(nid)!.targetMailbox)).toEqual(['INBOX', 'INBOX', 'Archive/2019']);
  });

  test('a large plan is committed in chunks and read back a page at a time', () => {
    const job = open().findOrCreateJob(spec());
    const many = Array.from({ length: 12_345 }, (_, index) => ({
      nid: 1_000_000 + index,
      folderPath: ['Inbox', `F${index % 7}`],
      targetMailbox: `F${index % 7}`,
      size: index,
    }));
    expect(job.plan(many).added).toBe(12_345);
    let seen = 0;
    let previous = 0;
    for (const item of job.items()) {
      expect(item.nid).toBeGreaterThan(previous);
      previous = item.nid;
      seen += 1;
    }
    expect(seen).toBe(12_345);
    const counts = job.counts();
    expect(counts.map((folder) => folder.folderPath.join('/'))).toEqual(
      ['F0', 'F1', 'F2', 'F3', 'F4', 'F5', 'F6'].map((name) => `Inbox/${name}`),
    );
    expect(counts.reduce((sum, folder) => sum + folder.pending, 0)).toBe(12_345);
    expect([...job.items({ folderPath: ['Inbox', 'F3'] })]).toHaveLength(counts[3]!.total);
  });
});

describe('jobs', () => {
  test('the same PST and target is the same job, whatever the path or URL spelling', () => {
    const store = open();
    const first = store.findOrCreateJob(spec());
    first.plan(items(1, 2));
    first.close();
    const again = store.findOrCreateJob(
      spec({
        pstPath: '/moved/copy-of-archive.pst',
        target: { url: 'imaps://OUTLOOK.office365.com:993/', user: 'taro@EXAMPLE.com' },
      }),
    );
    expect(again.id).toBe(first.id);
    expect(again.info().pstPath).toBe('/moved/copy-of-archive.pst');
    expect(again.totals().total).toBe(2);
    const otherAccount = store.findOrCreateJob(spec({ target: { url: 'imaps://outlook.office365.com:993', user: 'hanako@example.com' } }));
    const otherPst = store.findOrCreateJob(spec({ fingerprint: 'fedcba9876543210' }));
    expect(new Set([first.id, otherAccount.id, otherPst.id]).size).toBe(3);
    expect(store.jobs()).toHaveLength(3);
  });

  test('a Maildir target is the same job from any working directory', () => {
    const store = open();
    const relative = store.findOrCreateJob(spec({ target: { url: 'maildir:out/mail', user: '' } }));
    expect(relative.info().target).toEqual({ url: `maildir:${join(process.cwd(), 'out', 'mail')}`, user: '' });
    relative.close();
    const absolute = store.findOrCreateJob(spec({ target: { url: `maildir:${join(process.cwd(), 'out/mail')}`, user: '' } }));
    expect(absolute.id).toBe(relative.id);
  });

  test('resume after close and reopen: everything is where it was, the job is interrupted', () => {
    const path = join(dir, 'state.db');
    const store = open(path);
    const job = store.findOrCreateJob(spec());
    job.plan(items(1, 6));
    job.markInFlight([1, 2, 3]);
    job.markDone(1, { uidValidity: 9, uid: 100 });
    job.markFailed(2, 'NO [TOOBIG]');
    store.close();
    journal = null;

    const reopened = open(path);
    const last = reopened.lastJob()!;
    expect(last.id).toBe(job.id);
    expect(last.status).toBe('interrupted');
    expect(last.totals()).toEqual({ pending: 3, in_flight: 1, done: 1, skipped: 0, failed: 1, total: 6 });
    const resumed = reopened.findOrCreateJob(spec());
    expect(resumed.status).toBe('running');
    expect(resumed.inFlight().map((item) => item.nid)).toEqual([3]);
    expect(resumed.item(1)).toMatchObject({ uidValidity: 9, uid: 100 });
  });

  test('a finished job run again is reused, and only new mail is pending', () => {
    const path = join(dir, 'state.db');
    const store = open(path);
    const job = store.findOrCreateJob(spec());
    job.plan(items(1, 3));
    job.markInFlight([1, 2, 3]);
    job.batch(() => [1, 2, 3].forEach((nid) => job.markDone(nid, { uidValidity: 1, uid: nid })));
    job.finish();
    store.close();
    journal = null;

    const again = open(path);
    expect(again.lastJob()!.status).toBe('finished');
    const rerun = again.findOrCreateJob(spec());
    expect(rerun.id).toBe(job.id);
    expect(rerun.plan(items(1, 5))).toEqual({ added: 2, retargeted: 0, unchanged: 3 });
    expect(rerun.pending(10).map((item) => item.nid)).toEqual([4, 5]);
  });

  test('a second claim of the same job in one process returns the same handle; after close it may be claimed', () => {
    const store = open();
    const job = store.findOrCreateJob(spec());
    expect(store.findOrCreateJob(spec())).toBe(job);
    job.close();
    expect(() => job.markInFlight([1])).toThrow(/released/);
    expect(store.openJob(job.id).status).toBe('running');
  });

  test('a second journal on the same store is refused the job while the first holds it', () => {
    const path = join(dir, 'state.db');
    const first = open(path);
    const job = first.findOrCreateJob(spec());
    const second = openJournal(path);
    try {
      const error = stateError(() => second.findOrCreateJob(spec()));
      expect(error.params).toMatchObject({ reason: 'jobLocked', pid: process.pid, path });
      expect(second.job(job.id)!.status).toBe('running');
      job.close();
      expect(second.findOrCreateJob(spec()).id).toBe(job.id);
    } finally {
      second.close();
    }
  });
});

describe('what is stored', () => {
  test('no credential-looking column and no message content column exists', () => {
    const path = join(dir, 'state.db');
    open(path).close();
    journal = null;
    const raw = new Database(path, { readonly: true });
    try {
      const tables = raw.prepare(`SELECT name FROM sqlite_master WHERE type = 'table'`).pluck().all() as string[];
      expect(tables.sort()).toEqual(['items', 'jobs', 'schema_version']);
      const columns = tables.flatMap(
        (table) => raw.prepare(`SELECT name FROM pragma_table_info(?)`).pluck().all(table) as string[],
      );
      expect(columns).toContain('target_user');
      for (const column of columns) {
        expect(column).not.toMatch(/pass|secret|token|credential|cookie|auth|subject|body|content$|header/i);
      }
    } finally {
      raw.close();
    }
  });

  test('a password or token handed in by mistake never reaches the file', () => {
    const path = join(dir, 'state.db');
    const store = open(path);
    const job = store.findOrCreateJob(
      spec({
        target: { url: 'imaps://taro:Hunter2Secret@imap.example.com:993/?auth=Hunter2Secret', user: '' },
        options: { password: 'Hunter2Secret', nested: { accessToken: 'Hunter2Secret', keep: 'yes' }, since: new Date(0) },
      }),
    );
    expect(job.info().target).toEqual({ url: 'imaps://imap.example.com:993', user: 'taro' });
    expect(job.info().options).toEqual({ nested: { keep: 'yes' }, since: '1970-01-01T00:00:00.000Z' });
    job.plan(items(1, 1));
    job.markInFlight([1]);
    job.recordAttempt(1, 'a1 LOGIN taro Hunter2Secret');
    // Read the bytes of the store and its write-ahead log while they are still open.
    const bytes = Buffer.concat([readFileSync(path), existsSync(`${path}-wal`) ? readFileSync(`${path}-wal`) : Buffer.alloc(0)]);
    expect(bytes.includes('taro')).toBe(true);
    expect(bytes.includes('Hunter2Secret')).toBe(false);
  });

  test('the store is owner-only: folder 0700, file, log and lock 0600', () => {
    const path = join(dir, 'fresh', 'nested', 'state.db');
    const store = open(path);
    const job = store.findOrCreateJob(spec());
    job.plan(items(1, 3));
    expect(statSync(join(dir, 'fresh', 'nested')).mode & 0o777).toBe(0o700);
    for (const file of [path, `${path}-wal`, `${path}-shm`, jobLockPath(path, job.id)]) {
      expect({ file, mode: statSync(file).mode & 0o777 }).toEqual({ file, mode: 0o600 });
    }
  });

  test('an existing store readable by others is made owner-only when opened', () => {
    const path = join(dir, 'state.db');
    open(path).close();
    journal = null;
    chmodSync(path, 0o644);
    open(path);
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  test('the default location is the XDG state directory, or LOCALAPPDATA on Windows', () => {
    expect(defaultStatePath({ XDG_STATE_HOME: '/x/state', HOME: '/home/u' }, 'linux')).toBe('/x/state/pst2imap/state.db');
    expect(defaultStatePath({ HOME: '/home/u' }, 'linux')).toBe('/home/u/.local/state/pst2imap/state.db');
    expect(defaultStatePath({ XDG_STATE_HOME: 'relative', HOME: '/Users/u' }, 'darwin')).toBe(
      '/Users/u/.local/state/pst2imap/state.db',
    );
    expect(defaultStatePath({ LOCALAPPDATA: 'C:\\Users\\u\\AppData\\Local' }, 'win32')).toMatch(
      /^C:\\Users\\u\\AppData\\Local[\\/]pst2imap[\\/]state\.db$/,
    );
  });

  test('openJournal() without a path uses the state directory and makes it 0700', () => {
    const saved = process.env.XDG_STATE_HOME;
    process.env.XDG_STATE_HOME = join(dir, 'xdg-state');
    try {
      const store = openJournal();
      journal = store;
      expect(store.path).toBe(join(dir, 'xdg-state', 'pst2imap', 'state.db'));
      expect(statSync(join(dir, 'xdg-state', 'pst2imap')).mode & 0o777).toBe(0o700);
    } finally {
      if (saved === undefined) delete process.env.XDG_STATE_HOME;
      else process.env.XDG_STATE_HOME = saved;
    }
  });
});

describe('stores that cannot be used', () => {
  test('a file that is not SQLite', () => {
    const path = join(dir, 'state.db');
    writeFileSync(path, 'this is not a database, just some text that is long enough to have a header'.repeat(20));
    const error = stateError(() => openJournal(path));
    expect(error.params).toMatchObject({ path, reason: 'corrupt' });
    expect(error.exitCode).toBe(7);
  });

  test("another program's SQLite database is left alone", () => {
    const path = join(dir, 'other.db');
    const other = new Database(path);
    other.exec('CREATE TABLE notes (text TEXT)');
    other.close();
    expect(stateError(() => openJournal(path)).params.reason).toBe('corrupt');
    const check = new Database(path, { readonly: true });
    expect(check.prepare(`SELECT name FROM sqlite_master`).pluck().all()).toEqual(['notes']);
    check.close();
  });

  test('a store written by a newer pst2imap is refused, not downgraded', () => {
    const path = join(dir, 'state.db');
    open(path).close();
    journal = null;
    const raw = new Database(path);
    raw.prepare('UPDATE schema_version SET version = 99').run();
    raw.close();
    expect(stateError(() => openJournal(path)).params).toMatchObject({ reason: 'tooNew', found: 99, known: 1 });
  });

  test('a folder given as the store means state.db inside it', () => {
    expect(open(dir).path).toBe(join(dir, 'state.db'));
  });

  test('a store path under a regular file, or a folder named state.db where the file should be', () => {
    writeFileSync(join(dir, 'plain-file'), 'x');
    expect(stateError(() => openJournal(join(dir, 'plain-file', 'state.db'))).params.reason).toBe('cantOpen');
    mkdirSync(join(dir, 'nested', 'state.db'), { recursive: true });
    expect(stateError(() => openJournal(join(dir, 'nested'))).params.reason).toBe('cantOpen');
  });
});

describe('settings and messages', () => {
  test('WAL, synchronous=FULL, foreign keys on, schema at the latest version', () => {
    const path = join(dir, 'state.db');
    expect(open(path).settings()).toEqual({ journalMode: 'wal', synchronous: 'full', foreignKeys: true, schemaVersion: 1 });
    // WAL is a property of the file, seen by any other connection.
    const raw = new Database(path, { readonly: true });
    expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
    raw.close();
  });

  test.each([
    ['SQLITE_FULL', 'full'],
    ['SQLITE_IOERR_WRITE', 'io'],
    ['SQLITE_IOERR_FSYNC', 'io'],
    ['SQLITE_READONLY', 'readonly'],
    ['SQLITE_READONLY_DBMOVED', 'readonly'],
    ['SQLITE_BUSY', 'busy'],
    ['SQLITE_CORRUPT', 'corrupt'],
    ['SQLITE_NOTADB', 'corrupt'],
    ['SQLITE_CANTOPEN', 'cantOpen'],
  ])('SQLite %s is E_STATE %s, with a text in both languages', (code, reason) => {
    const error = asStateError('/s/state.db', new Database.SqliteError('sqlite says', code), 5000)!;
    expect(error.code).toBe('E_STATE');
    expect(error.params.reason).toBe(reason);
    expect(error.detail).toBe('sqlite says');
    for (const language of ['en', 'ja'] as const) {
      setLanguage(language);
      const text = t('E_STATE', asStateError('/s/state.db', new Database.SqliteError('x', code), 5000)!.params);
      setLanguage('en');
      expect(text).toContain('/s/state.db');
      expect(text).not.toMatch(/\{\w+\}/);
      if (language === 'ja') expect(text).toMatch(/[\u3040-\u30ff]/);
    }
  });

  test('a programming error is not disguised as a store problem', () => {
    expect(asStateError('/s/state.db', new TypeError('bug'), 5000)).toBeNull();
    expect(asStateError('/s/state.db', new Database.SqliteError('no such column', 'SQLITE_ERROR'), 5000)).toBeNull();
  });
});

describe('forgetJob()', () => {
  test('removes the job and its items (foreign keys cascade), and other jobs stay', () => {
    const path = join(dir, 'state.db');
    const store = open(path);
    const forgotten = store.findOrCreateJob(spec());
    forgotten.plan(items(1, 50));
    const kept = store.findOrCreateJob(spec({ fingerprint: 'another' }));
    kept.plan(items(1, 5));
    store.forgetJob(forgotten.id);
    expect(store.jobs().map((job) => job.id)).toEqual([kept.id]);
    expect(kept.totals().total).toBe(5);
    const raw = new Database(path, { readonly: true });
    expect(raw.prepare('SELECT count(*) FROM items WHERE job_id = ?').pluck().get(forgotten.id)).toBe(0);
    raw.close();
    const again = store.findOrCreateJob(spec());
    expect(again.totals().total).toBe(0);
  });

  test('is refused while another journal holds the job', () => {
    const path = join(dir, 'state.db');
    const job = open(path).findOrCreateJob(spec());
    const other = openJournal(path);
    try {
      expect(stateError(() => other.forgetJob(job.id)).params.reason).toBe('jobLocked');
      expect(other.jobs()).toHaveLength(1);
    } finally {
      other.close();
    }
  });
});
