/**
 * The PST side of a migration, in a worker thread: pst-extractor reads synchronously (seconds for a big
 * attachment), so the event loop that talks to the server, answers Ctrl-C and draws progress must not
 * wait for it. This worker opens the PST, lists its items, and reads and rebuilds one message at a time
 * when the engine asks; the engine asks for only a few at a time, which keeps memory bounded.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Pst2ImapError } from '../errors.js';
import { rebuildMessage } from '../mime/index.js';
import { openPst, type MessageSummary, type PstFolder, type PstReader, type ReadProblem } from '../pst/index.js';
import type { FromWorker, ToWorker, WorkerInput } from './protocol.js';

const ITEMS_PER_POST = 500;
/** Memory of at least this size is a message's own (Node's shared pool of small buffers is 8 KB). */
const MIN_OWN_BYTES = 64 * 1024;

const port = parentPort!;
const input = workerData as WorkerInput;

function post(message: FromWorker, transfer: ArrayBuffer[] = []): void {
  port.postMessage(message, transfer);
}

function describeError(error: unknown): Extract<FromWorker, { type: 'failed' }>['error'] {
  if (error instanceof Pst2ImapError) return { code: error.code, params: error.params, detail: error.detail, message: error.message };
  return { message: error instanceof Error ? error.message : String(error) };
}

let reader: PstReader;
try {
  reader = openPst(input.pstPath, { codepage: input.codepage });
  post({ type: 'opened', store: reader.store, root: reader.root, problems: reader.problems });
} catch (error) {
  post({ type: 'failed', error: describeError(error) });
  process.exit(0);
}

function* allFolders(folder: PstFolder): Generator<PstFolder> {
  yield folder;
  for (const child of folder.children) yield* allFolders(child);
}

// Requests are handled one after another, in order: reading is synchronous, rebuilding is not.
let chain: Promise<void> = Promise.resolve();

port.on('message', (request: ToWorker) => {
  chain = chain.then(() => handle(request)).catch((error: unknown) => post({ type: 'failed', error: describeError(error) }));
});

async function handle(request: ToWorker): Promise<void> {
  switch (request.type) {
    case 'scan': {
      for (const folder of allFolders(reader.root)) {
        let entries: Array<MessageSummary | ReadProblem> = [];
        for (const entry of reader.items(folder)) {
          entries.push(entry);
          if (entries.length === ITEMS_PER_POST) {
            post({ type: 'items', folderNid: folder.nid, entries });
            entries = [];
          }
        }
        if (entries.length > 0) post({ type: 'items', folderNid: folder.nid, entries });
      }
      post({ type: 'scanned' });
      return;
    }
    case 'read': {
      let message;
      try {
        message = reader.readMessage(request.nid);
      } catch (error) {
        post({ type: 'unreadable', nid: request.nid, detail: error instanceof Pst2ImapError ? (error.params.what as string) ?? error.message : String(error) });
        return;
      }
      try {
        const rebuilt = await rebuildMessage(message, { storeFingerprint: reader.store.fingerprint, folderRole: request.folderRole });
        const bytes = new Uint8Array(rebuilt.bytes.buffer, rebuilt.bytes.byteOffset, rebuilt.bytes.byteLength);
        // Moved (not copied) to the engine. A buffer that owns its memory is moved as it is, with the
        // little the rebuild's size estimate left unused behind it (never written, so never resident);
        // one that is a view into a shared block, or into much more, is copied into one of its own first.
        const memory = bytes.buffer;
        const ownsAll =
          memory instanceof ArrayBuffer &&
          bytes.byteOffset === 0 &&
          (bytes.byteLength === memory.byteLength || (memory.byteLength >= MIN_OWN_BYTES && memory.byteLength - bytes.byteLength <= Math.max(MIN_OWN_BYTES, bytes.byteLength / 2)));
        const owned = ownsAll ? bytes : new Uint8Array(bytes);
        post(
          {
            type: 'message',
            nid: request.nid,
            bytes: owned,
            flags: rebuilt.flags,
            internalDate: rebuilt.internalDate,
            messageId: rebuilt.messageId,
            messageIdDerived: rebuilt.messageIdDerived,
            warnings: rebuilt.warnings,
          },
          [owned.buffer as ArrayBuffer],
        );
      } catch (error) {
        post({ type: 'unreadable', nid: request.nid, detail: `the message could not be rebuilt: ${error instanceof Error ? error.message : String(error)}` });
      }
      return;
    }
    case 'close':
      reader.close();
      port.close();
      return;
  }
}
