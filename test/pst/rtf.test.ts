/**
 * Compressed RTF bodies come out of the PST layer untouched, and decompress to exactly what libpff's
 * pffexport writes as Message.rtf (the library's own LZFu differed from it by a few bytes).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decompressRtf } from '../../src/mime/rtf.js';
import { openPst, isReadProblem, type PstFolder } from '../../src/pst/index.js';
import { sharedFixtures } from '../support/cli.js';

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const work = mkdtempSync(join(tmpdir(), 'pst2imap-rtf-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Every Message.rtf pffexport writes (it writes one only where it prefers the RTF body). */
function libpffRtf(name: string): string[] {
  const target = join(work, name);
  execFileSync('pffexport', ['-q', '-f', 'all', '-m', 'all', '-t', target, join(sharedFixtures, name)], { stdio: 'ignore' });
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir)) {
      const full = join(dir, entry);
      if (entry === 'Attachments') continue;
      if (statSync(full).isDirectory()) walk(full);
      else if (entry === 'Message.rtf') {
        // libpff writes the decompressed RTF as a C string: rawSize bytes ([MS-OXRTFCP] 2.1.3.1.1)
        // followed by one NUL of its own.
        const bytes = readFileSync(full);
        expect(bytes[bytes.length - 1]).toBe(0);
        found.push(sha256(bytes.subarray(0, bytes.length - 1)));
      }
    }
  };
  walk(`${target}.export`);
  return found.sort();
}

it.each(['aspose-chunks-part1.pst', 'aspose-Outlook.pst'])('%s: RTF bodies match libpff byte for byte', (name) => {
  const reader = openPst(join(sharedFixtures, name));
  const ours: string[] = [];
  try {
    const walk = (folder: PstFolder) => {
      for (const entry of reader.items(folder)) {
        if (isReadProblem(entry)) continue;
        const rtf = reader.readMessage(entry.nid).rtfCompressed;
        if (rtf) {
          const decompressed = decompressRtf(rtf);
          expect(decompressed.length).toBe(rtf.readUInt32LE(4)); // rawSize of the header
          ours.push(sha256(decompressed));
        }
      }
      folder.children.forEach(walk);
    };
    walk(reader.root);
  } finally {
    reader.close();
  }
  const theirs = libpffRtf(name);
  expect(theirs.length).toBeGreaterThan(0);
  for (const hash of theirs) expect(ours).toContain(hash);
});
