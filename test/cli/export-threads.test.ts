/**
 * `export` in several threads (src/engine/export.ts): each thread takes a share of every folder's items
 * (ItemShare), so every item is read and written exactly once whatever the number of threads; a disk
 * that fills up stops every thread with what was written complete; a thread that cannot run is reported,
 * never silently missing from the counts.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import { ensureFixture } from '../../fixtures/writer/fixtures.js';
import { exportFolders, exportThreads, EXPORT_THREADS_MAX } from '../../src/engine/export.js';
import { isReadProblem, openPst, type MessageSummary, type PstFolder, type ReadProblem } from '../../src/pst/index.js';
import { projectRoot, runCli } from '../support/cli.js';
import { filesUnder } from '../support/files.js';

const sample = join(projectRoot, 'fixtures', 'pst', 'sample.pst');
const work = mkdtempSync(join(tmpdir(), 'pst2imap-export-threads-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function allFolders(folder: PstFolder): PstFolder[] {
  return [folder, ...folder.children.flatMap(allFolders)];
}

/** The message with its MIME boundaries (drawn at random for each message) replaced. */
const withoutBoundaries = (bytes: Buffer) => bytes.toString('latin1').replace(/_NmP-[0-9a-f]+-Part/g, 'B');

describe('shares of a folder', () => {
  it('together hold every item of the folder once, in contents-table order within each share', () => {
    const reader = openPst(ensureFixture('bulk-1k'));
    try {
      for (const folder of allFolders(reader.root)) {
        const whole = [...reader.items(folder)].map((entry) => (entry as MessageSummary).nid);
        for (const of of [1, 2, 3]) {
          const shares = Array.from({ length: of }, (_, index) => [...reader.items(folder, { index, of })].map((entry) => (entry as MessageSummary).nid));
          // Share k holds rows k, k + of, k + 2 of, ...
          shares.forEach((share, index) => expect(share).toEqual(whole.filter((_, row) => row % of === index)));
          expect(shares.flat().sort((a, b) => a - b)).toEqual([...whole].sort((a, b) => a - b));
        }
      }
    } finally {
      reader.close();
    }
  });

  it("report a folder's wrong item count once, in share 0", () => {
    const reader = openPst(sample);
    try {
      const inbox = reader.root.children.find((folder) => folder.name === 'Inbox')!;
      // The folder as if its PR_CONTENT_COUNT said one item more than its contents table lists.
      const miscounted = { ...inbox, contentCount: inbox.contentCount + 1 };
      const problems = (index: number) => [...reader.items(miscounted, { index, of: 3 })].filter(isReadProblem) as ReadProblem[];
      expect(problems(0).map((problem) => problem.code)).toEqual(['E_COUNT_MISMATCH']);
      expect(problems(1)).toEqual([]);
      expect(problems(2)).toEqual([]);
    } finally {
      reader.close();
    }
  });
});

describe('export in threads', () => {
  it('writes the same files, byte for byte apart from MIME boundaries, with 1 thread and with 3', async () => {
    const pst = ensureFixture('bulk-1k');
    const one = join(work, 'one');
    const three = join(work, 'three');
    const first = await runCli(['export', pst, '--to', one, '--threads', '1']);
    const second = await runCli(['export', pst, '--to', three, '--threads', '3']);
    expect([first.code, second.code]).toEqual([0, 0]);
    expect(second.stdout.replace(three, 'DIR')).toBe(first.stdout.replace(one, 'DIR'));
    expect(first.stdout).toMatch(/^Written: 1,000 messages/m);
    const files = filesUnder(one);
    expect(files).toHaveLength(1000);
    expect(filesUnder(three)).toEqual(files);
    for (const file of files) expect(withoutBoundaries(readFileSync(join(three, file)))).toBe(withoutBoundaries(readFileSync(join(one, file))));
  });

  it('uses one thread per core, fewer for few items', () => {
    const cores = availableParallelism();
    expect(exportThreads(10)).toBe(1);
    expect(exportThreads(1000)).toBe(1);
    expect(exportThreads(5000)).toBe(Math.min(cores, 3));
    expect(exportThreads(1_000_000)).toBe(Math.min(cores, EXPORT_THREADS_MAX));
  });

  it('refuses --threads outside 1 to 4 in one line, writing nothing', async () => {
    const out = join(work, 'refused');
    for (const value of ['0', '5', '1.5']) {
      const result = await runCli(['export', sample, '--to', out, '--threads', value]);
      expect(result.code).toBe(2);
      expect(result.stderr.trim().split('\n')).toEqual([`pst2imap: --threads ${value}: give a whole number from 1 to 4.`]);
    }
    expect(() => readdirSync(out)).toThrow();
  });

  it('reports a thread that cannot run as a failure that stopped the run, never as nothing to do', async () => {
    // The PST is open here, and gone by the time the worker thread opens it.
    const pst = join(work, 'gone.pst');
    copyFileSync(sample, pst);
    const reader = openPst(pst);
    rmSync(pst);
    try {
      const inbox = reader.root.children.find((folder) => folder.name === 'Inbox')!;
      const mailDir = join(work, 'gone');
      mkdirSync(mailDir);
      const counts = await exportFolders(reader, {
        format: 'eml',
        selection: { folders: [], exclude: [], targetRoot: '', map: [], mergeSpecial: true, since: null, before: null, maxSize: null },
        sizeLimit: null,
        folders: [{ nid: inbox.nid, where: 'Inbox', role: 'inbox', mailDir, otherDir: null }],
        items: inbox.contentCount,
        threads: 2,
      });
      // This thread's share may be written in part or whole; the other's is reported, not counted as done.
      expect(counts.written).toBe(filesUnder(mailDir).length);
      expect(counts.written).toBeLessThan(inbox.contentCount);
      expect(counts.failed).toEqual([{ folder: '', nid: null, detail: expect.stringMatching(/^a thread reading the PST stopped \(.*gone\.pst.*\); its share of the items was not all written$/) }]);
      expect(counts.stopped).toBe(counts.failed[0].detail);
    } finally {
      reader.close();
    }
  });
});

describe('a disk that fills up', () => {
  // A real 1 MiB tmpfs: the kernel's ENOSPC. The project's machines and CI run as root, which may mount.
  const volume = join(work, 'small');
  beforeAll(() => {
    mkdirSync(volume);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', volume]);
  });
  afterAll(() => execFileSync('umount', [volume]));

  it('stops every thread at the first file refused, leaves only whole messages, and a second run with room finishes', async () => {
    const pst = ensureFixture('bulk-1k');
    const out = join(volume, 'out');
    const full = await runCli(['export', pst, '--to', out, '--threads', '2']);
    expect(full.code).toBe(6);
    expect(full.stdout).toMatch(/^Stopped writing: .*ENOSPC.*What was written is complete/m);
    const written = Number(/^Written: ([\d,]+) messages/m.exec(full.stdout)![1].replace(/,/g, ''));
    const files = filesUnder(out);
    expect(written).toBeGreaterThan(0);
    expect(written).toBeLessThan(1000);
    // Nothing half written: no temporary file left, every file a whole message.
    expect(files).toHaveLength(written);
    for (const file of files) {
      expect(file).toMatch(/^[^/]+(\/[^/]+)*\/\d+\.eml$/);
      const parsed = await simpleParser(readFileSync(join(out, file)));
      expect(parsed.messageId).toMatch(/^<.+@.+>$/);
      expect(readFileSync(join(out, file)).toString('latin1')).toMatch(/\r\n$/);
    }
    // The stop is at the first refusals, not after reading on: each thread stops at its next item, so
    // the summary's line and at most one refused file per thread say ENOSPC.
    expect(full.stdout.match(/ENOSPC/g)!.length).toBeLessThanOrEqual(1 + 2);

    execFileSync('mount', ['-o', 'remount,size=64m', volume]);
    const again = await runCli(['export', pst, '--to', out, '--threads', '2']);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/^Written: 1,000 messages/m);
    expect(filesUnder(out)).toHaveLength(1000);
  });
});
