/**
 * `pst2imap export` as a user types it, on the bundled sample: .eml files and Maildir, stable names so a
 * second run overwrites, items that are not mail as files, selection, a damaged item, bad input.
 */
import { closeSync, copyFileSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import { openPst, isReadProblem, type MessageSummary, type PstFolder } from '../../src/pst/index.js';
import { projectRoot, runCli } from '../support/cli.js';
import { filesUnder } from '../support/files.js';

const sample = join(projectRoot, 'fixtures', 'pst', 'sample.pst');
const work = mkdtempSync(join(tmpdir(), 'pst2imap-export-cli-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** The mail items of the sample by PST folder path, as the PST layer reads them. */
function sampleMail(): Map<string, number[]> {
  const reader = openPst(sample);
  const byFolder = new Map<string, number[]>();
  const visit = (folder: PstFolder) => {
    const mail = [...reader.items(folder)].filter((entry) => !isReadProblem(entry) && entry.kind === 'mail') as MessageSummary[];
    if (mail.length > 0) byFolder.set(folder.path.join('/'), mail.map((item) => item.nid));
    folder.children.forEach(visit);
  };
  visit(reader.root);
  reader.close();
  return byFolder;
}

describe('.eml files', () => {
  const out = join(work, 'eml');

  it('writes each selected message as <nid>.eml under its target folder, and says what it did', async () => {
    const result = await runCli(['export', sample, '--to', out]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Written: 14 messages, [\d.]+ [KM]B, in 9 folders under .*eml\.$/m);
    expect(result.stdout).toContain('Skipped: 2 not mail (1 appointments, 1 contacts) (--export-other DIR writes them as files), 0 too large, 0 outside the dates.');
    const mail = sampleMail();
    const expected = [
      ...mail.get('Inbox')!.map((nid) => `INBOX/${nid}.eml`),
      ...mail.get('Sent Items')!.map((nid) => `Sent/${nid}.eml`),
    ].sort();
    expect(filesUnder(out)).toEqual(expected);
    // Empty mail folders are made too: they are the user's filing structure.
    expect(statSync(join(out, 'INBOX', 'SubInbox')).isDirectory()).toBe(true);
    expect(statSync(join(out, 'Custom Folder 1')).isDirectory()).toBe(true);
  });

  it('writes RFC 5322 messages with CRLF line ends, readable by another parser', async () => {
    for (const file of filesUnder(out)) {
      const bytes = readFileSync(join(out, file));
      expect(bytes.toString('latin1')).not.toMatch(/[^\r]\n/);
      const parsed = await simpleParser(bytes);
      expect(parsed.messageId).toMatch(/^<.+@.+>$/);
      expect(parsed.date).toBeInstanceOf(Date);
    }
    const parsed = await simpleParser(readFileSync(join(out, 'INBOX', `${sampleMail().get('Inbox')![0]}.eml`)));
    expect(parsed.from?.value[0].address).toMatch(/@/);
  });

  it('overwrites the same files on a second run: no copies', async () => {
    const before = filesUnder(out);
    const first = readFileSync(join(out, before[0]));
    const result = await runCli(['export', sample, '--to', out]);
    expect(result.code).toBe(0);
    expect(filesUnder(out)).toEqual(before);
    const second = readFileSync(join(out, before[0]));
    // Only the MIME boundaries are drawn anew.
    const strip = (bytes: Buffer) => bytes.toString('latin1').replace(/_NmP-[0-9a-f]+-Part/g, 'B');
    expect(strip(second)).toBe(strip(first));
  });
});

describe('Maildir', () => {
  const out = join(work, 'maildir');

  it('writes a Maildir per folder, flags in the file name, and the same names on a second run', async () => {
    const result = await runCli(['export', sample, '--to', out, '--format', 'maildir']);
    expect(result.code).toBe(0);
    const files = filesUnder(out);
    expect(files).toHaveLength(14);
    for (const file of files) expect(file).toMatch(/^(INBOX|Sent)\/cur\/\d+\.N\d+\.pst2imap-[0-9a-f]{12},S=\d+:2,[DFPRS]*$/);
    // Everything in Sent Items was read: \Seen is the S of ':2,S'.
    expect(files.filter((file) => file.startsWith('Sent/')).every((file) => file.endsWith(':2,S'))).toBe(true);
    for (const file of files) expect(statSync(join(out, file)).size).toBe(Number(/,S=(\d+)/.exec(file)![1]));
    for (const folder of ['INBOX', 'Sent', 'INBOX/SubInbox', 'Deleted']) {
      for (const sub of ['cur', 'new', 'tmp']) expect(statSync(join(out, folder, sub)).isDirectory()).toBe(true);
    }
    const again = await runCli(['export', sample, '--to', out, '--format', 'maildir']);
    expect(again.code).toBe(0);
    expect(filesUnder(out)).toEqual(files);
  });
});

describe('selection and items that are not mail', () => {
  it('takes --folder, --map and the other selection options of plan', async () => {
    const out = join(work, 'selected');
    const result = await runCli(['export', sample, '--to', out, '--folder', 'Inbox', '--map', 'Inbox=Archive/PST Inbox']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Written: 8 messages/m);
    expect(filesUnder(out)).toHaveLength(8);
    expect(filesUnder(out).every((file) => file.startsWith('Archive/PST Inbox/'))).toBe(true);
    expect(statSync(join(out, 'Archive', 'PST Inbox', 'SubInbox')).isDirectory()).toBe(true);
    const dated = await runCli(['export', sample, '--to', join(work, 'dated'), '--before', '2000-01-01']);
    expect(dated.stdout).toMatch(/^Written: 0 messages/m);
    expect(dated.stdout).toContain('14 outside the dates');
  });

  it('--export-other writes the contact as a vCard and the appointment as iCalendar', async () => {
    const out = join(work, 'with-other');
    const other = join(work, 'other');
    const result = await runCli(['export', sample, '--to', out, '--export-other', other]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Not mail, written as files: 2 items \(1 appointments, 1 contacts\) under .*other\.$/m);
    const files = filesUnder(other);
    expect(files).toEqual([expect.stringMatching(/^Calendar\/\d+\.ics$/), expect.stringMatching(/^Contacts\/\d+\.vcf$/)]);
    expect(readFileSync(join(other, files[0]), 'utf8')).toContain('SUMMARY:Weekly meeting\r\n');
    expect(readFileSync(join(other, files[1]), 'utf8')).toContain('FN:Saqib Razzaq\r\n');
  });
});

describe('problems', () => {
  /** The sample with the data block of its first Inbox item overwritten, as a bad sector would. */
  function damagedSample(): { file: string; nid: number } {
    const file = join(work, 'damaged.pst');
    copyFileSync(sample, file);
    const reader = openPst(file);
    const inbox = reader.root.children.find((folder) => folder.name === 'Inbox')!;
    const nid = ([...reader.items(inbox)][0] as MessageSummary).nid;
    reader.close();
    // Where the block lies is the library's knowledge: asked here, in the test only.
    const require = createRequire(import.meta.url);
    const { PSTFile } = require('pst-extractor');
    const Long = require('long');
    const library = new PSTFile(file);
    const node = library.getDescriptorIndexNode(Long.fromNumber(nid));
    const offset = Number(library.getOffsetIndexNode(node.dataOffsetIndexIdentifier).fileOffset.toString());
    library.close();
    const fd = openSync(file, 'r+');
    writeSync(fd, Buffer.alloc(256, 0xa5), 0, 256, offset);
    closeSync(fd);
    return { file, nid };
  }

  it('writes what it can, lists the item it could not read, and ends with exit code 6', async () => {
    const { file, nid } = damagedSample();
    const out = join(work, 'damaged-out');
    const result = await runCli(['export', file, '--to', out]);
    expect(result.code).toBe(6);
    expect(result.stdout).toMatch(/^Written: 13 messages/m);
    expect(result.stdout).toMatch(/^Failed \(1\):$/m);
    expect(result.stdout).toContain(`Inbox: item ${nid}:`);
    expect(filesUnder(out)).toHaveLength(13);
  });

  it('refuses bad input in one line, writing nothing', async () => {
    const missing = await runCli(['export', join(work, 'nope.pst'), '--to', join(work, 'never')]);
    expect(missing.code).toBe(3);
    expect(missing.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^pst2imap: .*nope\.pst: no such file/)]);
    expect(() => statSync(join(work, 'never'))).toThrow(); // nothing made for a PST that cannot be used

    const noTarget = await runCli(['export', sample]);
    expect(noTarget.code).toBe(2);
    expect(noTarget.stderr).toMatch(/to/);

    const aFile = join(work, 'a-file');
    writeFileSync(aFile, 'x');
    const onFile = await runCli(['export', sample, '--to', aFile]);
    expect(onFile.code).toBe(2);
    expect(onFile.stderr.trim().split('\n')).toEqual([`pst2imap: Cannot write to ${aFile} (--to): it is a file, not a folder. Give a folder you can write to.`]);

    const badFormat = await runCli(['export', sample, '--to', join(work, 'f'), '--format', 'mbox']);
    expect(badFormat.code).toBe(2);
    expect(badFormat.stderr).toContain('mbox');

    const japanese = await runCli(['export', sample, '--to', aFile], { env: { LANG: 'ja_JP.UTF-8' } });
    expect(japanese.code).toBe(2);
    expect(japanese.stderr).toContain('に書き込めません');
  });

  it('speaks Japanese', async () => {
    const result = await runCli(['export', sample, '--to', join(work, 'ja'), '--lang', 'ja']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^書き出し: 14 通/m);
    const help = await runCli(['export', '--help', '--lang', 'ja']);
    expect(help.stdout).toContain('--export-other');
    expect(help.stdout).toContain('書き出し');
  });
});
