/**
 * The one small interface the engine sends mail through: an IMAP account (imap.ts) or a Maildir tree
 * (maildir.ts). A Target opens sessions (one per connection); a session creates folders, appends, and
 * finds what is already there. Credentials never pass through here: an IMAP target asks its credential
 * source for them each time it connects, so an OAuth2 token that expired is replaced on reconnect.
 */
import type { ImapFlag } from '../mime/types.js';
import type { ServerFacts } from '../plan/types.js';

/** Where a stored message is: APPENDUID (RFC 4315) when the server has UIDPLUS, else nulls. */
export interface StoredAt {
  uidValidity: number | null;
  uid: number | null;
}

export interface AppendRequest {
  mailbox: string;
  bytes: Buffer;
  flags: ImapFlag[];
  internalDate: Date | null;
}

export interface TargetSession {
  /**
   * How many appends may be outstanding on this session at once: more than one where the session
   * pipelines them (IMAP with LITERAL+), 1 where each waits for the one before.
   */
  readonly depth: number;
  /** False once the connection is known to be lost: nothing more goes through this session. */
  readonly usable: boolean;
  /** What the server advertises: delimiter, special-use folders (by attribute, never by name), limits. */
  facts(): Promise<ServerFacts>;
  /** Creates `mailbox` and any missing parent, and subscribes them; nothing when it exists. */
  ensureMailbox(mailbox: string): Promise<void>;
  /** Stores one message. Resolves only on the server's tagged OK; rejects with the server's words. */
  append(request: AppendRequest): Promise<StoredAt>;
  /** Where messages with this Message-ID are in `mailbox` (SEARCH HEADER Message-ID); [] when none. */
  lookUp(mailbox: string, messageId: string): Promise<StoredAt[]>;
  /**
   * Every Message-ID in `mailbox` with how many messages carry it: one query per folder (for
   * --skip-existing and verify). Messages without a Message-ID are counted under ''.
   */
  messageIds(mailbox: string): Promise<Map<string, number>>;
  close(): Promise<void>;
}

export interface Target {
  /** `imaps://host:port` or `maildir:DIR`, without credentials (as the checkpoint store keeps it). */
  readonly url: string;
  readonly user: string;
  /** The most appends a session of this target may have outstanding at once (see TargetSession.depth). */
  readonly depth: number;
  /** Opens one connection (signing in with fresh credentials). */
  open(): Promise<TargetSession>;
}

/** Message-IDs compare without their angle brackets and surrounding space, case kept (RFC 5322 3.6.4). */
export function normalizeMessageId(value: string): string {
  const trimmed = value.trim();
  const match = /<([^>]*)>/.exec(trimmed);
  return (match ? match[1] : trimmed).trim();
}

/** The Message-ID in a block of header lines (unfolded), or ''. */
export function messageIdOfHeaders(headers: string): string {
  const unfolded = headers.replace(/\r?\n[ \t]+/g, ' ');
  const match = /^message-id:[ \t]*(.*)$/im.exec(unfolded);
  return match ? normalizeMessageId(match[1]) : '';
}

/**
 * What went wrong with a target operation, as the engine needs it to decide:
 * - `throttled`: the server asked to slow down (Outlook.com: "Request is throttled. Suggested Backoff
 *   Time: N milliseconds"); wait `retryAfterMs`, then try again. Nothing was stored.
 * - `connection`: the connection dropped, timed out or was closed (`* BYE`, a reset, Outlook.com's
 *   "User is authenticated but not connected"): reconnect; an APPEND may or may not have been stored.
 * - `refused`: the server answered NO or BAD: nothing was stored; trying again may not help.
 * - `auth`: sign-in refused: new credentials are needed.
 * - `local`: a Maildir write failed (disk full, permissions).
 */
export type FailureKind = 'throttled' | 'connection' | 'refused' | 'auth' | 'local';

export class TargetFailure extends Error {
  constructor(
    readonly kind: FailureKind,
    /** The server's (or the system's) own words, verbatim. */
    readonly serverWords: string,
    options: { cause?: unknown; retryAfterMs?: number; code?: string; collateral?: boolean; unsent?: boolean } = {},
  ) {
    super(serverWords, { cause: options.cause });
    this.name = 'TargetFailure';
    this.retryAfterMs = options.retryAfterMs ?? null;
    this.code = options.code ?? null;
    this.collateral = options.collateral ?? false;
    this.unsent = options.unsent ?? false;
  }

  readonly retryAfterMs: number | null;
  readonly code: string | null;
  /**
   * A lost connection that took this APPEND down with others unanswered on it (pipelining): which one
   * the server was busy with cannot be told, so the loss says little about this message.
   */
  readonly collateral: boolean;
  /** The command never left: the connection was already gone. Nothing can have been stored. */
  readonly unsent: boolean;

  /** The same failure, marked collateral or unsent. */
  marked(marks: { collateral?: boolean; unsent?: boolean }): TargetFailure {
    return new TargetFailure(this.kind, this.serverWords, {
      cause: this.cause,
      code: this.code ?? undefined,
      retryAfterMs: this.retryAfterMs ?? undefined,
      collateral: marks.collateral ?? this.collateral,
      unsent: marks.unsent ?? this.unsent,
    });
  }
}
