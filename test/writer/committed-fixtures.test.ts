/**
 * Every committed fixture is generated again from its spec, must equal the committed file byte for
 * byte, and must read back the same through three independent readers: the project's PST layer
 * (pst-extractor), libpff's pffexport and libpst's readpst. HTML bodies are compared as bytes (PST layer,
 * pffexport) and as text decoded by readers that do not share the writer's encoder (ICU, and readpst's
 * part read by mailparser).
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TextDecoder } from 'node:util';
import { encodeInCodepage } from '../../fixtures/writer/codepages.js';
import { expectedTree, allFolders, type ExpectedAttachment, type ExpectedFolder, type ExpectedItem } from '../../fixtures/writer/expected.js';
import { COMMITTED_FIXTURES, committedDirectory, committedSpec } from '../../fixtures/writer/fixtures.js';
import { writePst } from '../../fixtures/writer/pst-writer.js';
import { openPst } from '../../src/pst/index.js';
import { decompressRTF } from '@kenjiuno/decompressrtf';
import { rtfEncapsulatingHtml } from '../../fixtures/writer/rtf.js';
import { allItems, keyedFolders, readWithPffexport, readWithPstLayer, readWithReadpst, type ReadAttachment, type ReadFolder, type ReadItem } from './readers.js';

const work = mkdtempSync(join(tmpdir(), 'pst2imap-writer-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const fileSha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

/** The tree as names, for comparing structure. */
function shape(folder: { name: string; children: Array<{ name: string; children: unknown[] }> }): unknown {
  return { name: folder.name, children: folder.children.map((child) => shape(child as never)) };
}

function attachmentView(attachment: ExpectedAttachment | ReadAttachment): unknown {
  return attachment.message ? { embedded: itemView(attachment.message) } : { filename: attachment.filename, sha256: attachment.sha256 };
}

function itemView(item: ExpectedItem | ReadItem): unknown {
  return { subject: item.subject, body: item.body, attachments: item.attachments.map(attachmentView) };
}

function folderView(folder: ExpectedFolder | ReadFolder): unknown {
  return { name: folder.name, items: folder.items.map(itemView), children: folder.children.map(folderView) };
}

/** pffexport writes the body of mail only (Message.txt); other items are compared without it. */
function asPffexportShows(items: ExpectedItem[]): ExpectedItem[] {
  return items.map((item) => (item.messageClass === 'IPM.Note' ? item : { ...item, body: null }));
}

/**
 * libpff 20180714 decodes UTF-16 surrogate pairs wrongly (U+1F363 comes out as U+1EF64), in every
 * string: characters beyond the BMP are left out of comparisons with pffexport.
 */
function withoutAstral(text: string | null): string | null {
  return text === null ? null : text.replace(/[\u{10000}-\u{10FFFF}]/gu, '?');
}

function pffView<T extends { subject: string; body: string | null }>(items: T[]): T[] {
  return items.map((item) => ({ ...item, subject: withoutAstral(item.subject)!, body: withoutAstral(item.body) }));
}

/**
 * PR_HTML decoded by an encoder-independent reader: ICU's WHATWG decoders (Node's TextDecoder), not the
 * iconv-lite tables the writer encodes with. WHATWG's shift_jis is Windows' CP932 (①, 髙); its euc-jp
 * decodes the NEC and IBM rows of code page 51932 too.
 */
const WHATWG_LABEL: Record<number, string> = { 50220: 'iso-2022-jp', 932: 'shift_jis', 51932: 'euc-jp', 65001: 'utf-8' };
const decodeIndependently = (bytes: Buffer, codepage: number) => new TextDecoder(WHATWG_LABEL[codepage], { fatal: true }).decode(bytes);

/** The four charsets of Japanese mail ([issue 4]) by PR_INTERNET_CPID: ISO-2022-JP, Shift_JIS, EUC-JP, UTF-8. */
const JAPANESE_CHARSETS = [50220, 932, 51932, 65001];

/** Order-free summary for readers that rename folders and order items their own way. */
function contentMultiset(items: Array<{ subject: string; body: string | null; attachments: Array<{ sha256?: string }> }>): string[] {
  const normalize = (text: string | null) => (text ?? '').replace(/\r\n/g, '\n').trim();
  return items
    .map((item) => JSON.stringify([item.subject, normalize(item.body), item.attachments.map((a) => a.sha256 ?? 'embedded').sort()]))
    .sort();
}

describe.each(COMMITTED_FIXTURES.map((name) => [name]))('%s', (name) => {
  const spec = committedSpec(name);
  const committed = join(committedDirectory, `${name}.pst`);
  const expected = expectedTree(spec);

  it('is generated again byte for byte from its spec (deterministic)', () => {
    const again = join(work, `${name}.pst`);
    writePst(spec, again);
    expect(fileSha(again)).toBe(fileSha(committed));
    // And a second run in the same process gives the same bytes too.
    writePst(spec, join(work, `${name}-2.pst`));
    expect(fileSha(join(work, `${name}-2.pst`))).toBe(fileSha(committed));
  });

  it('reads back through the PST layer (pst-extractor) as the spec says', () => {
    const { root, messages, problems } = readWithPstLayer(committed);
    expect(problems).toEqual([]);
    expect(folderView(root)).toEqual(folderView(expected));
    // Details beyond subjects, bodies and attachments: every field the spec sets. Folders are keyed by
    // their index among siblings, so that two sibling folders with one name are both compared.
    const compared: string[] = [];
    for (const [key, folder] of keyedFolders(expected)) {
      folder.items.forEach((item, index) => {
        const message = messages.get(`${key}#${index}`)!;
        const source = item.spec;
        compared.push(`${folder.path.join('/')}: ${item.subject}`);
        expect([key, index, message.subject]).toEqual([key, index, item.subject]);
        expect(message.messageClass).toBe(item.messageClass);
        if (source.html) {
          expect(message.html).toEqual(encodeInCodepage(source.html.html, source.html.codepage));
          if (source.html.codepage in WHATWG_LABEL) expect(decodeIndependently(message.html!, source.html.codepage)).toBe(source.html.html);
        } else {
          expect(message.html).toBeNull();
        }
        if (source.html) expect(message.internetCodepage).toBe(source.html.codepage);
        if (source.rtfFromHtml !== undefined) {
          const rtf = Buffer.from(decompressRTF([...message.rtfCompressed!])).toString('latin1');
          expect(rtf).toBe(rtfEncapsulatingHtml(source.rtfFromHtml));
        } else {
          expect(message.rtfCompressed).toBeNull();
        }
        expect(message.transportHeaders).toBe(source.transportHeaders ?? null);
        expect(message.internetMessageId).toBe(source.internetMessageId ?? null);
        expect(message.messageDeliveryTime?.toISOString() ?? null).toBe(source.deliveryTime ? new Date(source.deliveryTime).toISOString() : null);
        expect(message.clientSubmitTime?.toISOString() ?? null).toBe(source.submitTime ? new Date(source.submitTime).toISOString() : null);
        expect(message.messageFlags & 0x01).toBe(source.read ? 1 : 0);
        expect(message.messageFlags & 0x08).toBe(source.unsent ? 8 : 0);
        expect(message.flagStatus).toBe(source.flagStatus ?? null);
        expect(message.lastVerbExecuted).toBe(source.lastVerbExecuted ?? null);
        expect(message.messageCodepage).toBe(source.messageCodepage ?? null);
        expect(message.hasAttachments).toBe((source.attachments ?? []).length > 0);
        expect(message.recipients.map((recipient) => [recipient.type, recipient.name, recipient.email])).toEqual(
          (source.recipients ?? []).map((recipient) => [
            recipient.type ?? 'to',
            recipient.name,
            recipient.addressType === 'EX' ? recipient.smtpAddress : recipient.email,
          ]),
        );
        message.attachments.forEach((attachment, i) => {
          const attachmentSpec = source.attachments![i];
          expect(attachment.mimeTag).toBe(attachmentSpec.mimeTag ?? '');
          expect(attachment.contentId).toBe(attachmentSpec.contentId ?? '');
        });
      });
    }
    // Every message of the spec was compared, each with one read message.
    expect(compared).toHaveLength(allFolders(expected).reduce((count, folder) => count + folder.items.length, 0));
    expect(messages.size).toBe(compared.length);
    if (name === 'edge-cases') expect(compared).toEqual(expect.arrayContaining(['Inbox/Twins: First twin', 'Inbox/Twins: Second twin']));
  });

  it('finds the special folders by entry ID', () => {
    const reader = readRoles(committed);
    for (const folder of spec.folders) {
      const role = folder.role && ['inbox', 'sent', 'drafts', 'trash', 'junk', 'outbox'].includes(folder.role) ? folder.role : null;
      expect([folder.name, reader.get(folder.name) ?? null]).toEqual([folder.name, role]);
    }
  });

  it('reads back through libpff (pffexport) with the same folders, items, bodies and attachment bytes', () => {
    const exported = readWithPffexport(committed, join(work, `${name}-pff`), spec.format === 'ansi' ? spec.codepage : undefined, 'all');
    const top = exported.children.find((child) => child.name !== 'Search Root')!;
    expect(top.name).toBe(spec.topFolderName ?? 'Top of Outlook data file');
    // pffexport makes names safe ('/' becomes '_') and numbers a repeated name: compare the tree by size.
    // pffexport lists folders in name order: children are compared as a sorted list of shapes.
    const sizes = (folder: { children: unknown[] }): string =>
      JSON.stringify((folder.children as Array<{ children: unknown[] }>).map(sizes).sort());
    expect(sizes(top)).toEqual(sizes(expected));
    expect(contentMultiset(pffView(allItems(top)))).toEqual(contentMultiset(pffView(asPffexportShows(allFolders(expected).flatMap((folder) => folder.items)))));
    // Embedded messages, level by level.
    const embeddedSubjects = (items: ReadItem[] | ExpectedItem[]): string[] =>
      (items as ReadItem[]).flatMap((item) => item.attachments.flatMap((a) => (a.message ? [a.message.subject, ...embeddedSubjects([a.message])] : [])));
    expect(embeddedSubjects(allItems(top)).sort()).toEqual(embeddedSubjects(allFolders(expected).flatMap((folder) => folder.items)).sort());
    // PR_HTML as libpff hands it out (Message.html): the bytes of the spec's HTML in its code page.
    const htmlOf = (items: Array<{ subject: string; htmlBytes?: Buffer }>) => items.map((item) => `${withoutAstral(item.subject)} ${item.htmlBytes?.toString('hex') ?? ''}`).sort();
    const withHtml = allFolders(expected)
      .flatMap((folder) => folder.items)
      .filter((item) => item.spec.html)
      .map((item) => ({ subject: item.subject, htmlBytes: encodeInCodepage(item.spec.html!.html, item.spec.html!.codepage) }));
    expect(htmlOf(allItems(top).filter((item) => item.htmlBytes !== undefined))).toEqual(htmlOf(withHtml));
  });

  it('reads back through libpst (readpst) with the same mail, bodies and attachment bytes', async () => {
    const { root, otherFiles } = await readWithReadpst(committed, join(work, `${name}-readpst`));
    const mail = allFolders(expected)
      .flatMap((folder) => folder.items)
      .filter((item) => item.messageClass === 'IPM.Note');
    const read = allItems(root);
    expect(read).toHaveLength(mail.length);
    // readpst takes the subject from the transport headers when there are any (they agree in the
    // specs), sends embedded messages as message/rfc822 parts, and leaves out empty attachments.
    const asReadpstShows = mail.map((item) => ({ ...item, attachments: item.attachments.filter((a) => !a.message && a.size !== 0) }));
    if (spec.format === 'ansi') {
      // libpst labels the 8-bit text of an ANSI file with the charset of PR_INTERNET_CPID (here
      // ISO-2022-JP) whatever code page it is in (Shift_JIS): subjects and bodies come out garbled, so
      // only the attachment bytes are compared.
      const hashes = (items: Array<{ attachments: Array<{ sha256?: string }> }>) => items.flatMap((item) => item.attachments.map((a) => a.sha256)).sort();
      expect(hashes(read)).toEqual(hashes(asReadpstShows));
      return;
    }
    expect(contentMultiset(read)).toEqual(contentMultiset(asReadpstShows));
    // The HTML part readpst writes carries PR_HTML's bytes under the charset libpst takes from
    // PR_MESSAGE_CODEPAGE, naming 932 ISO-2022-JP: where that label is the HTML's own, mailparser's
    // reading of readpst's part is the spec's HTML.
    const libpstLabel: Record<number, number> = { 932: 50220, 50220: 50220, 51932: 51932, 65001: 65001 };
    const labelledRight = mail.filter((item) => item.spec.html && libpstLabel[item.spec.messageCodepage ?? 0] === item.spec.html.codepage);
    for (const item of labelledRight) expect([item.subject, read.find((entry) => entry.subject === item.subject)?.html]).toEqual([item.subject, item.spec.html!.html]);
    if (name === 'japanese') expect(labelledRight.map((item) => item.spec.html!.codepage)).toEqual(expect.arrayContaining([50220, 51932, 65001]));
    // The RTF body readpst decompresses is the RTF the spec encapsulated its HTML in.
    for (const item of mail.filter((entry) => entry.spec.rtfFromHtml !== undefined)) {
      const found = read.find((entry) => entry.subject === item.subject);
      expect(found?.rtf?.replace(/\0+$/, '')).toBe(rtfEncapsulatingHtml(item.spec.rtfFromHtml!));
    }
    const contacts = allFolders(expected).flatMap((folder) => folder.items).filter((item) => item.messageClass === 'IPM.Contact');
    expect(otherFiles.filter((file) => file.endsWith('.vcf'))).toHaveLength(contacts.length);
  });
});

it.each([['japanese'], ['ansi-cp932']] as const)('%s holds HTML mail in all four Japanese charsets, with Japanese names and attachments', (name) => {
  const spec = committedSpec(name);
  const mail = allFolders(expectedTree(spec)).flatMap((folder) => folder.items).filter((item) => item.messageClass === 'IPM.Note');
  for (const codepage of JAPANESE_CHARSETS) {
    const found = mail.filter((item) => item.spec.html?.codepage === codepage);
    expect([codepage, found.length > 0]).toEqual([codepage, true]);
    // Japanese in the subject or the sender's name of the mail of every charset.
    expect([codepage, found.some((item) => /[\u3000-\u9fff]/.test(item.subject + (item.spec.from?.name ?? '')))]).toEqual([codepage, true]);
  }
  // The EUC-JP mail (the charset these fixtures lacked) has a Japanese attachment name too.
  const eucJp = mail.find((item) => item.spec.html?.codepage === 51932)!;
  expect(eucJp.attachments.some((attachment) => /[\u3000-\u9fff]/.test(attachment.filename))).toBe(true);
  // The EUC-JP body holds NEC row 13 (①), an NEC-selected IBM extension (髙) and ～ (U+FF5E), written as
  // code page 51932 writes them: two bytes each, ～ as A1 C1, never JIS X 0212's 8F A2 B7.
  const bytes = encodeInCodepage(eucJp.spec.html!.html, 51932);
  for (const [character, code] of [['①', 'ada1'], ['髙', 'fce2'], ['～', 'a1c1']]) {
    expect(eucJp.spec.html!.html).toContain(character);
    expect(bytes.toString('hex')).toContain(code);
  }
  expect(bytes.includes(0x8f)).toBe(false);
});

/** Roles as the PST layer finds them, by folder name just below the top. */
function readRoles(path: string): Map<string, string | null> {
  const reader = openPst(path);
  try {
    return new Map(reader.root.children.map((child) => [child.name, child.role]));
  } finally {
    reader.close();
  }
}

it('writes the same content readable with and without the compressible encoding', () => {
  const spec = committedSpec('edge-cases');
  const plain = join(work, 'plain.pst');
  const encoded = join(work, 'encoded.pst');
  writePst({ ...spec, encryption: 'none' }, plain);
  writePst({ ...spec, encryption: 'compressible' }, encoded);
  expect(readFileSync(plain)[513]).toBe(0);
  expect(readFileSync(encoded)[513]).toBe(1);
  expect(fileSha(plain)).not.toBe(fileSha(encoded));
  expect(folderView(readWithPstLayer(encoded).root)).toEqual(folderView(readWithPstLayer(plain).root));
  const pff = readWithPffexport(encoded, join(work, 'encoded-pff'));
  expect(contentMultiset(pffView(allItems(pff)))).toEqual(contentMultiset(pffView(asPffexportShows(allFolders(expectedTree(spec)).flatMap((folder) => folder.items)))));
});
