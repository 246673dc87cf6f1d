/**
 * A 35 MB attachment (larger than Outlook.com accepts): its data spans 4,490 blocks, so the writer
 * needs an XXBLOCK over XBLOCKs ([MS-PST] 2.2.2.8.3.2.2). Generated on demand into fixtures/.cache;
 * the three readers must hand back the same bytes.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expectedTree } from '../../fixtures/writer/expected.js';
import { ensureFixture, fixtureSpec } from '../../fixtures/writer/fixtures.js';
import { readWithPffexport, readWithPstLayer, allItems, sha256 } from './readers.js';

const work = mkdtempSync(join(tmpdir(), 'pst2imap-large-attachment-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const path = ensureFixture('large-attachment');
const [expected] = expectedTree(fixtureSpec('large-attachment')).children[0].items;
const expectedAttachment = expected.attachments[0];

it('is large enough to need an XXBLOCK', () => {
  expect(expectedAttachment.size).toBeGreaterThan(1021 * 8176);
});

it('gives the attachment back byte for byte through the PST layer', () => {
  const { root, problems } = readWithPstLayer(path);
  expect(problems).toEqual([]);
  const [item] = allItems(root);
  expect(item.attachments).toEqual([{ filename: 'video.mp4', sha256: expectedAttachment.sha256 }]);
});

it('gives the attachment back byte for byte through pffexport', () => {
  const [item] = allItems(readWithPffexport(path, join(work, 'pff')));
  expect(item.attachments).toEqual([{ filename: 'video.mp4', sha256: expectedAttachment.sha256 }]);
});

it('gives the attachment back byte for byte through readpst', () => {
  // readpst -S writes attachments as separate files (base64 decoding of a 47 MB .eml is left out).
  const target = join(work, 'readpst');
  execFileSync('mkdir', ['-p', target]);
  execFileSync('readpst', ['-q', '-S', '-D', '-j', '0', '-o', target, path], { stdio: 'ignore' });
  const file = execFileSync('find', [target, '-name', '*video.mp4'], { encoding: 'utf8' }).trim();
  expect(sha256(readFileSync(file))).toBe(expectedAttachment.sha256);
});
