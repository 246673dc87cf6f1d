/**
 * `export`'s engine: the selected folders' mail written as files (src/target/files.ts), read and rebuilt
 * by one thread per core (at most EXPORT_THREADS_MAX): the caller's, and worker threads.
 *
 * Each thread takes its share of every folder's items (ItemShare: the rows of the contents table whose
 * number is its index modulo the number of threads); each worker opens the PST itself. A thread reads,
 * decides, rebuilds and writes its items on its own, and hands back only a summary of what it did: no
 * item, message or file goes between threads, and no item is read twice. Reading and rebuilding are most
 * of the work, and synchronous JavaScript: one thread is one core.
 *
 * Two numbers are shared with the threads (a SharedArrayBuffer): the items done so far, for the
 * progress bar, and a stop flag, raised when one thread meets a disk that refuses every file (full,
 * read-only): the others stop at their next item, and what was written is complete.
 */
import { mkdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import { Pst2ImapError } from '../errors.js';
import { language as currentLanguage, t, type Language } from '../i18n/index.js';
import { decideItem, type SkipReason } from '../plan/index.js';
import type { SelectionOptions } from '../plan/types.js';
import { rebuildMessage, renderOtherItem } from '../mime/index.js';
import type { RebuildWarning } from '../mime/types.js';
import { isReadProblem, type FolderRole, type ItemKind, type ItemShare, type PstFolder, type PstReader } from '../pst/index.js';
import { emlFile, isFatalWrite, maildirBase, maildirFile, maildirNames, writeFileAtomically, type ExportFormat } from '../target/files.js';
import { workerScript } from '../workers.js';

/** Threads beyond this gain little: the disk and the one PST file they all read become the limit. */
export const EXPORT_THREADS_MAX = 4;
/**
 * Fewer items than this per thread do not pay for another thread: its start (loading the modules,
 * opening the PST, some 0.2 s) and its own warming up of the compiled code. On 2 cores bulk-1k took
 * 1.95-2.35 s with one thread and 2.38-2.62 s with two; bulk-10k 10.7 s and 8.8-10.0 s (ad hoc).
 */
const ITEMS_PER_THREAD_MIN = 2000;

export interface ExportProblem {
  folder: string;
  nid: number | null;
  detail: string;
}

/** What the threads did, added up. */
export interface ExportCounts {
  written: number;
  writtenBytes: number;
  otherWritten: number;
  otherKinds: Partial<Record<ItemKind, number>>;
  skipped: Record<SkipReason, number>;
  nonMailKinds: Partial<Record<ItemKind, number>>;
  failed: ExportProblem[];
  warnings: Array<ExportProblem & { code: RebuildWarning['code'] }>;
  /** Why writing stopped before the end (disk full, read-only, no permission), or null. */
  stopped: string | null;
}

/** A folder to export, its directories made. */
export interface ExportFolder {
  nid: number;
  /** Its PST path, as the summary names it. */
  where: string;
  role: FolderRole | null;
  /** Where its mail goes (a Maildir with `maildir`), or null: the folder has no target. */
  mailDir: string | null;
  /** Where its items that are not mail go (`--export-other`), or null. */
  otherDir: string | null;
}

/** What a thread is given (workerData). */
export interface ExportJob {
  pstPath: string;
  codepage?: number;
  language: Language;
  format: ExportFormat;
  selection: SelectionOptions;
  sizeLimit: number | null;
  folders: ExportFolder[];
  share: ItemShare;
  /** Int32Array over it: [0] items done (all threads), [1] stop (1: stop at the next item). */
  control: SharedArrayBuffer;
}

/** What a thread answers: its counts, or why it could not run. */
export type ExportAnswer = { type: 'done'; counts: ExportCounts } | { type: 'failed'; message: string };

const DONE = 0;
const STOP = 1;
/** Items between two turns of the event loop (see exportShare). */
const YIELD_EVERY = 50;

export function emptyCounts(): ExportCounts {
  return {
    written: 0,
    writtenBytes: 0,
    otherWritten: 0,
    otherKinds: {},
    skipped: { 'non-mail': 0, 'too-large': 0, 'outside-dates': 0 },
    nonMailKinds: {},
    failed: [],
    warnings: [],
    stopped: null,
  };
}

export function describeFailure(error: unknown): string {
  if (error instanceof Pst2ImapError) return t(error.code, error.params);
  return error instanceof Error ? error.message.split('\n')[0] : String(error);
}

/**
 * One thread's share of the export (in the thread; exported for it and for tests): every item of its
 * share of each folder read, decided, and rebuilt and written, or counted as skipped or failed.
 * `control` as in ExportJob.
 */
export async function exportShare(reader: PstReader, job: Pick<ExportJob, 'format' | 'selection' | 'sizeLimit' | 'folders' | 'share'>, control: Int32Array): Promise<ExportCounts> {
  const counts = emptyCounts();
  const libraryFolders = new Map<number, PstFolder>();
  const index = (folder: PstFolder) => {
    libraryFolders.set(folder.nid, folder);
    folder.children.forEach(index);
  };
  index(reader.root);
  const fingerprint = reader.store.fingerprint;
  let read = 0;
  const stopWith = (error: unknown) => {
    counts.stopped ??= describeFailure(error);
    Atomics.store(control, STOP, 1);
  };
  for (const folder of job.folders) {
    const pstFolder = libraryFolders.get(folder.nid);
    if (!pstFolder) continue;
    const failed = (nid: number | null, error: unknown) => {
      counts.failed.push({ folder: folder.where, nid, detail: describeFailure(error) });
      if (isFatalWrite(error)) stopWith(error);
    };
    let existing: Map<string, string> | null = null;
    if (folder.mailDir !== null && job.format === 'maildir') {
      try {
        existing = maildirNames(join(folder.mailDir, 'cur'));
      } catch (error) {
        // Every thread meets it; the first share says so.
        if (job.share.index === 0) failed(null, error);
        continue;
      }
    }
    for (const entry of reader.items(pstFolder, job.share)) {
      // A full or read-only disk fails every file after it: no more are read once one has, here or in
      // another thread.
      if (Atomics.load(control, STOP) === 1) return counts;
      if (isReadProblem(entry)) {
        counts.failed.push({ folder: folder.where, nid: entry.nid, detail: entry.detail });
        continue;
      }
      // Reading is synchronous: give this thread's event loop (the progress bar, the other threads'
      // answers, Ctrl-C) a turn now and then.
      Atomics.add(control, DONE, 1);
      if (++read % YIELD_EVERY === 0) await yieldToEventLoop();
      const decision = decideItem(entry, job.selection, job.sizeLimit);
      if (decision.action === 'skip') {
        if (decision.reason === 'non-mail' && folder.otherDir !== null) {
          try {
            const file = renderOtherItem(reader.readMessage(entry.nid));
            mkdirSync(folder.otherDir, { recursive: true });
            writeFileAtomically(emlFile(join(folder.otherDir, `${entry.nid}.${file.extension}`), file.bytes));
            counts.otherWritten++;
            counts.otherKinds[entry.kind] = (counts.otherKinds[entry.kind] ?? 0) + 1;
          } catch (error) {
            failed(entry.nid, error);
          }
          continue;
        }
        counts.skipped[decision.reason]++;
        if (decision.reason === 'non-mail') counts.nonMailKinds[entry.kind] = (counts.nonMailKinds[entry.kind] ?? 0) + 1;
        continue;
      }
      if (folder.mailDir === null) continue;
      try {
        const rebuilt = await rebuildMessage(reader.readMessage(entry.nid), { storeFingerprint: fingerprint, folderRole: folder.role });
        for (const warning of rebuilt.warnings) counts.warnings.push({ folder: folder.where, nid: entry.nid, code: warning.code, detail: warning.detail });
        const file =
          job.format === 'eml'
            ? emlFile(join(folder.mailDir, `${entry.nid}.eml`), rebuilt.bytes)
            : maildirFile(folder.mailDir, existing!, maildirBase(rebuilt.internalDate, entry.nid, fingerprint), rebuilt.bytes, rebuilt.flags);
        writeFileAtomically(file);
        counts.written++;
        counts.writtenBytes += rebuilt.bytes.length;
      } catch (error) {
        failed(entry.nid, error);
      }
    }
  }
  return counts;
}

export interface ExportRunOptions {
  codepage?: number;
  format: ExportFormat;
  selection: SelectionOptions;
  sizeLimit: number | null;
  /** In the order they are to be written (the plan's). */
  folders: ExportFolder[];
  /** The number of items the folders hold, for the number of threads and the progress. */
  items: number;
  /** Threads to use, this one included (default: one per core, at most EXPORT_THREADS_MAX, fewer for few items). */
  threads?: number;
  /** Called now and then with the items done so far. */
  onProgress?: (done: number) => void;
}

export function exportThreads(items: number): number {
  return Math.max(1, Math.min(availableParallelism(), EXPORT_THREADS_MAX, Math.ceil(items / ITEMS_PER_THREAD_MIN)));
}

/**
 * Exports the folders' items and adds up what was done: share 0 in this thread, with `reader` (open
 * already, its modules loaded), the other shares in worker threads, which start first so that their
 * start-up (loading the modules, opening the PST: some 0.2 s) runs beside this thread's work. Failures
 * and warnings come in the folders' order, then by item.
 */
export async function exportFolders(reader: PstReader, options: ExportRunOptions): Promise<ExportCounts> {
  const threads = options.threads ?? exportThreads(options.items);
  const control = new SharedArrayBuffer(2 * Int32Array.BYTES_PER_ELEMENT);
  const shared = new Int32Array(control);
  const job = (index: number): ExportJob => ({
    pstPath: reader.store.path,
    codepage: options.codepage,
    language: currentLanguage(),
    format: options.format,
    selection: options.selection,
    sizeLimit: options.sizeLimit,
    folders: options.folders,
    share: { index, of: threads },
    control,
  });
  const script = threads > 1 ? workerScript(import.meta.url, './export-worker.js') : '';
  const others = Array.from({ length: threads - 1 }, (_, at) => runThread(script, job(at + 1), shared));
  const progress = options.onProgress ? setInterval(() => options.onProgress!(Atomics.load(shared, DONE)), 100) : null;
  let answers: ExportAnswer[];
  try {
    const own = exportShare(reader, job(0), shared).then(
      (counts): ExportAnswer => ({ type: 'done', counts }),
      (error: unknown): ExportAnswer => {
        Atomics.store(shared, STOP, 1);
        return { type: 'failed', message: t('export.threadFailed', { what: describeFailure(error) }) };
      },
    );
    answers = await Promise.all([own, ...others]);
  } finally {
    if (progress) clearInterval(progress);
  }
  options.onProgress?.(Atomics.load(shared, DONE));
  const total = emptyCounts();
  for (const answer of answers) {
    if (answer.type === 'failed') {
      // Its share of the items was not all written: the run stopped, and says so.
      total.failed.push({ folder: '', nid: null, detail: answer.message });
      total.stopped ??= answer.message;
      continue;
    }
    addCounts(total, answer.counts);
  }
  const folderOrder = new Map<string, number>();
  options.folders.forEach((folder, at) => folderOrder.has(folder.where) || folderOrder.set(folder.where, at));
  const byPlace = (a: ExportProblem, b: ExportProblem) => (folderOrder.get(a.folder) ?? -1) - (folderOrder.get(b.folder) ?? -1) || (a.nid ?? -1) - (b.nid ?? -1);
  total.failed.sort(byPlace);
  total.warnings.sort(byPlace);
  return total;
}

function addCounts(total: ExportCounts, part: ExportCounts): void {
  total.written += part.written;
  total.writtenBytes += part.writtenBytes;
  total.otherWritten += part.otherWritten;
  for (const [kind, count] of Object.entries(part.otherKinds)) total.otherKinds[kind as ItemKind] = (total.otherKinds[kind as ItemKind] ?? 0) + count;
  for (const [reason, count] of Object.entries(part.skipped)) total.skipped[reason as SkipReason] += count;
  for (const [kind, count] of Object.entries(part.nonMailKinds)) total.nonMailKinds[kind as ItemKind] = (total.nonMailKinds[kind as ItemKind] ?? 0) + count;
  total.failed.push(...part.failed);
  total.warnings.push(...part.warnings);
  total.stopped ??= part.stopped;
}

/** One thread, to its answer; a thread that dies answers 'failed', and the others are stopped. */
function runThread(script: string, job: ExportJob, shared: Int32Array): Promise<ExportAnswer> {
  return new Promise((resolve) => {
    let answer: ExportAnswer | null = null;
    const worker = new Worker(script, { workerData: job });
    const fail = (message: string) => {
      answer ??= { type: 'failed', message: t('export.threadFailed', { what: message }) };
      Atomics.store(shared, STOP, 1);
    };
    worker.on('message', (message: ExportAnswer) => {
      if (message.type === 'failed') fail(message.message);
      else answer ??= message;
      // Its answer is its last word: a timer or handle some library left behind must not keep the
      // run waiting for the thread to end by itself.
      void worker.terminate();
    });
    worker.on('error', (error) => fail(error.message));
    worker.on('exit', (code) => {
      if (answer === null) fail(`exit code ${code}`);
      resolve(answer!);
    });
  });
}
