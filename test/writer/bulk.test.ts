/**
 * A folder of 600 generated messages: its contents table needs a row index with an index level
 * ([MS-PST] 2.3.2: 447 rows fit one BTH leaf), a heap over several blocks under an XBLOCK and a row
 * matrix in a subnode. Every reader must find every item, in order for the PST layer.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expectedTree } from '../../fixtures/writer/expected.js';
import { writePst } from '../../fixtures/writer/pst-writer.js';
import type { PstSpec } from '../../fixtures/writer/spec.js';
import { allItems, readWithPffexport, readWithPstLayer, readWithReadpst } from './readers.js';

const work = mkdtempSync(join(tmpdir(), 'pst2imap-bulk-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const spec: PstSpec = {
  seed: 600,
  encryption: 'compressible',
  folders: [{ name: 'Inbox', role: 'inbox', generate: { count: 600, attachmentRate: 0.02, maxAttachmentSize: 20_000 } }],
};
const path = join(work, 'bulk.pst');
writePst(spec, path);
const expected = expectedTree(spec).children[0].items;

it('reads every item through the PST layer, in order, with subjects and bodies', () => {
  const { root, problems } = readWithPstLayer(path);
  expect(problems).toEqual([]);
  const [inbox] = root.children;
  expect(inbox.items.map((item) => [item.subject, item.body])).toEqual(expected.map((item) => [item.subject, item.body]));
  expect(inbox.items.flatMap((item) => item.attachments.map((a) => a.sha256))).toEqual(
    expected.flatMap((item) => item.attachments.map((a) => a.sha256)),
  );
});

it('reads every item through pffexport and readpst', async () => {
  const subjects = expected.map((item) => item.subject).sort();
  expect(allItems(readWithPffexport(path, join(work, 'pff'))).map((item) => item.subject).sort()).toEqual(subjects);
  const { root } = await readWithReadpst(path, join(work, 'readpst'));
  // readpst names the message after its transport headers' Subject ("generated N").
  expect(allItems(root)).toHaveLength(expected.length);
});
