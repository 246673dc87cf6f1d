/**
 * Messages as files (`export`): an .eml file per message, or Maildir `cur/` files with the flags in their
 * names. Names are stable so that a second run overwrites what the first wrote instead of adding copies:
 * `<folder>/<nid>.eml`, or `cur/<date>.N<nid>.pst2imap-<store>,S=<size>:2,<flags>`. Every file is
 * written beside its final name and renamed over it, so a reader never sees half a file.
 */
import { readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ImapFlag } from '../mime/types.js';
import { maildirFlags } from './maildir.js';

export type ExportFormat = 'eml' | 'maildir';

/**
 * A mailbox path as directories: each segment made safe for file systems ('/' and NUL cannot be in a
 * name; Windows refuses <>:"\|?*; '.' and '..' mean something else), and in Maildir never cur/new/tmp.
 */
export function folderDirectories(target: string, format: ExportFormat): string[] {
  return target.split('/').map((segment) => {
    let safe = segment.replace(/[\u0000-\u001f<>:"\\|?*]/g, '_').replace(/[. ]+$/, '');
    if (safe === '' || safe === '.' || safe === '..') safe = '_';
    // Names Windows keeps for devices, whatever the extension.
    if (/^(con|prn|aux|nul|com\d|lpt\d)(\..*)?$/i.test(safe)) safe = `${safe}_`;
    if (format === 'maildir' && /^(cur|new|tmp)$/i.test(safe)) safe = `${safe}_`;
    return safe;
  });
}

/** Maildir info (https://cr.yp.to/proto/maildir.html): '2,' and the flags' letters, as the Maildir target writes them. */
export function maildirInfo(flags: ImapFlag[]): string {
  return `2,${maildirFlags(flags)}`;
}

/**
 * The unique part of a Maildir file name: the message's date (readers sort by it), the item's node ID and
 * the store it came from. The same item gets the same name on every run.
 */
export function maildirBase(internalDate: Date | null, nid: number, fingerprint: string): string {
  const seconds = internalDate ? Math.max(0, Math.floor(internalDate.getTime() / 1000)) : 0;
  return `${seconds}.N${nid}.pst2imap-${fingerprint.slice(0, 12)}`;
}

/** File names in a Maildir's cur/ by their unique part (before ',S=' or ':2,'). */
export function maildirNames(cur: string): Map<string, string> {
  const names = new Map<string, string>();
  for (const name of readdirSync(cur)) names.set(name.split(/[,:]/)[0], name);
  return names;
}

/** A file to write: where it goes, where its bytes go first, and a file it replaces. */
export interface FileWrite {
  path: string;
  /** In the same folder as `path` (or Maildir's tmp/ beside cur/), so that the rename is atomic. */
  temporary: string;
  bytes: Uint8Array;
  /** A file this one replaces, removed once it is in place (a Maildir name whose flags changed). */
  replaces: string | null;
}

/** An .eml file: written beside its name and renamed over it. */
export function emlFile(path: string, bytes: Uint8Array): FileWrite {
  return { path, temporary: `${path}.pst2imap-${process.pid}.tmp`, bytes, replaces: null };
}

/**
 * Maildir delivery of an exported message: written in tmp/, renamed into cur/ with its flags. A file a
 * previous run wrote for the same item (same unique part) is replaced, whatever its flags were then.
 * `existing` is the folder's names by unique part (maildirNames), kept up to date.
 */
export function maildirFile(dir: string, existing: Map<string, string>, base: string, bytes: Uint8Array, flags: ImapFlag[]): FileWrite {
  const name = `${base},S=${bytes.length}:${maildirInfo(flags)}`;
  const previous = existing.get(base);
  existing.set(base, name);
  return { path: join(dir, 'cur', name), temporary: join(dir, 'tmp', name), bytes, replaces: previous ? join(dir, 'cur', previous) : null };
}

/** Writes the file beside its name and renames it over that name; a failed write leaves nothing behind. */
export function writeFileAtomically(file: FileWrite): void {
  try {
    writeFileSync(file.temporary, file.bytes);
    renameSync(file.temporary, file.path);
  } catch (error) {
    // A disk that filled up mid-file leaves no part of it behind.
    rmSync(file.temporary, { force: true });
    throw error;
  }
  if (file.replaces !== null && file.replaces !== file.path) rmSync(file.replaces, { force: true });
}

/** Errors of the output disk that every further file would meet too: writing stops at the first. */
const FATAL_WRITE_ERRORS = new Set(['ENOSPC', 'EDQUOT', 'EROFS', 'EACCES', 'EPERM', 'EIO']);

export function isFatalWrite(error: unknown): boolean {
  return FATAL_WRITE_ERRORS.has((error as NodeJS.ErrnoException)?.code ?? '');
}
