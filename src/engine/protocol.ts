/** Messages between the engine and its PST reader worker (reader-worker.ts). */
import type { ImapFlag, RebuildWarning } from '../mime/types.js';
import type { FolderRole, MessageSummary, PstFolder, PstStore, ReadProblem } from '../pst/types.js';

export interface WorkerInput {
  pstPath: string;
  codepage?: number;
}

export type ToWorker =
  | { type: 'scan' }
  | { type: 'read'; nid: number; folderRole: FolderRole | null }
  | { type: 'close' };

export type FromWorker =
  | { type: 'opened'; store: PstStore; root: PstFolder; problems: ReadProblem[] }
  | { type: 'items'; folderNid: number; entries: Array<MessageSummary | ReadProblem> }
  | { type: 'scanned' }
  | {
      type: 'message';
      nid: number;
      bytes: Uint8Array;
      flags: ImapFlag[];
      internalDate: Date | null;
      messageId: string;
      messageIdDerived: boolean;
      warnings: RebuildWarning[];
    }
  | { type: 'unreadable'; nid: number; detail: string }
  | { type: 'failed'; error: { code?: string; params?: Record<string, string | number>; detail?: string; message: string } };
