import type { FolderRole } from '../pst/types.js';

/**
 * What the plan knows of the target server. Filled by src/target's read-only probe (`plan --to`), or by
 * a provider preset when no server is asked; the plan itself never talks to a server.
 */
export interface ServerFacts {
  /** Hierarchy delimiter from LIST "" "" (Outlook.com: '/'). */
  delimiter: string;
  /** Mailbox path of each special-use folder the server advertises (RFC 6154), by role. */
  specialUse: Partial<Record<FolderRole, string>>;
  /** Existing mailboxes (decoded to Unicode paths, delimiter as the server's) and their message counts;
   * a count is null when it was not asked. */
  mailboxes: Record<string, number | null>;
  /** Server accepts UTF-8 mailbox names (RFC 6855 UTF8=ACCEPT); otherwise names go as modified UTF-7. */
  utf8Accept: boolean;
  /** APPENDLIMIT (RFC 7889) in bytes, when advertised. */
  appendLimit: number | null;
  /** Mailbox names the server or provider refuses (Outlook.com: 'Files', ...), compared without case. */
  reservedNames: string[];
  /** Longest mailbox name segment the server accepts, in characters (null: no known limit). */
  maxNameLength: number | null;
  capabilities: string[];
}

/** The options `plan` shares with `migrate` and `export`, validated by the CLI. */
export interface SelectionOptions {
  /** PST folder paths or globs ('Inbox', 'Inbox/**', '受信トレイ/*'); empty: every mail folder. */
  folders: string[];
  /** Paths or globs left out, after `folders`. */
  exclude: string[];
  /** Put every target folder under this prefix ('PST/2019'); '' for none. */
  targetRoot: string;
  /** Explicit mappings, PST path to target path ('Inbox/Old=Archive/2019'), applied before the rest. */
  map: Array<{ from: string; to: string }>;
  /** Merge special folders (Inbox, Sent Items, ...) into the server's own special-use folders. */
  mergeSpecial: boolean;
  /** Keep items whose date is on or after `since` and before `before`. */
  since: Date | null;
  before: Date | null;
  /** Skip items bigger than this, in bytes (null: no limit beyond the server's). */
  maxSize: number | null;
}
