/** What the journal stores and hands back. Times are Date objects; folder paths are arrays of names. */

/**
 * An item's life: pending -> in_flight -> done. `in_flight` is written and committed before the APPEND is
 * sent, so after a crash an in-flight item is one the server may or may not have: the engine looks it up
 * (by Message-ID) before sending it again. `done` is written only after the server's tagged OK.
 * `skipped` (not sent on purpose: not mail, too big, ...) and `failed` (gave up; retry() puts failed
 * items back to pending on the next run) end an item's run.
 */
export type ItemState = 'pending' | 'in_flight' | 'done' | 'skipped' | 'failed';
export const ITEM_STATES: readonly ItemState[] = ['pending', 'in_flight', 'done', 'skipped', 'failed'];

/** `running` is only what the last process wrote: a job whose process died is reported `interrupted`. */
export type JobStatus = 'running' | 'interrupted' | 'finished';

/** Where the mail goes, without credentials: `imaps://host:port` or `maildir:DIR`, and the account. */
export interface TargetDescription {
  url: string;
  /** Account name on the server; '' for targets without one. */
  user: string;
}

export interface JobSpec {
  /** PstStore.fingerprint: the same PST under another path or name is the same job. */
  fingerprint: string;
  pstPath: string;
  target: TargetDescription;
  /** The options of the run (selection, mapping, ...), kept for `resume` and reports. Fields whose name
   * says secret (password, token, ...) are dropped before storing. */
  options: Record<string, unknown>;
}

export interface JobInfo {
  id: number;
  fingerprint: string;
  pstPath: string;
  target: TargetDescription;
  options: Record<string, unknown>;
  status: JobStatus;
  /** The process that last claimed the job (for the message when a second one is refused). */
  owner: { pid: number; host: string } | null;
  createdAt: Date;
  updatedAt: Date;
}

/** One item of the plan, as the engine hands it to plan(). */
export interface PlannedItem {
  nid: number;
  /** PstFolder.path of the item's folder. */
  folderPath: string[];
  /** Mailbox on the target, as the plan mapped it. */
  targetMailbox: string;
  /** PR_MESSAGE_SIZE. */
  size: number;
}

export interface PlanResult {
  /** Items not known before: now pending. */
  added: number;
  /** Pending items whose folder or target mailbox changed (a new --map, a renamed folder). */
  retargeted: number;
  /** Items already known, left as they were. */
  unchanged: number;
}

export interface JournalItem {
  nid: number;
  folderPath: string[];
  targetMailbox: string;
  state: ItemState;
  size: number;
  appendedSize: number | null;
  contentHash: string | null;
  messageId: string | null;
  uidValidity: number | null;
  uid: number | null;
  attempts: number;
  lastError: string | null;
  skipReason: string | null;
  createdAt: Date;
  updatedAt: Date;
  inFlightAt: Date | null;
  doneAt: Date | null;
}

/** What the engine knows of an item just before sending it: how to find it on the server after a crash. */
export interface InFlightEntry {
  nid: number;
  messageId?: string | null;
  /** SHA-256 (hex) of the rebuilt bytes. */
  contentHash?: string | null;
  /** Length of the rebuilt bytes. */
  size?: number | null;
}

/** What the server said when it stored the item. uid and uidValidity come together, from APPENDUID. */
export interface DoneRecord {
  uidValidity?: number | null;
  uid?: number | null;
  messageId?: string | null;
  contentHash?: string | null;
  size?: number | null;
}

/** `refused`: the server said NO or BAD, so it did not store the item: back to pending.
 * `unknown`: the connection dropped before the tagged answer: the item stays in flight, to be looked up. */
export type AttemptOutcome = 'refused' | 'unknown';

export type StateCounts = Record<ItemState, number> & { total: number };

export interface FolderCounts extends StateCounts {
  folderPath: string[];
  targetMailbox: string;
}

export interface ItemFilter {
  state?: ItemState | ItemState[];
  folderPath?: string[];
}
