/**
 * A Maildir tree as a Target (`--to maildir:DIR`): a try-out with no server, and a backup path. Folders
 * are directories named as the mailbox path, one level per segment (`DIR/Archive/2019/{cur,new,tmp}`,
 * like mbsync's `SubFolders Verbatim`); INBOX is `DIR/INBOX`.
 *
 * Delivery follows the Maildir rules (https://cr.yp.to/proto/maildir.html): the message is written in
 * tmp/, fsynced, then renamed into cur/ with its flags in the name (`:2,FRS`), and the folder is fsynced
 * so that the rename itself survives a crash. A crash leaves at most a file in tmp/, which no reader
 * takes for a message.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readSync, renameSync, statSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import type { ImapFlag } from '../mime/types.js';
import type { ServerFacts } from '../plan/types.js';
import { TargetFailure, messageIdOfHeaders, normalizeMessageId, type AppendRequest, type StoredAt, type Target, type TargetSession } from './target.js';

/** Maildir info flags, in the ASCII order the specification asks for. */
const FLAG_LETTERS: Partial<Record<ImapFlag, string>> = {
  '\\Draft': 'D',
  '\\Flagged': 'F',
  '$Forwarded': 'P',
  '\\Answered': 'R',
  '\\Seen': 'S',
};

const HEADER_READ_LIMIT = 64 * 1024;

export function maildirFlags(flags: ImapFlag[]): string {
  return flags
    .map((flag) => FLAG_LETTERS[flag])
    .filter((letter): letter is string => letter !== undefined)
    .sort()
    .join('');
}

export class MaildirTarget implements Target {
  readonly url: string;
  readonly user = '';
  /** Files are written one at a time: nothing to pipeline. */
  readonly depth = 1;
  readonly root: string;

  constructor(dir: string) {
    this.root = resolve(dir);
    this.url = `maildir:${this.root}`;
  }

  async open(): Promise<TargetSession> {
    try {
      mkdirSync(this.root, { recursive: true, mode: 0o700 });
    } catch (error) {
      throw localFailure(error);
    }
    return new MaildirSession(this.root);
  }
}

function localFailure(error: unknown): TargetFailure {
  const code = (error as NodeJS.ErrnoException).code;
  return new TargetFailure('local', error instanceof Error ? error.message : String(error), { cause: error, code });
}

let deliveries = 0;

/**
 * What a tree of folders on disk (a Maildir, or `export`'s .eml folders) is as a target: any UTF-8 name,
 * one directory per mailbox segment, INBOX as 'INBOX', no special-use folders of its own, and names no
 * longer than file systems take.
 */
export const FOLDER_TREE_FACTS: ServerFacts = {
  delimiter: '/',
  specialUse: { inbox: 'INBOX' },
  mailboxes: {},
  utf8Accept: true,
  appendLimit: null,
  reservedNames: [],
  maxNameLength: 255,
  capabilities: [],
};

class MaildirSession implements TargetSession {
  readonly depth = 1;
  readonly usable = true;
  constructor(private readonly root: string) {}

  async facts(): Promise<ServerFacts> {
    return { ...FOLDER_TREE_FACTS, specialUse: { ...FOLDER_TREE_FACTS.specialUse }, mailboxes: {} };
  }

  private folderDir(mailbox: string): string {
    const segments = mailbox.split('/').filter((segment) => segment !== '' && segment !== '.' && segment !== '..');
    return join(this.root, ...segments);
  }

  async ensureMailbox(mailbox: string): Promise<void> {
    const dir = this.folderDir(mailbox);
    try {
      for (const sub of ['tmp', 'new', 'cur']) mkdirSync(join(dir, sub), { recursive: true, mode: 0o700 });
    } catch (error) {
      throw localFailure(error);
    }
  }

  async append(request: AppendRequest): Promise<StoredAt> {
    const dir = this.folderDir(request.mailbox);
    await this.ensureMailbox(request.mailbox);
    const time = request.internalDate ?? new Date();
    const unique = `${Math.floor(time.getTime() / 1000)}.P${process.pid}Q${++deliveries}R${randomBytes(6).toString('hex')}.${hostname().replace(/[/:]/g, '_')}`;
    const name = `${unique},S=${request.bytes.length}`;
    const temporary = join(dir, 'tmp', name);
    try {
      const fd = openSync(temporary, 'wx', 0o600);
      try {
        let written = 0;
        while (written < request.bytes.length) written += writeSync(fd, request.bytes, written);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(temporary, join(dir, 'cur', `${name}:2,${maildirFlags(request.flags)}`));
      syncDirectory(join(dir, 'cur'));
    } catch (error) {
      throw localFailure(error);
    }
    return { uidValidity: null, uid: null };
  }

  /** Message-ID of every message file of the folder (cur/ and new/), by file name. */
  private *messages(mailbox: string): Generator<{ file: string; messageId: string }> {
    const dir = this.folderDir(mailbox);
    for (const sub of ['cur', 'new']) {
      let names: string[];
      try {
        names = readdirSync(join(dir, sub));
      } catch {
        continue;
      }
      for (const name of names.sort()) {
        const file = join(dir, sub, name);
        yield { file, messageId: messageIdOfHeaders(readHeaders(file)) };
      }
    }
  }

  async lookUp(mailbox: string, messageId: string): Promise<StoredAt[]> {
    const wanted = normalizeMessageId(messageId);
    const found: StoredAt[] = [];
    for (const message of this.messages(mailbox)) {
      if (message.messageId === wanted) found.push({ uidValidity: null, uid: null });
    }
    return found;
  }

  async messageIds(mailbox: string): Promise<Map<string, number>> {
    const counts = new Map<string, number>();
    for (const message of this.messages(mailbox)) counts.set(message.messageId, (counts.get(message.messageId) ?? 0) + 1);
    return counts;
  }

  async close(): Promise<void> {}
}

/** The header block of a message file (up to the first empty line, at most 64 KiB). */
function readHeaders(file: string): string {
  const fd = openSync(file, 'r');
  try {
    const size = Math.min(statSync(file).size, HEADER_READ_LIMIT);
    const buffer = Buffer.alloc(size);
    const read = readSync(fd, buffer, 0, size, 0);
    const text = buffer.subarray(0, read).toString('latin1');
    const end = text.search(/\r?\n\r?\n/);
    return end === -1 ? text : text.slice(0, end);
  } finally {
    closeSync(fd);
  }
}

function syncDirectory(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
