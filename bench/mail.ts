/**
 * The messages the upload runs push: synthetic ones of a fixed size (the 20 KB), or what readpst
 * makes of a PST; and the Maildir that mbsync reads them from.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** A plain RFC 5322 message of about `size` bytes, CRLF line ends, unique Message-ID. */
export function syntheticMessage(index: number, size: number, tag: string): Buffer {
  const date = new Date(Date.UTC(2020, 0, 1) + index * 60_000);
  const head = [
    `From: Sender ${index % 97} <sender${index % 97}@example.com>`,
    'To: Bench <bench@example.com>',
    `Subject: bench message ${index} (${tag})`,
    `Date: ${date.toUTCString().replace('GMT', '+0000')}`,
    `Message-ID: <bench-${tag}-${index}@pst2imap.example>`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=us-ascii',
    'Content-Transfer-Encoding: 7bit',
    '',
    '',
  ].join('\r\n');
  const lines: string[] = [];
  let length = head.length;
  // Bounded: about size / 78 lines.
  for (let line = 0; length < size; line++) {
    const text = `${index} ${line} Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor.`.slice(0, 76);
    lines.push(text);
    length += text.length + 2;
  }
  return Buffer.from(head + lines.join('\r\n') + '\r\n');
}

export interface MessageSet {
  /** Where the messages come from, for the report. */
  label: string;
  /** Mailbox name (relative) -> messages. */
  folders: Map<string, Buffer[]>;
  count: number;
  bytes: number;
}

export function syntheticSet(count: number, size: number, tag: string): MessageSet {
  const messages: Buffer[] = [];
  let bytes = 0;
  for (let i = 0; i < count; i++) {
    const message = syntheticMessage(i, size, tag);
    messages.push(message);
    bytes += message.length;
  }
  return { label: `${count} synthetic messages of ${(size / 1024).toFixed(0)} KB`, folders: new Map([['bench', messages]]), count, bytes };
}

/** Splits a set into `parts` sets of whole messages, round robin, for one connection each. */
export function splitSet(set: MessageSet, parts: number): MessageSet[] {
  const out: MessageSet[] = Array.from({ length: parts }, () => ({ label: set.label, folders: new Map(), count: 0, bytes: 0 }));
  let turn = 0;
  for (const [folder, messages] of set.folders) {
    for (const message of messages) {
      const part = out[turn++ % parts];
      const list = part.folders.get(folder) ?? [];
      list.push(message);
      part.folders.set(folder, list);
      part.count++;
      part.bytes += message.length;
    }
  }
  return out;
}

/**
 * Writes a set as a Maildir++-less tree (SubFolders Verbatim for mbsync): `root/<prefix><folder>/cur/`.
 * Files are named as Maildir wants them and marked seen, as readpst's files would be once moved there.
 */
export function writeMaildir(set: MessageSet, root: string, prefix: string): string[] {
  const names: string[] = [];
  let n = 0;
  for (const [folder, messages] of set.folders) {
    const name = `${prefix}${folder}`;
    names.push(name);
    for (const sub of ['cur', 'new', 'tmp']) mkdirSync(join(root, name, sub), { recursive: true });
    for (const message of messages) {
      writeFileSync(join(root, name, 'cur', `1600000000.${process.pid}_${n++}.bench:2,S`), message);
    }
  }
  return names;
}

/**
 * Turns readpst's output (`-e`: one `N.eml` per message in a folder tree) into a Maildir in place: each
 * folder that holds .eml files gets cur/new/tmp and its files are renamed into cur/. Returns the folders
 * (relative to root) and the count. This is the glue a user of readpst + mbsync has to write.
 */
export function readpstOutputToMaildir(root: string): { folders: string[]; count: number; bytes: number } {
  const folders: string[] = [];
  let count = 0;
  let bytes = 0;
  const walk = (relative: string, depth: number): void => {
    if (depth > 64) return;
    const dir = join(root, relative);
    const entries = readdirSync(dir, { withFileTypes: true });
    const emls = entries.filter((e) => e.isFile() && e.name.endsWith('.eml'));
    if (emls.length) {
      for (const sub of ['cur', 'new', 'tmp']) mkdirSync(join(dir, sub), { recursive: true });
      folders.push(relative);
      for (const eml of emls) {
        const to = join(dir, 'cur', `1600000000.${process.pid}_${count}.readpst:2,S`);
        renameSync(join(dir, eml.name), to);
        bytes += statSync(to).size;
        count++;
      }
    }
    for (const entry of entries) {
      if (entry.isDirectory() && !['cur', 'new', 'tmp'].includes(entry.name)) walk(relative ? join(relative, entry.name) : entry.name, depth + 1);
    }
  };
  walk('', 0);
  return { folders, count, bytes };
}

/** Reads a Maildir tree written by readpstOutputToMaildir back as a message set (for imapflow runs). */
export function maildirToSet(root: string, folders: string[], label: string): MessageSet {
  const set: MessageSet = { label, folders: new Map(), count: 0, bytes: 0 };
  for (const folder of folders) {
    const dir = join(root, folder, 'cur');
    const messages = readdirSync(dir).sort().map((name) => readFileSync(join(dir, name)));
    // readpst writes LF line ends; IMAP wants CRLF, which mbsync converts on the fly: do the same.
    const crlf = messages.map((m) => Buffer.from(m.toString('latin1').replace(/\r?\n/g, '\r\n'), 'latin1'));
    set.folders.set(folder.replace(/[^A-Za-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'root', crlf);
    set.count += crlf.length;
    set.bytes += crlf.reduce((sum, m) => sum + m.length, 0);
  }
  return set;
}
