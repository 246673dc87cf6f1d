/**
 * The migration: PST -> rebuilt messages -> upload queue -> checkpoint, a batch at a time.
 *
 * Nothing is lost and nothing doubled, whatever stops the run, because of the order of things (see
 * src/checkpoint/index.ts): a batch is marked in flight, and committed, BEFORE any of it is sent; an
 * item is marked done only after the server's tagged OK; an item whose answer never came (connection
 * cut, timed out, process killed) stays in flight and is looked up on the server (SEARCH HEADER
 * Message-ID) before it is ever sent again. Items of the batch that were never sent go back to pending.
 *
 * Memory stays bounded: the PST reader (a worker thread) reads only a few messages ahead, a batch is
 * closed at --batch messages or MAX_BATCH_BYTES, whichever comes first, at most two batches are out, and
 * all of it, read-ahead, batches and messages out, stays within HELD_BYTES (plus one message).
 */
import { createHash } from 'node:crypto';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import PQueue from 'p-queue';
import { openJournal, type Job, type Journal, type PlannedItem, type StateCounts } from '../checkpoint/index.js';
import { Pst2ImapError } from '../errors.js';
import { planFolders } from '../plan/index.js';
import type { SelectionOptions, ServerFacts } from '../plan/types.js';
import { toTargetError } from '../target/probe.js';
import { TargetFailure, normalizeMessageId, type StoredAt, type Target, type TargetSession } from '../target/target.js';
import type { ItemRef, MigrateListener, MigrateSummary } from './events.js';
import { writeReport } from './report.js';
import { ALREADY_ON_SERVER, buildRunPlan, dateText, SKIP_WORDS, type RunItem } from './run-plan.js';
import { StoredCopies } from './stored-copies.js';
import { releaseBytes } from '../mime/output.js';
import { PstSource, type RebuiltItem } from './source.js';
import { Backoff, Pacer } from './throttle.js';

/**
 * A batch never holds more than this many bytes of messages, whatever --batch says (but one message, which
 * may be larger). With 64 MB the peak RSS of migrate on a 1.1 GB PST of large messages was 396 MB, with 16 MB 324.
 */
const MAX_BATCH_BYTES = 16 * 1024 * 1024;
/**
 * Bytes of messages the engine holds at once, all told: read ahead, gathered into a batch, and out being
 * sent (each until its delivery is over). A message counts before it is read, by the PST's size of it
 * plus what base64 adds, and by its rebuilt size from then on. One message more is read whatever it
 * holds when the batch being gathered waits for it, so the bound is this plus one message.
 * Before it, read-ahead (16 MB), two batches (16 MB each) and the overshoot of each by a message could
 * hold 48 MB and three large messages at once.
 */
const HELD_BYTES = 32 * 1024 * 1024;

export interface MigrateOptions {
  pstPath: string;
  codepage?: number;
  selection: SelectionOptions;
  target: Target;
  /** What the provider preset knows beyond what the server advertises. */
  provider: { messageLimit: number | null; reservedNames: string[]; maxNameLength: number | null };
  /** The checkpoint store (file or folder); default: the user's state directory. */
  statePath?: string;
  /** Caps the store's size (tests of a full disk). */
  stateMaxPageCount?: number;
  connections: number;
  /** Messages per second; null: as fast as the server takes them. */
  rate: number | null;
  /** Bytes per second; null: no limit. */
  bandwidth: number | null;
  batchSize: number;
  /** At most this many messages / bytes sent in this run. */
  limit: number | null;
  limitBytes: number | null;
  pauseBetweenBatchesMs: number;
  /** Leave out messages whose Message-ID the target folder already holds (one query per folder). */
  skipExisting: boolean;
  /** Attempts per message before it is given up (throttling waits do not count). */
  maxAttempts: number;
  /** First delay after a lost connection; doubles each time. */
  retryDelayMs: number;
  maxRetryDelayMs: number;
  /** The options of the run as the user gave them, stored with the job for `resume`. Never secrets. */
  jobOptions: Record<string, unknown>;
  /** Where the report goes (a folder); default: `reports` beside the checkpoint store; null: none. */
  reportDir?: string | null;
  /** Aborted (Ctrl-C): finish what is being sent, record it, stop. */
  signal?: AbortSignal;
}


type DeliveryOutcome =
  | { kind: 'done'; stored: StoredAt; recovered: boolean }
  | { kind: 'failed'; words: string }
  | { kind: 'unknown'; words: string }
  | { kind: 'not-sent' };

interface BatchEntry {
  item: RunItem;
  message: RebuiltItem;
  hash: string;
  /** message.bytes.length, kept: the bytes themselves are let go once the message is delivered. */
  size: number;
  /** APPENDs of it put on the wire so far. */
  appends: number;
}

const NO_BYTES = Buffer.alloc(0);


function refOf(item: RunItem): ItemRef {
  return { nid: item.nid, folder: item.folder.path, mailbox: item.mailbox, subject: item.subject, date: dateText(item.date) };
}

function emptyCounts(): StateCounts {
  return { pending: 0, in_flight: 0, done: 0, skipped: 0, failed: 0, total: 0 };
}

/**
 * Bytes of messages one connection carries at most in its pipeline at once (a single larger message
 * goes alone): with many large messages outstanding on a slow line, the last would wait for the others
 * long enough to pass for a stalled server.
 */
const PIPELINE_BYTES = 8 * 1024 * 1024;

interface Lease {
  session: TargetSession;
  /** Operations using the session now (pipelined appends, or one control operation among them). */
  users: number;
  bytes: number;
}

/**
 * Connections to the target, at most as many as the back-off allows at the moment, each shared by as
 * many operations as its pipeline takes (TargetSession.depth). A connection is filled before another is
 * opened only when the allowance is spent: a new connection goes to the first operation that finds
 * every open one busy.
 */
class SessionPool {
  private readonly leases = new Map<TargetSession, Lease>();
  private opening = 0;
  private waiting: Array<() => void> = [];

  constructor(
    private readonly target: Target,
    private readonly backoff: Backoff,
  ) {}

  /** A session for an operation that puts `bytes` on the wire (0: a control operation). */
  async acquire(bytes = 0): Promise<TargetSession> {
    for (;;) {
      let best: Lease | null = null;
      for (const lease of [...this.leases.values()]) {
        // Lost meanwhile (whoever was using it finds out on its own): not handed out again.
        if (!lease.session.usable) {
          this.leases.delete(lease.session);
          void lease.session.close().catch(() => {});
          continue;
        }
        const fits = lease.users === 0 || (lease.users < lease.session.depth && lease.bytes + bytes <= PIPELINE_BYTES);
        if (fits && (!best || lease.users < best.users)) best = lease;
      }
      if (best && (best.users === 0 || this.leases.size + this.opening >= this.backoff.connections)) {
        best.users += 1;
        best.bytes += bytes;
        return best.session;
      }
      if (this.leases.size + this.opening < this.backoff.connections) {
        this.opening += 1;
        try {
          const session = await this.target.open();
          this.leases.set(session, { session, users: 1, bytes });
          return session;
        } finally {
          this.opening -= 1;
          this.wake();
        }
      }
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
  }

  /** The operation is over and the connection is fine. */
  release(session: TargetSession, bytes = 0): void {
    const lease = this.leases.get(session);
    if (!lease) return;
    lease.users -= 1;
    lease.bytes -= bytes;
    if (lease.users === 0 && this.leases.size > this.backoff.connections) this.discard(session);
    this.wake();
  }

  /** The connection is lost (or stalled): closed, and whoever shares it finds out on its next command. */
  discard(session: TargetSession): void {
    if (this.leases.delete(session)) void session.close().catch(() => {});
    this.wake();
  }

  private wake(): void {
    for (const resolve of this.waiting.splice(0)) resolve();
  }

  async closeAll(): Promise<void> {
    const sessions = [...this.leases.keys()];
    this.leases.clear();
    this.wake();
    await Promise.all(sessions.map((session) => session.close().catch(() => {})));
  }
}

/** What a message not read yet is counted at: the PST's size of it, attachments grown by base64. */
function estimatedBytes(item: RunItem): number {
  return Math.ceil(item.size * 1.4);
}

/**
 * Reads messages a few ahead of the uploads, in work-list order, within HELD_BYTES for everything read
 * and not yet let go (see release).
 */
export class Prefetcher<Item extends { size: number }, Outcome extends { ok: boolean; bytes?: Buffer }> {
  private next = 0;
  private readonly ahead: Array<{ item: Item; outcome: Promise<Outcome>; counted: { bytes: number } }> = [];
  /** Bytes read ahead or taken and not let go yet. */
  private heldBytes = 0;

  constructor(
    private readonly items: Item[],
    private readonly read: (item: Item) => Promise<Outcome>,
    private readonly maxCount: number,
    private readonly maxBytes: number,
    private readonly estimate: (item: Item) => number,
  ) {}

  get held(): number {
    return this.heldBytes;
  }

  /** Reads ahead what the limits allow; with `oneAnyway`, one message when none is ahead (someone waits for it). */
  private fill(oneAnyway: boolean): void {
    while (this.next < this.items.length) {
      const item = this.items[this.next]!;
      const estimate = this.estimate(item);
      const room = (oneAnyway && this.ahead.length === 0) || (this.ahead.length < this.maxCount && this.heldBytes + estimate <= this.maxBytes);
      if (!room) return;
      this.next += 1;
      this.heldBytes += estimate;
      const counted = { bytes: estimate };
      const outcome = this.read(item);
      // Once rebuilt, the message counts at its real size (read never rejects).
      void outcome.then((read) => {
        const real = read.ok ? (read.bytes?.length ?? 0) : 0;
        this.heldBytes += real - counted.bytes;
        counted.bytes = real;
      });
      this.ahead.push({ item, outcome, counted });
    }
  }

  /** The next item the caller has not taken, without reading it (for --limit decisions). */
  peek(): Item | null {
    return this.ahead[0]?.item ?? this.items[this.next] ?? null;
  }

  /**
   * The next message, read. It stays counted until the caller lets it go (release) with the size it
   * had: the bytes of the outcome, 0 when it could not be read.
   */
  async take(): Promise<{ item: Item; outcome: Outcome } | null> {
    this.fill(true);
    const head = this.ahead.shift();
    if (!head) return null;
    const outcome = await head.outcome;
    this.fill(false);
    return { item: head.item, outcome };
  }

  /** A message taken is let go (delivered, or dropped): room to read further ahead. */
  release(bytes: number): void {
    this.heldBytes -= bytes;
    this.fill(false);
  }
}

/**
 * Runs (or resumes) the migration of the selected folders of a PST to a target. Resolves with the
 * summary; throws Pst2ImapError for what stops a run (PST unusable, sign-in, server unreachable,
 * checkpoint store unusable) after recording what was done.
 */
export async function migrate(options: MigrateOptions, events: MigrateListener = () => {}): Promise<MigrateSummary> {
  const source = await PstSource.open({ pstPath: options.pstPath, codepage: options.codepage });
  let journal: Journal | null = null;
  let job: Job | null = null;
  const backoff = new Backoff(
    {
      rate: options.rate,
      bandwidth: options.bandwidth,
      connections: options.connections,
      baseDelayMs: options.retryDelayMs,
      maxDelayMs: options.maxRetryDelayMs,
      climbAfter: 50,
    },
    (change) => {
      queue.concurrency = change.connections * options.target.depth;
      events({ type: 'backoff', state: change.state, connections: change.connections, waitMs: change.waitMs, reason: change.words });
    },
  );
  // As many deliveries at once as the connections' pipelines hold: the pool shares each connection out.
  const queue = new PQueue({ concurrency: options.connections * options.target.depth });
  const pool = new SessionPool(options.target, backoff);
  const pacer = new Pacer({ rate: options.rate, bandwidth: options.bandwidth });
  const signal = options.signal;
  const summary: MigrateSummary = {
    jobId: 0,
    status: 'interrupted',
    sent: 0,
    sentBytes: 0,
    skipped: 0,
    failed: 0,
    recovered: 0,
    totals: emptyCounts(),
    remaining: 0,
    reportFiles: [],
  };
  const runItems = new Map<number, RunItem>();
  let fatal: unknown = null;
  /** Batches sent whose outcomes are not recorded yet, oldest first. */
  const unrecorded: Array<Promise<void>> = [];

  /** A control operation (create a folder, look up) on some connection, retried through back-offs. */
  async function withSession<T>(work: (session: TargetSession) => Promise<T>, connectionAttempts = options.maxAttempts * 2): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      await backoff.ready(signal);
      let session: TargetSession | null = null;
      try {
        session = await pool.acquire();
        const result = await work(session);
        pool.release(session);
        return result;
      } catch (error) {
        if (error instanceof Pst2ImapError) {
          if (session) pool.discard(session);
          throw error;
        }
        const failure = asFailure(error);
        if (session) failure.kind === 'connection' ? pool.discard(session) : pool.release(session);
        if (failure.kind === 'throttled' && attempt < options.maxAttempts * 10) {
          backoff.throttled(failure.retryAfterMs, failure.serverWords);
          continue;
        }
        if (failure.kind === 'connection' && attempt + 1 < connectionAttempts) {
          backoff.connectionLost(failure.serverWords);
          continue;
        }
        throw fatalOf(failure);
      }
    }
  }

  function asFailure(error: unknown): TargetFailure {
    if (error instanceof TargetFailure) return error;
    if (error instanceof Pst2ImapError) throw error;
    return new TargetFailure('connection', error instanceof Error ? error.message : String(error), { cause: error });
  }

  /** What ends the run for a failure that retrying did not cure. */
  function fatalOf(failure: TargetFailure): Error {
    if (failure.cause instanceof Pst2ImapError) return failure.cause;
    const target = options.target;
    const where = /^imaps?:\/\/([^/]+)/.exec(target.url)?.[1] ?? target.url;
    if (failure.kind === 'local') {
      return new Pst2ImapError('E_TARGET', { server: target.url, what: failure.serverWords }, { cause: failure });
    }
    if (failure.kind === 'connection') {
      return new Pst2ImapError('E_CONNECT', { server: where, what: failure.code ?? failure.serverWords }, { cause: failure, detail: failure.serverWords });
    }
    const [host, port] = where.split(':');
    return toTargetError(failure.cause ?? failure, {
      host: host ?? where,
      port: Number(port ?? 0),
      secure: true,
      user: target.user,
      auth: { password: '' },
      verifyCertificate: true,
      allowPlaintext: false,
      timeoutMs: 0,
    });
  }

  try {
    // The target first: a wrong password or an unreachable server is told before the PST is read.
    // A server that cannot be reached at all is told after two tries, not after a long back-off.
    const advertised = await withSession((session) => session.facts(), 2);
    const server: ServerFacts = {
      ...advertised,
      appendLimit: advertised.appendLimit ?? options.provider.messageLimit,
      reservedNames: options.provider.reservedNames,
      maxNameLength: options.provider.maxNameLength,
    };

    journal = openJournal(options.statePath, { maxPageCount: options.stateMaxPageCount });
    const before = journal.jobs().length;
    job = journal.findOrCreateJob({
      fingerprint: source.store.fingerprint,
      pstPath: options.pstPath,
      target: { url: options.target.url, user: options.target.user },
      options: options.jobOptions,
    });
    summary.jobId = job.id;
    events({ type: 'opened', pst: source.store.path, target: options.target.url, user: options.target.user, jobId: job.id, resumed: journal.jobs().length === before });

    // The plan: the same rules as `plan`, on what the server says of itself.
    const { plan, items } = await buildRunPlan(source, options.selection, server);
    const skips: Array<{ nid: number; reason: string }> = [];
    for (const item of items) {
      runItems.set(item.nid, item);
      if (item.skip) skips.push({ nid: item.nid, reason: SKIP_WORDS[item.skip] });
    }
    // Handed to the checkpoint store one at a time, not as a second list of every item.
    function* planned(): Generator<PlannedItem> {
      for (const item of items) yield { nid: item.nid, folderPath: item.folder.path, targetMailbox: item.mailbox, size: item.size };
    }

    // Failed and skipped items get another chance: the reasons are decided anew below, and a failure
    // may have been the server's passing mood. Items found on the server stay as they are: sending them
    // because this run lacks --skip-existing would put a second copy there.
    job.retry(['failed', 'skipped'], { keepSkippedBecause: ALREADY_ON_SERVER });
    const planResult = job.plan(planned());
    const skippedNow = job.batch(() => skips.filter((skip) => job!.item(skip.nid)?.state === 'pending' && (job!.markSkipped(skip.nid, skip.reason), true)));
    for (const skip of skippedNow) events({ type: 'skipped', item: refOf(runItems.get(skip.nid)!), reason: skip.reason });
    summary.skipped += skippedNow.length;

    // What a previous run left in flight may be on the server: looked up before anything is sent.
    const storedCopies = new StoredCopies();
    for (const done of job.items({ state: 'done' })) storedCopies.remember(done.targetMailbox, done);

    // Every item of the job left in flight, in this run's selection or not: each may be on the server.
    const leftInFlight = job.inFlight();
    let requeued = 0;
    for (const item of leftInFlight) {
      const found = item.messageId ? await withSession((session) => session.lookUp(item.targetMailbox, item.messageId!)) : [];
      const copy = item.messageId ? storedCopies.unclaimed(item.targetMailbox, item.messageId, found) : null;
      if (copy) {
        job.markDone(item.nid, copy);
        storedCopies.remember(item.targetMailbox, { ...copy, messageId: item.messageId });
        summary.recovered += 1;
      } else {
        job.requeue([item.nid]);
        requeued += 1;
      }
    }
    if (leftInFlight.length > 0) events({ type: 'recovered', found: summary.recovered, requeued });

    // The work list: this run's items still pending, in plan order.
    const work: RunItem[] = [];
    const runTotals = emptyCounts();
    for (const item of job.items()) {
      if (!runItems.has(item.nid)) continue;
      runTotals[item.state] += 1;
      runTotals.total += 1;
      if (item.state === 'pending') work.push(runItems.get(item.nid)!);
    }
    events({
      type: 'planned',
      totals: runTotals,
      toSend: work.length,
      toSendBytes: work.reduce((sum, item) => sum + item.size, 0),
      added: planResult.added,
    });

    // Every selected folder gets its mailbox, empty ones too: they are the user's filing structure. All
    // at once: a connection that pipelines creates them in a few round trips, not three each.
    const ensured = new Set<string>();
    const mailboxes = new Set<string>();
    for (const folder of planFolders(plan.root)) if (folder.selected && folder.target !== null) mailboxes.add(folder.target);
    if (!signal?.aborted) {
      await Promise.all([...mailboxes].map((mailbox) => withSession((session) => session.ensureMailbox(mailbox))));
      for (const mailbox of mailboxes) ensured.add(mailbox);
    }

    const prefetcher = new Prefetcher(
      work,
      (item: RunItem) => source.read(item.nid, item.folder.role),
      Math.max(4, Math.min(options.batchSize * 2, 200)),
      HELD_BYTES,
      estimatedBytes,
    );
    const existingByMailbox = new Map<string, Map<string, number>>();
    let currentFolder: number | null = null;
    let batchNumber = 0;
    let stopReason: 'signal' | 'limit' | null = null;
    /** What the batches being sent hold, for --limit: they count as sent until their answers say otherwise. */
    const sending = { count: 0, bytes: 0 };

    for (;;) {
      if (signal?.aborted) {
        stopReason = 'signal';
        break;
      }
      // Gather a batch of rebuilt messages.
      const batch: BatchEntry[] = [];
      let batchBytes = 0;
      while (batch.length < options.batchSize && batchBytes < MAX_BATCH_BYTES && !signal?.aborted) {
        const next = prefetcher.peek();
        if (!next) break;
        const planned = summary.sent + sending.count + batch.length;
        const plannedBytes = summary.sentBytes + sending.bytes + batchBytes;
        if ((options.limit !== null && planned >= options.limit) || (options.limitBytes !== null && planned > 0 && plannedBytes + next.size > options.limitBytes)) {
          stopReason = 'limit';
          break;
        }
        const taken = (await prefetcher.take())!;
        const { item, outcome } = taken;
        if (!outcome.ok) {
          prefetcher.release(0);
          job.markFailed(item.nid, `the item could not be read from the PST: ${outcome.detail}`);
          summary.failed += 1;
          events({ type: 'failed', item: refOf(item), reason: outcome.detail });
          continue;
        }
        if (plan.sizeLimit !== null && outcome.bytes.length > plan.sizeLimit) {
          prefetcher.release(outcome.bytes.length);
          const reason = `${SKIP_WORDS['too-large']}: ${outcome.bytes.length} bytes, the limit is ${plan.sizeLimit}`;
          job.markSkipped(item.nid, reason);
          summary.skipped += 1;
          events({ type: 'skipped', item: refOf(item), reason });
          continue;
        }
        if (options.skipExisting) {
          let existing = existingByMailbox.get(item.mailbox);
          if (!existing) {
            existing = await withSession((session) => session.messageIds(item.mailbox));
            existingByMailbox.set(item.mailbox, existing);
          }
          if ((existing.get(normalizeMessageId(outcome.messageId)) ?? 0) > 0) {
            prefetcher.release(outcome.bytes.length);
            job.markSkipped(item.nid, ALREADY_ON_SERVER);
            summary.skipped += 1;
            events({ type: 'skipped', item: refOf(item), reason: ALREADY_ON_SERVER });
            continue;
          }
        }
        if (currentFolder !== item.folder.nid) {
          currentFolder = item.folder.nid;
          events({ type: 'folder', folder: item.folder.path, mailbox: item.mailbox, messages: work.filter((other) => other.folder.nid === item.folder.nid).length });
        }
        batch.push({ item, message: outcome, hash: createHash('sha256').update(outcome.bytes).digest('hex'), size: outcome.bytes.length, appends: 0 });
        batchBytes += outcome.bytes.length;
      }
      if (batch.length === 0) break;

      for (const mailbox of new Set(batch.map((entry) => entry.item.mailbox))) {
        if (ensured.has(mailbox)) continue;
        await withSession((session) => session.ensureMailbox(mailbox));
        ensured.add(mailbox);
      }

      // Committed before anything is sent: after a crash these are looked up, not sent blindly again.
      job.markInFlight(
        batch.map(({ item, message, hash, size }) => ({ nid: item.nid, messageId: message.messageId, contentHash: hash, size })),
      );
      // The next batch is gathered and sent while the last answers of this one come in: the connections'
      // pipelines do not run dry at each batch's end. Batches are recorded in order, each when all its
      // answers are in; at most two are out at once.
      sending.count += batch.length;
      sending.bytes += batchBytes;
      const previous = unrecorded.at(-1) ?? Promise.resolve();
      const recorded = sendBatch(batch, batchBytes, previous);
      recorded.catch(() => {});
      unrecorded.push(recorded);
      while (unrecorded.length >= 2 || (unrecorded.length > 0 && (stopReason || options.pauseBetweenBatchesMs > 0))) {
        await unrecorded[0];
        unrecorded.shift();
      }
      if (fatal) throw fatal;
      if (stopReason) break;
      if (options.pauseBetweenBatchesMs > 0 && prefetcher.peek() && !signal?.aborted) {
        events({ type: 'pause', ms: options.pauseBetweenBatchesMs });
        await sleep(options.pauseBetweenBatchesMs, undefined, { signal }).catch(() => {});
      }
    }

    // The batches still out are answered and recorded before the run ends.
    while (unrecorded.length > 0) {
      await unrecorded[0];
      unrecorded.shift();
    }
    if (fatal) throw fatal;
    if (stopReason === null && signal?.aborted) stopReason = 'signal';
    if (stopReason) events({ type: 'stopping', reason: stopReason });
    let remaining = 0;
    for (const item of job.items({ state: ['pending', 'in_flight'] })) if (runItems.has(item.nid)) remaining += 1;
    summary.remaining = remaining;
    if (stopReason === 'signal') summary.status = 'interrupted';
    else if (remaining > 0) summary.status = stopReason === 'limit' ? 'limit' : 'interrupted';
    else {
      summary.status = 'finished';
      job.finish();
    }
    summary.totals = job.totals();
    if (options.reportDir !== null) {
      summary.reportFiles = writeReport({
        dir: options.reportDir ?? `${dirname(journal.path)}/reports`,
        job,
        summary,
        items: runItems,
        pstPath: source.store.path,
        target: `${options.target.url}${options.target.user ? ` (${options.target.user})` : ''}`,
      });
    }
    events({ type: 'finished', result: summary });
    return summary;

    /** Sends a batch marked in flight, then records what became of each message (after `previous`). */
    async function sendBatch(batch: BatchEntry[], batchBytes: number, previous: Promise<void>): Promise<void> {
      // Each message's bytes go as soon as its delivery is over (whatever the outcome: one not sent is
      // read again by a later run), not when the whole batch is.
      const outcomes = await Promise.all(
        batch.map((entry) =>
          (queue.add(() => deliver(entry)) as Promise<DeliveryOutcome>).then((outcome) => {
            const { bytes } = entry.message;
            entry.message.bytes = NO_BYTES;
            prefetcher.release(entry.size);
            // Stored by its only APPEND, answered OK: every byte of it was written and nothing reads
            // it any more, so its memory goes now, not at V8's next full collection. (After a lost
            // connection a socket might still hold an earlier try's bytes: those are left to V8.)
            if (outcome.kind === 'done' && !outcome.recovered && entry.appends === 1) releaseBytes(bytes);
            return outcome;
          }),
        ),
      );
      await previous;
      sending.count -= batch.length;
      sending.bytes -= batchBytes;
      const finalJob = job!;
      finalJob.batch(() => {
        outcomes.forEach((outcome, index) => {
          const { item } = batch[index]!;
          switch (outcome.kind) {
            case 'done':
              finalJob.markDone(item.nid, outcome.stored);
              break;
            case 'failed':
              finalJob.markFailed(item.nid, outcome.words);
              break;
            case 'unknown':
              finalJob.recordAttempt(item.nid, outcome.words, 'unknown');
              break;
            case 'not-sent':
              finalJob.requeue([item.nid]);
              break;
          }
        });
      });
      outcomes.forEach((outcome, index) => {
        const { item, size } = batch[index]!;
        if (outcome.kind === 'done') {
          if (outcome.recovered) summary.recovered += 1;
          summary.sent += 1;
          summary.sentBytes += size;
          events({ type: 'sent', item: refOf(item), size, uid: outcome.stored.uid });
        } else if (outcome.kind === 'failed') {
          summary.failed += 1;
          events({ type: 'failed', item: refOf(item), reason: outcome.words });
        }
      });
      batchNumber += 1;
      events({ type: 'batch', number: batchNumber, sent: summary.sent, sentBytes: summary.sentBytes });
    }

    /** Sends one message, through throttling, lost connections and refusals; never throws. */
    async function deliver(entry: BatchEntry): Promise<DeliveryOutcome> {
      const { item, message } = entry;
      let mayBeStored = false;
      let lastWords = '';
      let attempts = 0;
      let throttles = 0;
      let collateral = 0;
      for (;;) {
        if (fatal || signal?.aborted) {
          return mayBeStored ? { kind: 'unknown', words: lastWords || 'stopped before the answer came' } : { kind: 'not-sent' };
        }
        await backoff.ready(signal);
        if (signal?.aborted && !mayBeStored) return { kind: 'not-sent' };
        let session: TargetSession | null = null;
        const bytes = message.bytes.length;
        /** Whether what failed, if anything does, is this attempt's APPEND (not the look-up before it). */
        let appending = false;
        try {
          session = await pool.acquire(bytes);
          if (mayBeStored) {
            // The last try may have been stored before the connection went: look before sending again.
            const found = await session.lookUp(item.mailbox, message.messageId);
            const copy = storedCopies.unclaimed(item.mailbox, message.messageId, found);
            if (copy) {
              // Claimed at once: another item of this batch with the same Message-ID must not take it.
              storedCopies.remember(item.mailbox, { ...copy, messageId: message.messageId });
              pool.release(session, bytes);
              backoff.success();
              return { kind: 'done', stored: copy, recovered: true };
            }
            mayBeStored = false;
          }
          await pacer.take(message.bytes.length, signal);
          if (signal?.aborted) {
            // Stopped while waiting for its turn: never sent, so it goes back to pending.
            pool.release(session, bytes);
            return { kind: 'not-sent' };
          }
          mayBeStored = true;
          appending = true;
          entry.appends += 1;
          const stored = await session.append({ mailbox: item.mailbox, bytes: message.bytes, flags: message.flags, internalDate: message.internalDate });
          storedCopies.remember(item.mailbox, { ...stored, messageId: message.messageId });
          pool.release(session, bytes);
          backoff.success();
          return { kind: 'done', stored, recovered: false };
        } catch (error) {
          if (error instanceof Pst2ImapError) {
            // Sign-in needed, or refused for good: the run stops; this item is looked up next time.
            if (session) pool.discard(session);
            fatal ??= error;
            return mayBeStored ? { kind: 'unknown', words: error.message } : { kind: 'not-sent' };
          }
          const failure = error instanceof TargetFailure ? error : new TargetFailure('connection', String(error), { cause: error });
          lastWords = failure.serverWords;
          if (failure.kind === 'connection') {
            if (session) pool.discard(session);
          } else if (session) {
            pool.release(session, bytes);
          }
          // A look-up that failed leaves the question open: the message may still be on the server.
          if (appending && (failure.kind === 'throttled' || failure.kind === 'refused' || failure.unsent)) mayBeStored = false;
          if (failure.kind === 'auth' || failure.kind === 'local') {
            fatal ??= fatalOf(failure);
            return mayBeStored ? { kind: 'unknown', words: lastWords } : { kind: 'not-sent' };
          }
          if (failure.kind === 'throttled') {
            throttles += 1;
            backoff.throttled(failure.retryAfterMs, failure.serverWords);
            if (throttles <= options.maxAttempts * 10) {
              events({ type: 'retry', item: refOf(item), attempt: attempts + 1, reason: failure.serverWords });
              continue;
            }
            return { kind: 'failed', words: failure.serverWords };
          }
          if (failure.kind === 'connection') backoff.connectionLost(failure.serverWords);
          // Lost before its APPEND left, during the look-up, or with other APPENDs unanswered on the same
          // connection (pipelining): not this message's attempt, unless it keeps happening.
          const notItsOwn = failure.collateral || failure.unsent || (!appending && failure.kind === 'connection');
          if (notItsOwn && collateral++ < options.maxAttempts * 10) {
            events({ type: 'retry', item: refOf(item), attempt: attempts + 1, reason: failure.serverWords });
            continue;
          }
          attempts += 1;
          if (attempts >= options.maxAttempts) {
            return mayBeStored ? { kind: 'unknown', words: failure.serverWords } : { kind: 'failed', words: failure.serverWords };
          }
          events({ type: 'retry', item: refOf(item), attempt: attempts, reason: failure.serverWords });
          if (failure.kind === 'refused') await sleep(backoff.refusalDelay(attempts - 1), undefined, { signal }).catch(() => {});
        }
      }
    }
  } catch (error) {
    events({ type: 'stopping', reason: 'error' });
    throw error;
  } finally {
    // A run stopped by an error still records what the batches out meanwhile became, when it can.
    await Promise.allSettled(unrecorded);
    queue.clear();
    await queue.onIdle().catch(() => {});
    await pool.closeAll();
    await source.close();
    try {
      journal?.close();
    } catch {
      // The store failed (a full disk): the job's lock goes with the process, and the next run finds
      // the job interrupted all the same.
    }
  }
}

