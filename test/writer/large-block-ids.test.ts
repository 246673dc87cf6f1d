/**
 * BIDs past 2^31 and past 2^32. A PST that Outlook has used for years carries large BIDs (each rewrite of
 * a block takes a new one from bidNextB, [MS-PST] 2.2.2.6), so the writer can start them high. libpff
 * and libpst read such a file in full.
 *
 * pst-extractor 1.12.0 does not: PSTDescriptorItem masks subnode BIDs with `toNumber() & 0xfffffffe`,
 * a 32-bit signed operation in JavaScript, so every subnode BID at or above 2^31 turns negative (and
 * one past 2^32 loses its upper half), its lookup fails, and the message's attachments, recipients and
 * large values vanish without an error; PSTNodeInputStream masks the BIDs of data trees with
 * Long.and(0xfffffffe), which clears their upper 32 bits. The patch (patches/) fixes both; the PST
 * layer's test fails without it, as does test/pst/library-defects.test.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expectedTree, allFolders } from '../../fixtures/writer/expected.js';
import { committedSpec } from '../../fixtures/writer/fixtures.js';
import { writePst } from '../../fixtures/writer/pst-writer.js';
import { allItems, readWithPffexport, readWithPstLayer, readWithReadpst } from './readers.js';

const work = mkdtempSync(join(tmpdir(), 'pst2imap-large-bids-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const readHashes = (items: Array<{ attachments: Array<{ sha256?: string }> }>) =>
  items.flatMap((item) => item.attachments.flatMap((attachment) => (attachment.sha256 ? [attachment.sha256] : []))).sort();

// BIDs are index * 4: 50 blocks below 2^31, so that the file's later blocks lie above it; and 2^32,
// so that every BID has bits in its upper half (the 100,000-byte attachment's data tree included).
describe.each([
  ['crossing 2^31', 2 ** 29 - 50],
  ['past 2^32', 2 ** 30],
])('BIDs %s', (_label, firstBlockIndex) => {
  const spec = { ...committedSpec('edge-cases'), firstBlockIndex };
  const path = join(work, `large-bids-${firstBlockIndex}.pst`);
  writePst(spec, path);
  const expectedHashes = allFolders(expectedTree(spec))
    .flatMap((folder) => folder.items)
    .flatMap((item) => item.attachments.flatMap((attachment) => (attachment.sha256 ? [attachment.sha256] : [])))
    .sort();

  it('reads through pffexport with every attachment', () => {
    expect(readHashes(allItems(readWithPffexport(path, join(work, `pff-${firstBlockIndex}`))))).toEqual(expectedHashes);
  });

  it('reads through readpst with every attachment that is not empty', async () => {
    const { root } = await readWithReadpst(path, join(work, `readpst-${firstBlockIndex}`));
    const nonEmpty = allFolders(expectedTree(spec))
      .flatMap((folder) => folder.items)
      .flatMap((item) => item.attachments.filter((attachment) => attachment.sha256 && attachment.size !== 0).map((attachment) => attachment.sha256!))
      .sort();
    expect(readHashes(allItems(root))).toEqual(nonEmpty);
  });

  // Recipients, item by item, in test/pst/library-defects.test.ts.
  it('reads through the PST layer with every attachment', () => {
    const { root, problems } = readWithPstLayer(path);
    expect(problems).toEqual([]);
    expect(readHashes(allItems(root))).toEqual(expectedHashes);
  });
});
