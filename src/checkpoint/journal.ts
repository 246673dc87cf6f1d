/**
 * The checkpoint journal: what has been planned, sent and stored, item by item, in one SQLite file for all
 * jobs. The engine calls it; nothing else touches SQL.
 *
 * Durability: WAL with synchronous=FULL fsyncs the log at every commit, so a committed mark survives a
 * crash or a power loss (https://www.sqlite.org/pragma.html#pragma_synchronous). Each public write is one
 * transaction, and batch() groups several into one, which keeps the fsyncs to one per batch. Writes begin
 * with BEGIN IMMEDIATE, so two processes wait for each other (busy timeout) instead of failing half-way.
 *
 * The order that makes re-running safe: markInFlight() returns only after its commit, and the engine sends
 * the APPEND after that; markDone() follows the server's tagged OK. After a crash, an item is therefore
 * either pending (never sent), in flight (maybe stored: look it up), or done (stored).
 */
import Database from 'better-sqlite3';
import {
  accessSync,
  chmodSync,
  closeSync,
  constants as fsConstants,
  existsSync,
  mkdirSync,
  openSync,
  statSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { Pst2ImapError } from '../errors.js';
import { JobLock, jobLockPath } from './job-lock.js';
import { defaultStatePath, STATE_FILE_NAME } from './paths.js';
import { describeTarget, redactSecrets, withoutSecretFields } from './redact.js';
import { MIGRATIONS, SCHEMA_VERSION, VERSION_TABLE } from './schema.js';
import { asStateError, stateError } from './state-error.js';
import {
  type AttemptOutcome,
  type DoneRecord,
  type FolderCounts,
  type InFlightEntry,
  type ItemFilter,
  type ItemState,
  type JobInfo,
  type JobSpec,
  type JobStatus,
  type JournalItem,
  type PlannedItem,
  type PlanResult,
  type StateCounts,
  type TargetDescription,
} from './types.js';

/** 'PSTI': marks the SQLite file as a pst2imap store (https://www.sqlite.org/pragma.html#pragma_application_id). */
const APPLICATION_ID = 0x50535449;
const DEFAULT_BUSY_TIMEOUT_MS = 5000;
/** plan() commits every so many items: a long plan never holds the write lock for long. */
const PLAN_CHUNK = 5000;
/** items() reads this many rows per query, so a 100k-item job is never in memory at once. */
const ITEMS_PAGE = 500;

export interface OpenJournalOptions {
  /** How long a write waits for another process's write to finish. */
  busyTimeoutMs?: number;
  /** Caps the store at this many pages (PRAGMA max_page_count): writes past it fail as a full disk would. */
  maxPageCount?: number;
}

/** A bug in the caller: a mark that the item's state does not allow (e.g. done before in flight). */
export class JournalTransitionError extends Error {
  constructor(
    readonly jobId: number,
    readonly nid: number,
    readonly from: ItemState | null,
    readonly to: ItemState | 'requeue',
  ) {
    super(
      from === null
        ? `item ${nid} is not in job ${jobId}`
        : `item ${nid} of job ${jobId} is ${from}: it cannot be marked ${to}`,
    );
    this.name = 'JournalTransitionError';
  }
}

interface ItemRow {
  nid: number;
  folder_path: string;
  target_mailbox: string;
  state: ItemState;
  size: number;
  appended_size: number | null;
  content_hash: string | null;
  message_id: string | null;
  uid_validity: number | null;
  uid: number | null;
  attempts: number;
  last_error: string | null;
  skip_reason: string | null;
  created_at: string;
  updated_at: string;
  in_flight_at: string | null;
  done_at: string | null;
  seq: number;
}

interface JobRow {
  id: number;
  pst_fingerprint: string;
  pst_path: string;
  target_url: string;
  target_user: string;
  options_json: string;
  status: JobStatus;
  owner_pid: number | null;
  owner_host: string | null;
  created_at: string;
  updated_at: string;
}

const now = (): string => new Date().toISOString();
const dateOrNull = (text: string | null): Date | null => (text === null ? null : new Date(text));

function toItem(row: ItemRow): JournalItem {
  return {
    nid: row.nid,
    folderPath: JSON.parse(row.folder_path) as string[],
    targetMailbox: row.target_mailbox,
    state: row.state,
    size: row.size,
    appendedSize: row.appended_size,
    contentHash: row.content_hash,
    messageId: row.message_id,
    uidValidity: row.uid_validity,
    uid: row.uid,
    attempts: row.attempts,
    lastError: row.last_error,
    skipReason: row.skip_reason,
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
    inFlightAt: dateOrNull(row.in_flight_at),
    doneAt: dateOrNull(row.done_at),
  };
}

function emptyCounts(): StateCounts {
  return { pending: 0, in_flight: 0, done: 0, skipped: 0, failed: 0, total: 0 };
}

/** The words kept of an error: the server's or library's own (Pst2ImapError.detail first), no secrets. */
function errorText(error: unknown): string {
  if (error instanceof Pst2ImapError) {
    return redactSecrets(`${error.code}${error.detail ? `: ${error.detail}` : ` ${JSON.stringify(error.params)}`}`);
  }
  if (error instanceof Error) return redactSecrets(error.message || error.name);
  return redactSecrets(String(error));
}

/** Account names compare with the domain in any case (RFC 5321 2.4: domains are case-insensitive). */
function normalizeUser(user: string): string {
  const trimmed = user.trim();
  const at = trimmed.lastIndexOf('@');
  return at === -1 ? trimmed : trimmed.slice(0, at) + trimmed.slice(at).toLowerCase();
}

/**
 * Opens (creating if needed) the store at `path`, by default state.db in the user's state directory.
 * Throws E_STATE when it cannot be used.
 */
export function openJournal(path?: string, options: OpenJournalOptions = {}): Journal {
  let storePath = resolve(path ?? defaultStatePath());
  // `--state DIR` names a folder: the store is state.db inside it.
  if (existsSync(storePath) && statSync(storePath).isDirectory()) storePath = join(storePath, STATE_FILE_NAME);
  const busyTimeoutMs = options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS;
  let db: Database.Database | null = null;
  try {
    preparePrivateFile(storePath, path === undefined);
    db = new Database(storePath, { timeout: busyTimeoutMs });
    configure(db, storePath, options);
    migrate(db, storePath);
    // SQLite creates -wal and -shm with the store's own mode; made sure here all the same.
    for (const suffix of ['-wal', '-shm']) {
      if (existsSync(storePath + suffix)) chmodSync(storePath + suffix, 0o600);
    }
    return new Journal(storePath, db, busyTimeoutMs);
  } catch (error) {
    db?.close();
    throw asStateError(storePath, error, busyTimeoutMs) ?? error;
  }
}

/**
 * The folder is made owner-only (0700) when pst2imap creates it, or when it is the default state folder;
 * a folder the user chose with --state that already exists is left as it is (it may be their home). The
 * file itself is always owner-only (0600): it names the PST, the server and the account.
 */
function preparePrivateFile(storePath: string, isDefaultLocation: boolean): void {
  const dir = dirname(storePath);
  if (!existsSync(dir)) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chmodSync(dir, 0o700);
  } else if (isDefaultLocation) {
    chmodSync(dir, 0o700);
  }
  if (existsSync(storePath) && statSync(storePath).isDirectory()) {
    throw Object.assign(new Error(`${storePath} is a directory`), { code: 'EISDIR' });
  }
  if (!statSync(dir).isDirectory()) throw Object.assign(new Error(`${dir} is not a directory`), { code: 'ENOTDIR' });
  // SQLite writes -wal and -shm files beside the store: the folder must be writable, not only the file.
  // access() reports a read-only file system (EROFS) even to root, which permission bits do not stop.
  accessSync(dir, fsConstants.W_OK);
  if (!existsSync(storePath)) {
    try {
      // Created here, owner-only from the start, before SQLite opens it. Only when it did not exist: a
      // descriptor opened and closed on a file this process has open in SQLite would drop its POSIX locks.
      closeSync(openSync(storePath, 'wx', 0o600));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  } else {
    accessSync(storePath, fsConstants.R_OK | fsConstants.W_OK);
  }
  if ((statSync(storePath).mode & 0o077) !== 0) chmodSync(storePath, 0o600);
}

function configure(db: Database.Database, storePath: string, options: OpenJournalOptions): void {
  const applicationId = db.pragma('application_id', { simple: true }) as number;
  if (applicationId !== 0 && applicationId !== APPLICATION_ID) {
    throw stateError(storePath, 'corrupt', {}, { detail: `application_id ${applicationId}` });
  }
  // WAL: readers (status, reports) never block the migrating writer, and a commit is one fsync of the log.
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  if (options.maxPageCount !== undefined) db.pragma(`max_page_count = ${Math.floor(options.maxPageCount)}`);
}

function migrate(db: Database.Database, storePath: string): void {
  // Up to date (the usual case): nothing to write, so opening never waits for another process's write.
  const versioned = db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'`).get();
  if (versioned) {
    const current = db.prepare('SELECT version FROM schema_version').get() as { version: number } | undefined;
    if (current?.version === SCHEMA_VERSION) return;
  }
  db.transaction(() => {
    const hasVersionTable = db
      .prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'`)
      .get();
    if (!hasVersionTable) {
      const otherTables = db.prepare(`SELECT count(*) AS n FROM sqlite_master WHERE type = 'table'`).get() as {
        n: number;
      };
      // Some other program's database: do not add tables to it.
      if (otherTables.n > 0) throw stateError(storePath, 'corrupt', {}, { detail: 'not a pst2imap store' });
      db.exec(VERSION_TABLE);
      db.prepare('INSERT INTO schema_version (version) VALUES (0)').run();
      db.pragma(`application_id = ${APPLICATION_ID}`);
    }
    const found = (db.prepare('SELECT version FROM schema_version').get() as { version: number }).version;
    if (found > SCHEMA_VERSION) throw stateError(storePath, 'tooNew', { found, known: SCHEMA_VERSION });
    for (const migration of MIGRATIONS) {
      if (migration.version <= found) continue;
      db.exec(migration.sql);
      db.prepare('UPDATE schema_version SET version = ?').run(migration.version);
    }
  }).immediate();
}

export class Journal {
  private readonly statements = new Map<string, Database.Statement>();
  private readonly claimed = new Map<number, Job>();
  private closed = false;

  /** Use openJournal(). */
  constructor(
    readonly path: string,
    private readonly db: Database.Database,
    private readonly busyTimeoutMs: number,
  ) {}

  /** @internal A cached prepared statement. */
  statement(sql: string): Database.Statement {
    let prepared = this.statements.get(sql);
    if (!prepared) {
      prepared = this.db.prepare(sql);
      this.statements.set(sql, prepared);
    }
    return prepared;
  }

  /** @internal Runs `work`, turning store problems into E_STATE. */
  guard<T>(work: () => T): T {
    if (this.closed) throw new Error(`the journal ${this.path} is closed`);
    try {
      return work();
    } catch (error) {
      throw asStateError(this.path, error, this.busyTimeoutMs) ?? error;
    }
  }

  /** @internal Runs `work` in one write transaction (a savepoint when inside batch()). */
  write<T>(work: () => T): T {
    return this.guard(() => this.db.transaction(work).immediate());
  }

  /**
   * Runs `work` (several marks) in ONE transaction: all of them are stored, or, if anything throws, none.
   * `work` must be synchronous: nothing is sent to a server inside a batch, because nothing in it is
   * committed before it returns.
   */
  batch<T>(work: () => T): T {
    return this.write(() => {
      const result = work();
      if (result && typeof (result as { then?: unknown }).then === 'function') {
        throw new TypeError('batch() takes a synchronous function: send nothing inside a batch');
      }
      return result;
    });
  }

  /**
   * The job for this PST (by fingerprint) and this target, created if new, and claimed for this process:
   * running migrate again on the same PST and account resumes the same job. Throws E_STATE (jobLocked)
   * when another process is working on it.
   */
  findOrCreateJob(spec: JobSpec): Job {
    const target = describeTarget(spec.target.url, spec.target.user);
    target.user = normalizeUser(target.user);
    const optionsJson = JSON.stringify(withoutSecretFields(spec.options) ?? {});
    const id = this.write(() => {
      const existing = this.statement(
        'SELECT id FROM jobs WHERE pst_fingerprint = ? AND target_url = ? AND target_user = ?',
      ).get(spec.fingerprint, target.url, target.user) as { id: number } | undefined;
      if (existing) return existing.id;
      const time = now();
      return Number(
        this.statement(
          `INSERT INTO jobs (pst_fingerprint, pst_path, target_url, target_user, options_json, status,
                             created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, 'interrupted', ?, ?)`,
        ).run(spec.fingerprint, resolve(spec.pstPath), target.url, target.user, optionsJson, time, time)
          .lastInsertRowid,
      );
    });
    return this.claim(id, { pstPath: resolve(spec.pstPath), optionsJson });
  }

  /** Claims an existing job by id (for `resume`): E_STATE jobLocked when another process has it. */
  openJob(id: number): Job {
    if (!this.guard(() => this.statement('SELECT 1 FROM jobs WHERE id = ?').get(id))) {
      throw new Error(`no job ${id} in ${this.path}`);
    }
    return this.claim(id, null);
  }

  private claim(id: number, update: { pstPath: string; optionsJson: string } | null): Job {
    const already = this.claimed.get(id);
    if (already) return already;
    const lock = this.guard(() => JobLock.tryAcquire(jobLockPath(this.path, id)));
    if (!lock) {
      const owner = this.guard(
        () => this.statement('SELECT owner_pid, owner_host FROM jobs WHERE id = ?').get(id) as
          | { owner_pid: number | null; owner_host: string | null }
          | undefined,
      );
      throw stateError(this.path, 'jobLocked', {
        pid: owner?.owner_pid ?? '?',
        host: owner?.owner_host ?? '?',
        job: id,
      });
    }
    try {
      this.write(() => {
        if (update) {
          this.statement('UPDATE jobs SET pst_path = ?, options_json = ? WHERE id = ?').run(
            update.pstPath,
            update.optionsJson,
            id,
          );
        }
        this.statement(
          `UPDATE jobs SET status = 'running', owner_pid = ?, owner_host = ?, updated_at = ? WHERE id = ?`,
        ).run(process.pid, hostname(), now(), id);
      });
    } catch (error) {
      lock.release();
      throw error;
    }
    const job = new Job(this, id, lock, () => this.claimed.delete(id));
    this.claimed.set(id, job);
    return job;
  }

  /** A read-only view of a job, or null. */
  job(id: number): JobView | null {
    const row = this.guard(() => this.statement('SELECT id FROM jobs WHERE id = ?').get(id));
    return row ? (this.claimed.get(id) ?? new JobView(this, id)) : null;
  }

  /** The job used most recently (what `resume` and `report` take by default), or null. */
  lastJob(): JobView | null {
    const row = this.guard(
      () => this.statement('SELECT id FROM jobs ORDER BY updated_at DESC, id DESC LIMIT 1').get() as
        | { id: number }
        | undefined,
    );
    return row ? this.job(row.id) : null;
  }

  /** Every job, most recently used first. */
  jobs(): JobInfo[] {
    const rows = this.guard(
      () => this.statement('SELECT * FROM jobs ORDER BY updated_at DESC, id DESC').all() as JobRow[],
    );
    return rows.map((row) => this.toJobInfo(row));
  }

  /** @internal */
  jobInfo(id: number): JobInfo {
    const row = this.guard(() => this.statement('SELECT * FROM jobs WHERE id = ?').get(id) as JobRow | undefined);
    if (!row) throw new Error(`no job ${id} in ${this.path}`);
    return this.toJobInfo(row);
  }

  private toJobInfo(row: JobRow): JobInfo {
    let status = row.status;
    // 'running' is what a process wrote when it claimed the job; if no process holds the job's lock any
    // more, that process died (kill -9, power loss) and the job is in fact interrupted.
    if (status === 'running' && !this.claimed.has(row.id)) {
      const lockPath = jobLockPath(this.path, row.id);
      if (!existsSync(lockPath) || JobLock.isHeld(lockPath) === false) status = 'interrupted';
    }
    return {
      id: row.id,
      fingerprint: row.pst_fingerprint,
      pstPath: row.pst_path,
      target: { url: row.target_url, user: row.target_user } satisfies TargetDescription,
      options: JSON.parse(row.options_json) as Record<string, unknown>,
      status,
      owner: row.owner_pid === null ? null : { pid: row.owner_pid, host: row.owner_host ?? '' },
      createdAt: new Date(row.created_at),
      updatedAt: new Date(row.updated_at),
    };
  }

  /**
   * Removes a job and all its items (for `jobs --forget`): afterwards a migrate of the same PST to the same
   * account starts from nothing and would send everything again. Refused (E_STATE jobLocked) while
   * another process works on the job.
   */
  forgetJob(id: number): void {
    const job = this.claimed.get(id) ?? this.openJob(id);
    job.close();
    const lock = this.guard(() => JobLock.tryAcquire(jobLockPath(this.path, id)));
    if (!lock) throw stateError(this.path, 'jobLocked', { pid: '?', host: '?', job: id });
    try {
      // Items go with their job: ON DELETE CASCADE, enforced because foreign_keys is on.
      this.write(() => this.statement('DELETE FROM jobs WHERE id = ?').run(id));
    } finally {
      lock.release();
    }
  }

  /** The settings the store runs with (for `doctor`, and checked by the tests). */
  settings(): { journalMode: string; synchronous: 'off' | 'normal' | 'full' | 'extra'; foreignKeys: boolean; schemaVersion: number } {
    return this.guard(() => ({
      journalMode: String(this.db.pragma('journal_mode', { simple: true })),
      synchronous: (['off', 'normal', 'full', 'extra'] as const)[this.db.pragma('synchronous', { simple: true }) as number]!,
      foreignKeys: this.db.pragma('foreign_keys', { simple: true }) === 1,
      schemaVersion: (this.statement('SELECT version FROM schema_version').get() as { version: number }).version,
    }));
  }

  /** SQLite's own check of the file ('ok' when sound): for `doctor` and for tests after a crash. */
  integrityCheck(): string[] {
    return this.guard(() =>
      (this.db.pragma('integrity_check') as Array<{ integrity_check: string }>).map((row) => row.integrity_check),
    );
  }

  /** Releases every claimed job (those not finished become interrupted) and closes the store. */
  close(): void {
    if (this.closed) return;
    try {
      for (const job of [...this.claimed.values()]) job.close();
    } finally {
      this.closed = true;
      this.statements.clear();
      this.db.close();
    }
  }
}

/** Reading a job: what reports, `status` and the engine's planning need. */
export class JobView {
  constructor(
    protected readonly journal: Journal,
    readonly id: number,
  ) {}

  info(): JobInfo {
    return this.journal.jobInfo(this.id);
  }

  get status(): JobStatus {
    return this.info().status;
  }

  item(nid: number): JournalItem | null {
    const row = this.journal.guard(
      () => this.journal.statement('SELECT * FROM items WHERE job_id = ? AND nid = ?').get(this.id, nid) as
        | ItemRow
        | undefined,
    );
    return row ? toItem(row) : null;
  }

  /**
   * Up to `limit` pending items in plan order. `exclude`: nids the engine has already taken for another
   * connection but not yet marked in flight (they are still pending until then).
   */
  pending(limit: number, options: { exclude?: Iterable<number> } = {}): JournalItem[] {
    const exclude = [...(options.exclude ?? [])];
    return this.journal.guard(() => {
      const rows =
        exclude.length === 0
          ? this.journal
              .statement(`SELECT * FROM items WHERE job_id = ? AND state = 'pending' ORDER BY seq LIMIT ?`)
              .all(this.id, limit)
          : this.journal
              .statement(
                `SELECT * FROM items WHERE job_id = ? AND state = 'pending'
                   AND nid NOT IN (SELECT value FROM json_each(?)) ORDER BY seq LIMIT ?`,
              )
              .all(this.id, JSON.stringify(exclude), limit);
      return (rows as ItemRow[]).map(toItem);
    });
  }

  /** Items left in flight (by a crash or a dropped connection): the server may have them. Look them up
   * (messageId) before sending again; then markDone() or requeue(). */
  inFlight(): JournalItem[] {
    return this.journal.guard(() =>
      (
        this.journal
          .statement(`SELECT * FROM items WHERE job_id = ? AND state = 'in_flight' ORDER BY seq`)
          .all(this.id) as ItemRow[]
      ).map(toItem),
    );
  }

  /** Every item (or those of a state or folder) in plan order, read a page at a time. */
  *items(filter: ItemFilter = {}): Generator<JournalItem> {
    const states = filter.state === undefined ? null : Array.isArray(filter.state) ? filter.state : [filter.state];
    const folder = filter.folderPath === undefined ? null : JSON.stringify(filter.folderPath);
    const sql = `SELECT * FROM items WHERE job_id = ? AND seq > ?
      ${states ? 'AND state IN (SELECT value FROM json_each(?))' : ''}
      ${folder !== null ? 'AND folder_path = ?' : ''}
      ORDER BY seq LIMIT ${ITEMS_PAGE}`;
    let after = 0;
    for (;;) {
      const parameters: unknown[] = [this.id, after];
      if (states) parameters.push(JSON.stringify(states));
      if (folder !== null) parameters.push(folder);
      const rows = this.journal.guard(() => this.journal.statement(sql).all(...parameters) as ItemRow[]);
      for (const row of rows) yield toItem(row);
      if (rows.length < ITEMS_PAGE) return;
      after = rows[rows.length - 1]!.seq;
    }
  }

  /** How many items are in each state, folder by folder (in plan order). */
  counts(): FolderCounts[] {
    const rows = this.journal.guard(
      () =>
        this.journal
          .statement(
            `SELECT folder_path, target_mailbox, state, count(*) AS n, min(seq) AS first
               FROM items WHERE job_id = ? GROUP BY folder_path, target_mailbox, state`,
          )
          .all(this.id) as Array<{ folder_path: string; target_mailbox: string; state: ItemState; n: number; first: number }>,
    );
    const folders = new Map<string, FolderCounts & { first: number }>();
    for (const row of rows) {
      const key = `${row.folder_path}\u0000${row.target_mailbox}`;
      let entry = folders.get(key);
      if (!entry) {
        entry = {
          folderPath: JSON.parse(row.folder_path) as string[],
          targetMailbox: row.target_mailbox,
          ...emptyCounts(),
          first: row.first,
        };
        folders.set(key, entry);
      }
      entry[row.state] += row.n;
      entry.total += row.n;
      entry.first = Math.min(entry.first, row.first);
    }
    return [...folders.values()]
      .sort((a, b) => a.first - b.first)
      .map(({ first: _first, ...counts }) => counts);
  }

  /** How many items are in each state, in the whole job. */
  totals(): StateCounts {
    const rows = this.journal.guard(
      () =>
        this.journal
          .statement('SELECT state, count(*) AS n FROM items WHERE job_id = ? GROUP BY state')
          .all(this.id) as Array<{ state: ItemState; n: number }>,
    );
    const totals = emptyCounts();
    for (const row of rows) {
      totals[row.state] = row.n;
      totals.total += row.n;
    }
    return totals;
  }
}

/**
 * A job claimed by this process: reading and writing. Every mark is its own committed transaction unless
 * it runs inside batch(), which commits them together.
 */
export class Job extends JobView {
  private lock: JobLock | null;

  /** Use Journal.findOrCreateJob() or Journal.openJob(). */
  constructor(
    journal: Journal,
    id: number,
    lock: JobLock,
    private readonly onClose: () => void,
  ) {
    super(journal, id);
    this.lock = lock;
  }

  private write<T>(work: () => T): T {
    if (!this.lock) throw new Error(`job ${this.id} was released: claim it again to write`);
    return this.journal.write(work);
  }

  /** Several marks in one transaction (see Journal.batch). */
  batch<T>(work: () => T): T {
    if (!this.lock) throw new Error(`job ${this.id} was released: claim it again to write`);
    return this.journal.batch(work);
  }

  private currentState(nid: number): ItemState | null {
    const row = this.journal.statement('SELECT state FROM items WHERE job_id = ? AND nid = ?').get(this.id, nid) as
      | { state: ItemState }
      | undefined;
    return row?.state ?? null;
  }

  /**
   * Adds the items not yet known, as pending; items already known keep their state (so calling it on
   * every run is how mail added to the PST since the last run gets sent). Pending items whose folder or
   * target mailbox changed take the new one; items in flight or done keep theirs (they are, or may be,
   * on the server there).
   */
  plan(items: Iterable<PlannedItem>): PlanResult {
    const result: PlanResult = { added: 0, retargeted: 0, unchanged: 0 };
    const insert = this.journal.statement(
      `INSERT INTO items (job_id, nid, folder_path, target_mailbox, state, size, created_at, updated_at)
       VALUES (?, ?, ?, ?, 'pending', ?, ?, ?) ON CONFLICT (job_id, nid) DO NOTHING`,
    );
    const retarget = this.journal.statement(
      `UPDATE items SET folder_path = ?, target_mailbox = ?, size = ?, updated_at = ?
        WHERE job_id = ? AND nid = ? AND state = 'pending' AND (folder_path <> ? OR target_mailbox <> ?)`,
    );
    const writeChunk = (chunk: PlannedItem[]): void =>
      this.write(() => {
        const time = now();
        for (const item of chunk) {
          const folder = JSON.stringify(item.folderPath);
          if (insert.run(this.id, item.nid, folder, item.targetMailbox, item.size, time, time).changes === 1) {
            result.added += 1;
          } else if (
            retarget.run(folder, item.targetMailbox, item.size, time, this.id, item.nid, folder, item.targetMailbox)
              .changes === 1
          ) {
            result.retargeted += 1;
          } else {
            result.unchanged += 1;
          }
        }
        this.touch(time);
      });
    let chunk: PlannedItem[] = [];
    for (const item of items) {
      chunk.push(item);
      if (chunk.length === PLAN_CHUNK) {
        writeChunk(chunk);
        chunk = [];
      }
    }
    if (chunk.length > 0) writeChunk(chunk);
    return result;
  }

  /**
   * pending -> in_flight, committed when this returns (unless inside batch()): call it BEFORE sending.
   * Each entry may carry the Message-ID and hash of the rebuilt message, which is how the item is found
   * on the server if the process dies before markDone().
   */
  markInFlight(entries: Iterable<number | InFlightEntry>): void {
    this.write(() => {
      const time = now();
      const update = this.journal.statement(
        `UPDATE items SET state = 'in_flight', attempts = attempts + 1, in_flight_at = ?, updated_at = ?,
                          message_id = coalesce(?, message_id), content_hash = coalesce(?, content_hash),
                          appended_size = coalesce(?, appended_size)
          WHERE job_id = ? AND nid = ? AND state = 'pending'`,
      );
      for (const entry of entries) {
        const item: InFlightEntry = typeof entry === 'number' ? { nid: entry } : entry;
        const changed = update.run(
          time,
          time,
          item.messageId ?? null,
          item.contentHash ?? null,
          item.size ?? null,
          this.id,
          item.nid,
        ).changes;
        if (changed !== 1) throw new JournalTransitionError(this.id, item.nid, this.currentState(item.nid), 'in_flight');
      }
      this.touch(time);
    });
  }

  /**
   * in_flight -> done, after the server's tagged OK. Marking an item done again with the same UID is a
   * no-op (a retried batch); anything else is a caller bug.
   */
  markDone(nid: number, record: DoneRecord = {}): void {
    const uidValidity = record.uidValidity ?? null;
    const uid = record.uid ?? null;
    if ((uid === null) !== (uidValidity === null)) {
      throw new TypeError('markDone: uid and uidValidity come together (APPENDUID, RFC 4315)');
    }
    this.write(() => {
      const time = now();
      const changed = this.journal
        .statement(
          `UPDATE items SET state = 'done', uid_validity = ?, uid = ?, message_id = coalesce(?, message_id),
                            content_hash = coalesce(?, content_hash), appended_size = coalesce(?, appended_size),
                            last_error = NULL, done_at = ?, updated_at = ?
            WHERE job_id = ? AND nid = ? AND state = 'in_flight'`,
        )
        .run(uidValidity, uid, record.messageId ?? null, record.contentHash ?? null, record.size ?? null, time, time, this.id, nid)
        .changes;
      if (changed === 1) {
        this.touch(time);
        return;
      }
      const current = this.item(nid);
      const sameAppend = current?.state === 'done' && current.uid === uid && current.uidValidity === uidValidity;
      if (!sameAppend) throw new JournalTransitionError(this.id, nid, current?.state ?? null, 'done');
    });
  }

  /** pending or in_flight -> failed: given up for this run (retry() on the next one). */
  markFailed(nid: number, error: unknown): void {
    this.transition(nid, ['pending', 'in_flight', 'failed'], 'failed', { last_error: errorText(error) });
  }

  /** pending or in_flight -> skipped, on purpose (not mail, too big, outside the dates...). */
  markSkipped(nid: number, reason: string): void {
    this.transition(nid, ['pending', 'in_flight', 'skipped'], 'skipped', { skip_reason: redactSecrets(reason) });
  }

  /**
   * A send that did not succeed: the error is kept, and the item goes back to pending when the server
   * refused it (it was not stored), or stays in flight when the answer never came (it may be stored).
   */
  recordAttempt(nid: number, error: unknown, outcome: AttemptOutcome = 'refused'): void {
    this.transition(nid, ['in_flight'], outcome === 'refused' ? 'pending' : 'in_flight', {
      last_error: errorText(error),
    });
  }

  /** in_flight -> pending: items looked up on the server after a crash and not found there. */
  requeue(nids: Iterable<number>): void {
    this.write(() => {
      for (const nid of nids) this.transition(nid, ['in_flight'], 'pending', {});
    });
  }

  /**
   * Puts failed (and, if asked, skipped) items back to pending for a new run; returns how many.
   * `keepSkippedBecause` leaves skipped items whose reason is exactly that one as they are.
   */
  retry(states: Array<'failed' | 'skipped'> = ['failed'], options: { keepSkippedBecause?: string } = {}): number {
    return this.write(() => {
      const time = now();
      const update = `UPDATE items SET state = 'pending', skip_reason = NULL, updated_at = ?
            WHERE job_id = ? AND state IN (SELECT value FROM json_each(?))`;
      const changed =
        options.keepSkippedBecause === undefined
          ? this.journal.statement(update).run(time, this.id, JSON.stringify(states)).changes
          : this.journal
              .statement(`${update} AND NOT (state = 'skipped' AND skip_reason = ?)`)
              .run(time, this.id, JSON.stringify(states), options.keepSkippedBecause).changes;
      this.touch(time);
      return changed;
    });
  }

  private transition(
    nid: number,
    from: ItemState[],
    to: ItemState,
    fields: { last_error?: string; skip_reason?: string },
  ): void {
    this.write(() => {
      const time = now();
      const changed = this.journal
        .statement(
          `UPDATE items SET state = ?, last_error = coalesce(?, last_error), skip_reason = ?, updated_at = ?
            WHERE job_id = ? AND nid = ? AND state IN (SELECT value FROM json_each(?))`,
        )
        .run(to, fields.last_error ?? null, fields.skip_reason ?? null, time, this.id, nid, JSON.stringify(from)).changes;
      if (changed !== 1) throw new JournalTransitionError(this.id, nid, this.currentState(nid), to);
      this.touch(time);
    });
  }

  private touch(time: string): void {
    this.journal.statement('UPDATE jobs SET updated_at = ? WHERE id = ?').run(time, this.id);
  }

  /** The run went through every item (some may have failed or been skipped: counts() tells). */
  finish(): void {
    this.setStatus('finished');
  }

  private setStatus(status: JobStatus): void {
    this.write(() => {
      this.journal.statement('UPDATE jobs SET status = ?, updated_at = ? WHERE id = ?').run(status, now(), this.id);
    });
  }

  /** Releases the job: it becomes interrupted unless finished, and another process may claim it. */
  close(): void {
    if (!this.lock) return;
    try {
      this.journal.write(() => {
        this.journal
          .statement(`UPDATE jobs SET status = 'interrupted', updated_at = ? WHERE id = ? AND status = 'running'`)
          .run(now(), this.id);
      });
    } finally {
      this.lock.release();
      this.lock = null;
      this.onClose();
    }
  }
}

