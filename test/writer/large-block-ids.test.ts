/**
 * BIDs past 2^31. A PST that Outlook has used for years carries large BIDs (each rewrite of a block
 * takes a new one from bidNextB, [MS-PST] 2.2.2.6), so the writer can start them high. libpff and
 * libpst read such a file in full.
 *
 * pst-extractor 1.12.0 does not: PSTDescriptorItem masks subnode BIDs with `toNumber() & 0xfffffffe`,
 * a 32-bit signed operation in JavaScript, so every subnode BID at or above 2^31 turns negative, its
 * lookup fails, and the message's attachments, recipients and large values vanish without an error.
 * The last test states what should happen and is marked failing (jest's it.failing): it will report
 * itself once the defect is fixed in the patch, and the mark can go.
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

// BIDs are index * 4: start 50 blocks below 2^31, so the file's later blocks lie above it.
const spec = { ...committedSpec('edge-cases'), firstBlockIndex: 2 ** 29 - 50 };
const path = join(work, 'large-bids.pst');
writePst(spec, path);
const expectedHashes = allFolders(expectedTree(spec))
  .flatMap((folder) => folder.items)
  .flatMap((item) => item.attachments.flatMap((attachment) => (attachment.sha256 ? [attachment.sha256] : [])))
  .sort();
const readHashes = (items: Array<{ attachments: Array<{ sha256?: string }> }>) =>
  items.flatMap((item) => item.attachments.flatMap((attachment) => (attachment.sha256 ? [attachment.sha256] : []))).sort();

it('reads through pffexport with every attachment', () => {
  expect(readHashes(allItems(readWithPffexport(path, join(work, 'pff'))))).toEqual(expectedHashes);
});

it('reads through readpst with every attachment that is not empty', async () => {
  const { root } = await readWithReadpst(path, join(work, 'readpst'));
  const nonEmpty = allFolders(expectedTree(spec))
    .flatMap((folder) => folder.items)
    .flatMap((item) => item.attachments.filter((attachment) => attachment.sha256 && attachment.size !== 0).map((attachment) => attachment.sha256!))
    .sort();
  expect(readHashes(allItems(root))).toEqual(nonEmpty);
});

it.failing('reads through the PST layer with every attachment (pst-extractor loses them past 2^31)', () => {
  const { root } = readWithPstLayer(path);
  expect(readHashes(allItems(root))).toEqual(expectedHashes);
});
