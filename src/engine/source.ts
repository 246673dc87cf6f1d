/**
 * The engine's handle on the PST reader worker: open, list the items, read rebuilt messages. Memory is
 * bounded by the caller, which asks for only a few messages at a time (see Prefetcher in migrate.ts).
 */
import { Worker } from 'node:worker_threads';
import { Pst2ImapError, type ErrorCode } from '../errors.js';
import type { RebuiltMessage } from '../mime/types.js';
import type { FolderRole, MessageSummary, PstFolder, PstStore, ReadProblem } from '../pst/types.js';
import { workerScript } from '../workers.js';
import type { FromWorker, ToWorker, WorkerInput } from './protocol.js';

/**
 * The reader thread's young generation, MB (see PstSource.open). Measured peak RSS of migrate on a 1.1 GB
 * PST: 322 MB with 32 (about V8's default), 287 with 4, 274 with 2; no change in time worth measuring.
 */
const WORKER_YOUNG_GENERATION_MB = 4;

/** A rebuilt message, with the item it came from. */
export interface RebuiltItem extends RebuiltMessage {
  nid: number;
}

export type ReadOutcome = ({ ok: true } & RebuiltItem) | { ok: false; nid: number; detail: string };

function toError(error: Extract<FromWorker, { type: 'failed' }>['error']): Error {
  if (error.code) return new Pst2ImapError(error.code as ErrorCode, error.params ?? {}, { detail: error.detail });
  return new Error(error.message);
}

export class PstSource {
  private readonly pendingReads = new Map<number, Array<(outcome: ReadOutcome) => void>>();
  private scanListener: ((message: FromWorker) => void) | null = null;
  private failure: Error | null = null;
  private closed = false;

  private constructor(
    private readonly worker: Worker,
    readonly store: PstStore,
    readonly root: PstFolder,
    readonly problems: ReadProblem[],
  ) {
    worker.on('message', (message: FromWorker) => this.onMessage(message));
    worker.on('error', (error) => this.fail(error));
    worker.on('exit', () => {
      if (!this.closed) this.fail(new Error('the PST reader stopped unexpectedly'));
    });
  }

  static async open(input: WorkerInput): Promise<PstSource> {
    // A small young generation: the reader's garbage (PST blocks, MIME text, base64 of every message) is
    // let go at each of the frequent scavenges instead of piling up between rare ones.
    const worker = new Worker(workerScript(import.meta.url, './reader-worker.js'), { workerData: input, resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB } });
    let onMessage: (message: FromWorker) => void = () => {};
    let onError: (error: Error) => void = () => {};
    let onExit: (code: number) => void = () => {};
    const first = await new Promise<FromWorker>((resolve, reject) => {
      onMessage = resolve;
      onError = reject;
      onExit = (code) => reject(new Error(`the PST reader exited (${code})`));
      worker.once('message', onMessage);
      worker.once('error', onError);
      worker.once('exit', onExit);
    });
    // Only our own listeners go: the Worker keeps internal ones that must stay.
    worker.off('message', onMessage);
    worker.off('error', onError);
    worker.off('exit', onExit);
    if (first.type === 'failed') {
      await worker.terminate();
      throw toError(first.error);
    }
    if (first.type !== 'opened') throw new Error(`unexpected first message from the PST reader: ${first.type}`);
    return new PstSource(worker, first.store, first.root, first.problems);
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const [nid, waiters] of this.pendingReads) {
      for (const waiter of waiters) waiter({ ok: false, nid, detail: `${error.message}` });
    }
    this.pendingReads.clear();
    this.scanListener?.({ type: 'failed', error: { message: error.message } });
  }

  private onMessage(message: FromWorker): void {
    switch (message.type) {
      case 'items':
      case 'scanned':
        this.scanListener?.(message);
        return;
      case 'failed':
        if (this.scanListener) this.scanListener(message);
        else this.fail(toError(message.error));
        return;
      case 'message':
      case 'unreadable': {
        const waiters = this.pendingReads.get(message.nid);
        const waiter = waiters?.shift();
        if (waiters && waiters.length === 0) this.pendingReads.delete(message.nid);
        if (!waiter) return;
        waiter(
          message.type === 'message'
            ? {
                ok: true,
                nid: message.nid,
                bytes: Buffer.from(message.bytes.buffer, message.bytes.byteOffset, message.bytes.byteLength),
                flags: message.flags,
                internalDate: message.internalDate,
                messageId: message.messageId,
                messageIdDerived: message.messageIdDerived,
                warnings: message.warnings,
              }
            : { ok: false, nid: message.nid, detail: message.detail },
        );
        return;
      }
      default:
        return;
    }
  }

  private send(request: ToWorker): void {
    this.worker.postMessage(request);
  }

  /** Every item of every folder (summaries, or problems met reading them), folder by folder. */
  async *scan(): AsyncGenerator<{ folderNid: number; entries: Array<MessageSummary | ReadProblem> }> {
    const queue: FromWorker[] = [];
    let wake: (() => void) | null = null;
    this.scanListener = (message) => {
      queue.push(message);
      wake?.();
    };
    try {
      this.send({ type: 'scan' });
      for (;;) {
        while (queue.length === 0) await new Promise<void>((resolve) => (wake = resolve));
        wake = null;
        const message = queue.shift()!;
        if (message.type === 'scanned') return;
        if (message.type === 'failed') throw toError(message.error);
        if (message.type === 'items') yield { folderNid: message.folderNid, entries: message.entries };
      }
    } finally {
      this.scanListener = null;
    }
  }

  /** One message, read and rebuilt in the worker. Never rejects: an unreadable item is an outcome. */
  read(nid: number, folderRole: FolderRole | null): Promise<ReadOutcome> {
    if (this.failure) return Promise.resolve({ ok: false, nid, detail: this.failure.message });
    return new Promise((resolve) => {
      const waiters = this.pendingReads.get(nid) ?? [];
      waiters.push(resolve);
      this.pendingReads.set(nid, waiters);
      this.send({ type: 'read', nid, folderRole });
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.worker.terminate();
  }
}
