/**
 * Reads a PST with each of the three independent readers into one plain shape, so that tests can
 * compare them with the writer's spec: the project's PST layer (pst-extractor), libpff's pffexport
 * and libpst's readpst.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import { isReadProblem, openPst, type PstFolder, type PstMessage } from '../../src/pst/index.js';

export const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

export interface ReadAttachment {
  filename: string;
  sha256?: string;
  message?: ReadItem;
}

export interface ReadItem {
  subject: string;
  body: string | null;
  attachments: ReadAttachment[];
  /** readpst: the RTF body it hands out as an attachment named rtf-body.rtf. */
  rtf?: string;
  /** pffexport -f all: PR_HTML as it wrote it (Message.html), bytes untouched. */
  htmlBytes?: Buffer;
  /** readpst: the HTML part, decoded by mailparser in the charset readpst labelled it with. */
  html?: string;
}

export interface ReadFolder {
  name: string;
  items: ReadItem[];
  children: ReadFolder[];
}

/**
 * Folders of a tree, depth first, each with a key made of its index among its siblings at every level
 * ('' for the root, '0', '0/2', ...): unlike a path of names, it tells apart two sibling folders with one
 * name. The PST layer lists folders in the order the writer wrote them, the spec's order.
 */
export function keyedFolders<T extends { children: T[] }>(root: T, key = ''): Array<[string, T]> {
  return [[key, root], ...root.children.flatMap((child, index) => keyedFolders(child, key === '' ? `${index}` : `${key}/${index}`))];
}

/**
 * Through the project's PST layer: the tree under the IPM subtree, items in contents-table order.
 * `messages` is keyed `<folder key>#<position>`, the folder key as keyedFolders() makes it.
 */
export function readWithPstLayer(path: string): { root: ReadFolder; messages: Map<string, PstMessage>; problems: unknown[] } {
  const reader = openPst(path);
  const messages = new Map<string, PstMessage>();
  const problems: unknown[] = [...reader.problems];
  const item = (message: PstMessage): ReadItem => ({
    subject: message.subject,
    body: message.body,
    attachments: message.attachments.map((attachment) =>
      attachment.method === 'embedded'
        ? { filename: attachment.filename, message: item(attachment.embedded()!) }
        : { filename: attachment.filename, sha256: sha256(attachment.content()) },
    ),
  });
  const folder = (node: PstFolder, key: string): ReadFolder => {
    const items: ReadItem[] = [];
    for (const entry of reader.items(node)) {
      if (isReadProblem(entry)) {
        problems.push(entry);
        continue;
      }
      const message = reader.readMessage(entry.nid);
      const messageKey = `${key}#${items.length}`;
      if (messages.has(messageKey)) throw new Error(`two messages read as ${messageKey}`);
      messages.set(messageKey, message);
      items.push(item(message));
    }
    return { name: node.name, items, children: node.children.map((child, index) => folder(child, key === '' ? `${index}` : `${key}/${index}`)) };
  };
  try {
    return { root: folder(reader.root, ''), messages, problems };
  } finally {
    reader.close();
  }
}

/** pffexport's item directories: Message00001, Contact00001, Appointment00001, Task00001, ... */
const PFF_ITEM = /^(Message|Contact|Appointment|Task|Note|Meeting|Activity|Document|DistributionList)\d{5}$/;

function pffSubject(directory: string): string {
  for (const name of ['OutlookHeaders.txt', 'Contact.txt', 'Appointment.txt', 'Task.txt']) {
    const file = join(directory, name);
    if (!existsSync(file)) continue;
    const line = readFileSync(file, 'utf8')
      .split('\n')
      .find((text) => /^Subject:\t/.test(text));
    if (line) return line.replace(/^Subject:\t+/, '').replace(/\r$/, '');
  }
  return '';
}

function pffItem(directory: string): ReadItem {
  const bodyFile = join(directory, 'Message.txt');
  const htmlFile = join(directory, 'Message.html');
  const attachmentsDirectory = join(directory, 'Attachments');
  const attachments: ReadAttachment[] = [];
  if (existsSync(attachmentsDirectory)) {
    for (const entry of readdirSync(attachmentsDirectory).sort()) {
      const full = join(attachmentsDirectory, entry);
      if (statSync(full).isDirectory()) {
        // An embedded message: Attachments/Attachment00005/Message00001.
        const inner = readdirSync(full).find((name) => PFF_ITEM.test(name));
        attachments.push({ filename: '', message: inner ? pffItem(join(full, inner)) : undefined });
      } else {
        attachments.push({ filename: entry.replace(/^\d+_/, ''), sha256: sha256(readFileSync(full)) });
      }
    }
  }
  return {
    subject: pffSubject(directory),
    body: existsSync(bodyFile) ? readFileSync(bodyFile, 'utf8') : null,
    attachments,
    ...(existsSync(htmlFile) ? { htmlBytes: readFileSync(htmlFile) } : {}),
  };
}

/**
 * pffexport -m items: folders as directories (names made safe), items as numbered directories. With
 * format 'all', PR_HTML is written too (Message.html, its bytes as stored) besides the text body.
 */
export function readWithPffexport(path: string, work: string, codepage?: number, format: 'text' | 'all' = 'text'): ReadFolder {
  const target = join(work, 'pff');
  mkdirSync(work, { recursive: true });
  // -c: the code page of 8-bit strings (ANSI files); pffexport assumes windows-1252 otherwise.
  const codepageOption = codepage ? ['-c', `windows-${codepage}`] : [];
  execFileSync('pffexport', ['-q', '-m', 'items', '-f', format, ...codepageOption, '-t', target, path], { stdio: 'ignore' });
  const folder = (directory: string, name: string): ReadFolder => {
    const entries = readdirSync(directory).sort();
    return {
      name,
      items: entries.filter((entry) => PFF_ITEM.test(entry)).map((entry) => pffItem(join(directory, entry))),
      children: entries
        .filter((entry) => !PFF_ITEM.test(entry) && statSync(join(directory, entry)).isDirectory())
        .map((entry) => folder(join(directory, entry), entry)),
    };
  };
  return folder(`${target}.export`, '');
}

/**
 * readpst -e: one .eml per mail item (contacts, appointments go to .vcf / .ics), folders as
 * directories; -D to include Deleted Items, which readpst leaves out by default; -j 0 because
 * readpst's parallel children share one file offset and lose items on large files.
 */
export async function readWithReadpst(path: string, work: string): Promise<{ root: ReadFolder; otherFiles: string[] }> {
  const target = join(work, 'readpst');
  mkdirSync(target, { recursive: true });
  execFileSync('readpst', ['-q', '-e', '-8', '-D', '-j', '0', '-o', target, path], { stdio: 'ignore' });
  const otherFiles: string[] = [];
  const folder = async (directory: string, name: string): Promise<ReadFolder> => {
    const entries = readdirSync(directory).sort((a, b) => parseInt(a, 10) - parseInt(b, 10) || a.localeCompare(b));
    const items: ReadItem[] = [];
    const children: ReadFolder[] = [];
    for (const entry of entries) {
      const full = join(directory, entry);
      if (statSync(full).isDirectory()) children.push(await folder(full, entry));
      else if (entry.endsWith('.eml')) {
        const parsed = await simpleParser(readFileSync(full));
        items.push({
          subject: parsed.subject ?? '',
          body: parsed.text ?? null,
          rtf: parsed.attachments.find((attachment) => attachment.filename === 'rtf-body.rtf')?.content.toString('latin1'),
          ...(parsed.html !== false ? { html: parsed.html } : {}),
          attachments: parsed.attachments
            .filter((attachment) => attachment.contentType !== 'message/rfc822' && attachment.filename !== 'rtf-body.rtf')
            .map((attachment) => ({ filename: attachment.filename ?? '', sha256: sha256(attachment.content) })),
        });
      } else otherFiles.push(entry);
    }
    return { name, items, children };
  };
  const [store] = readdirSync(target);
  return { root: await folder(join(target, store), ''), otherFiles };
}

export function allItems(folder: ReadFolder): ReadItem[] {
  return [...folder.items, ...folder.children.flatMap(allItems)];
}
