/**
 * Every committed fixture is generated again from its spec, must equal the committed file byte for
 * byte, and must read back the same through three independent readers: the project's PST layer
 * (pst-extractor), libpff's pffexport and libpst's readpst.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeInCodepage } from '../../fixtures/writer/codepages.js';
import { expectedTree, allFolders, type ExpectedAttachment, type ExpectedFolder, type ExpectedItem } from '../../fixtures/writer/expected.js';
import { COMMITTED_FIXTURES, committedDirectory, committedSpec } from '../../fixtures/writer/fixtures.js';
import { writePst } from '../../fixtures/writer/pst-writer.js';
import { openPst } from '../../src/pst/index.js';
import { decompressRTF } from '@kenjiuno/decompressrtf';
import { rtfEncapsulatingHtml } from '../../fixtures/writer/rtf.js';
import { allItems, readWithPffexport, readWithPstLayer, readWithReadpst, type ReadAttachment, type ReadFolder, type ReadItem } from './readers.js';

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
    // Details beyond subjects, bodies and attachments: every field the spec sets.
    for (const folder of allFolders(expected)) {
      folder.items.forEach((item, index) => {
        const message = messages.get(`${folder.path.join('/')}#${index}`)!;
        const source = item.spec;
        expect(message.messageClass).toBe(item.messageClass);
        if (source.html) expect(message.html).toEqual(encodeInCodepage(source.html.html, source.html.codepage));
        else expect(message.html).toBeNull();
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
  });

  it('finds the special folders by entry ID', () => {
    const reader = readRoles(committed);
    for (const folder of spec.folders) {
      const role = folder.role && ['inbox', 'sent', 'drafts', 'trash', 'junk', 'outbox'].includes(folder.role) ? folder.role : null;
      expect([folder.name, reader.get(folder.name) ?? null]).toEqual([folder.name, role]);
    }
  });

  it('reads back through libpff (pffexport) with the same folders, items, bodies and attachment bytes', () => {
    const exported = readWithPffexport(committed, join(work, `${name}-pff`), spec.format === 'ansi' ? spec.codepage : undefined);
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
    // The RTF body readpst decompresses is the RTF the spec encapsulated its HTML in.
    for (const item of mail.filter((entry) => entry.spec.rtfFromHtml !== undefined)) {
      const found = read.find((entry) => entry.subject === item.subject);
      expect(found?.rtf?.replace(/\0+$/, '')).toBe(rtfEncapsulatingHtml(item.spec.rtfFromHtml!));
    }
    const contacts = allFolders(expected).flatMap((folder) => folder.items).filter((item) => item.messageClass === 'IPM.Contact');
    expect(otherFiles.filter((file) => file.endsWith('.vcf'))).toHaveLength(contacts.length);
  });
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
