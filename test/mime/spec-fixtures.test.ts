/**
 * The generated fixtures (fixtures/pst/<name>.pst beside the <name>.json spec the writer made it from):
 * every item rebuilt and compared with its spec, so the expected values come from outside the PST layer
 * and the rebuild. Mail is parsed back with mailparser; items that are not mail are written as files.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { simpleParser, type AddressObject } from 'mailparser';
import { encodeInCodepage } from '../../fixtures/writer/codepages.js';
import { messagesOf } from '../../fixtures/writer/pst-writer.js';
import type { FolderSpec, MessageSpec, PstSpec } from '../../fixtures/writer/spec.js';
import { rebuildMessage, renderOtherItem } from '../../src/mime/index.js';
import { openPst, isReadProblem, type MessageSummary, type PstFolder, type PstReader } from '../../src/pst/index.js';
import { projectRoot } from '../support/cli.js';
import { htmlPartBytes, normaliseText, sha256 } from './fidelity.js';

const dir = join(projectRoot, 'fixtures', 'pst');
const fixtures = existsSync(dir)
  ? readdirSync(dir)
      .filter((name) => name.endsWith('.json') && existsSync(join(dir, name.replace(/\.json$/, '.pst'))))
      .map((name) => name.replace(/\.json$/, ''))
      .sort()
  : [];

const addressList = (value: AddressObject | AddressObject[] | undefined) =>
  (value === undefined ? [] : Array.isArray(value) ? value : [value]).flatMap((object) => object.value.map((entry) => (entry.address ?? '').toLowerCase())).sort();

/** Display names with their addresses, as mailparser decodes them. */
const nameList = (value: AddressObject | AddressObject[] | undefined) =>
  (value === undefined ? [] : Array.isArray(value) ? value : [value])
    .flatMap((object) => object.value.map((entry) => `${entry.name} <${(entry.address ?? '').toLowerCase()}>`))
    .sort();

/** The MIME names of the Japanese code pages ([MS-OXCMAIL], IANA), stated here rather than taken from src/mime. */
const JAPANESE_CHARSETS: Record<number, string> = { 50220: 'iso-2022-jp', 932: 'shift_jis', 51932: 'euc-jp', 65001: 'utf-8' };

/** The charset parameter of the first text/html part. */
function htmlPartCharset(message: Buffer): string | null {
  const match = /Content-Type: text\/html;\s*charset="?([^";\r\n]+)"?/i.exec(message.toString('latin1'));
  return match ? match[1].toLowerCase() : null;
}

interface Compared {
  items: number;
  fields: number;
  mismatches: string[];
  /** PR_INTERNET_CPID of the HTML bodies compared. */
  htmlCodepages: Set<number>;
}

async function compareFolder(reader: PstReader, folder: PstFolder, spec: FolderSpec, seed: number, result: Compared): Promise<void> {
  const summaries = [...reader.items(folder)].filter((entry) => !isReadProblem(entry)) as MessageSummary[];
  const specs = [...messagesOf(spec, folder.path, seed)];
  const where = folder.path.join('/');
  if (summaries.length !== specs.length) result.mismatches.push(`${where}: ${summaries.length} items, the spec has ${specs.length}`);
  for (const [index, summary] of summaries.entries()) {
    const expected = specs[index];
    if (!expected) break;
    result.items++;
    const check = (field: string, want: unknown, got: unknown) => {
      result.fields++;
      if (JSON.stringify(want) !== JSON.stringify(got)) result.mismatches.push(`${where} #${index} ${field}: expected ${JSON.stringify(want)}, got ${JSON.stringify(got)}`);
    };
    const message = reader.readMessage(summary.nid);
    if (summary.kind !== 'mail') {
      const file = renderOtherItem(message).bytes.toString('utf8');
      check('file names the item', true, file.includes(expected.subject.split(' ')[0]));
      if (expected.contact) check('contact e-mail', true, file.includes(expected.contact.email));
      continue;
    }
    const rebuilt = await rebuildMessage(message, { storeFingerprint: reader.store.fingerprint, folderRole: folder.role });
    const parsed = await simpleParser(rebuilt.bytes, { keepCidLinks: true });
    check('subject', expected.subject, parsed.subject ?? '');
    // Received mail keeps its stored headers: its addresses are theirs.
    const stored = expected.transportHeaders ? await simpleParser(Buffer.from(expected.transportHeaders.replace(/\r?\n/g, '\r\n'), 'utf8')) : null;
    if (expected.from && !stored) check('from', [(expected.from.smtpAddress ?? expected.from.email).toLowerCase()], addressList(parsed.from));
    if (expected.from && !stored) check('from name', [`${expected.from.name} <${(expected.from.smtpAddress ?? expected.from.email).toLowerCase()}>`], nameList(parsed.from));
    for (const type of ['to', 'cc', 'bcc'] as const) {
      const keepsBcc = folder.role === 'sent' || folder.role === 'drafts' || folder.role === 'outbox' || expected.unsent === true;
      if (type === 'bcc' && !keepsBcc) continue;
      const want = stored
        ? addressList(stored[type])
        : (expected.recipients ?? []).filter((recipient) => (recipient.type ?? 'to') === type).map((recipient) => (recipient.smtpAddress ?? recipient.email).toLowerCase()).sort();
      check(type, want, addressList(parsed[type]));
      if (!stored) {
        const names = (expected.recipients ?? [])
          .filter((recipient) => (recipient.type ?? 'to') === type)
          .map((recipient) => `${recipient.name} <${(recipient.smtpAddress ?? recipient.email).toLowerCase()}>`)
          .sort();
        check(`${type} names`, names, nameList(parsed[type]));
      }
    }
    if (expected.body) check('text', normaliseText(expected.body), normaliseText(parsed.text ?? ''));
    if (expected.html) {
      result.htmlCodepages.add(expected.html.codepage);
      check('html', expected.html.html, parsed.html);
      const bytes = htmlPartBytes(rebuilt.bytes);
      check('html bytes', sha256(encodeInCodepage(expected.html.html, expected.html.codepage)), bytes ? sha256(bytes) : null);
      if (expected.html.codepage in JAPANESE_CHARSETS) check('html charset', JAPANESE_CHARSETS[expected.html.codepage], htmlPartCharset(rebuilt.bytes));
    }
    if (expected.internetMessageId && !stored) check('message-id', expected.internetMessageId, rebuilt.messageId);
    const names = (expected.attachments ?? []).map((attachment) => attachment.filename).sort();
    check('attachment names', names, parsed.attachments.filter((part) => part.contentType !== 'text/calendar').map((part) => part.filename ?? '').sort());
    const flags: string[] = [];
    if (expected.read) flags.push('\\Seen');
    if (expected.flagStatus === 2) flags.push('\\Flagged');
    if (expected.lastVerbExecuted === 102 || expected.lastVerbExecuted === 103) flags.push('\\Answered');
    if (expected.lastVerbExecuted === 104) flags.push('$Forwarded');
    if (expected.unsent) flags.push('\\Draft');
    check('flags', flags, rebuilt.flags);
  }
  for (const child of folder.children) {
    const childSpec = (spec.folders ?? []).find((candidate, position) => candidate.name === child.name && position === folder.children.indexOf(child));
    if (childSpec) await compareFolder(reader, child, childSpec, seed, result);
    else result.mismatches.push(`${child.path.join('/')}: no folder of that name in the spec`);
  }
}

it('looks where the writer puts its fixtures', () => {
  // Until the writer's files land, only the bundled sample is there; each spec found gets a test below.
  expect(existsSync(join(dir, 'sample.pst'))).toBe(true);
});

for (const name of fixtures) {
  it(`${name}.pst: every item rebuilt as ${name}.json says`, async () => {
    const spec = JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8')) as PstSpec;
    const reader = openPst(join(dir, `${name}.pst`));
    const result: Compared = { items: 0, fields: 0, mismatches: [], htmlCodepages: new Set() };
    try {
      const top: FolderSpec = { name: '', folders: spec.folders };
      await compareFolder(reader, reader.root, top, spec.seed ?? 1, result);
    } finally {
      reader.close();
    }
    console.log(`${name}.pst: ${result.items} items against the spec, ${result.fields - result.mismatches.length}/${result.fields} fields matching${result.mismatches.map((line) => `\n  - ${line}`).join('')}`);
    expect(result.items).toBeGreaterThan(0);
    expect(result.mismatches).toEqual([]);
    // The Japanese mailboxes, Unicode and ANSI, hold HTML in each of the four charsets of Japanese mail.
    if (name === 'japanese' || name === 'ansi-cp932') expect([...result.htmlCodepages]).toEqual(expect.arrayContaining([50220, 932, 51932, 65001]));
  });
}
