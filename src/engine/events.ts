/**
 * What the engine tells whoever listens (progress bars, --json lines, tests). The engine never draws
 * anything itself.
 */
import type { StateCounts } from '../checkpoint/types.js';
import type { BackoffState } from './throttle.js';

export interface ItemRef {
  nid: number;
  folder: string[];
  mailbox: string;
  subject: string;
  date: string | null;
}

export type MigrateEvent =
  | { type: 'opened'; pst: string; target: string; user: string; jobId: number; resumed: boolean }
  | {
      type: 'planned';
      /** Items of this run's selection in the job, by state, before sending. */
      totals: StateCounts;
      /** Messages and bytes this run is going to send (before --limit). */
      toSend: number;
      toSendBytes: number;
      added: number;
    }
  | { type: 'recovered'; found: number; requeued: number }
  | { type: 'folder'; folder: string[]; mailbox: string; messages: number }
  | { type: 'sent'; item: ItemRef; size: number; uid: number | null }
  | { type: 'skipped'; item: ItemRef; reason: string }
  | { type: 'failed'; item: ItemRef; reason: string }
  | { type: 'retry'; item: ItemRef; attempt: number; reason: string }
  | { type: 'backoff'; state: BackoffState; connections: number; waitMs: number; reason: string }
  | { type: 'batch'; number: number; sent: number; sentBytes: number }
  | { type: 'pause'; ms: number }
  | { type: 'stopping'; reason: 'signal' | 'limit' | 'error' }
  | { type: 'finished'; result: MigrateSummary };

export interface MigrateSummary {
  jobId: number;
  /** finished: every selected item went through; interrupted: stopped (Ctrl-C, error); limit: --limit
   * or --limit-bytes reached, the rest waits for the next run. */
  status: 'finished' | 'interrupted' | 'limit';
  sent: number;
  sentBytes: number;
  skipped: number;
  failed: number;
  /** Found on the server after an interruption (sent before, answer lost): done without sending. */
  recovered: number;
  /** The whole job's counts after the run. */
  totals: StateCounts;
  /** Still to send (pending or in flight) in this run's selection. */
  remaining: number;
  reportFiles: string[];
}

export type MigrateListener = (event: MigrateEvent) => void;
