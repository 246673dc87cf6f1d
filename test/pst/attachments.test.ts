/**
 * Attachments and embedded messages, byte for byte against libpff's pffexport: Japanese file names, and
 * messages embedded in messages four levels deep (the library returned null for every embedded message
 * before the patch).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openPst, isReadProblem, type MessageSummary, type PstAttachment, type PstMessage } from '../../src/pst/index.js';
import { sharedFixtures } from '../support/cli.js';

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const work = mkdtempSync(join(tmpdir(), 'pst2imap-attachments-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function exportWithLibpff(name: string): string {
  const target = join(work, name);
  execFileSync('pffexport', ['-q', '-m', 'all', '-t', target, join(sharedFixtures, name)], { stdio: 'ignore' });
  return join(`${target}.export`, 'Outlook データ ファイルのトップ', 'Message00001');
}

function onlyMessage(name: string, use: (message: PstMessage) => void): void {
  const reader = openPst(join(sharedFixtures, name));
  try {
    const [summary] = [...reader.items(reader.root)].filter((entry) => !isReadProblem(entry)) as MessageSummary[];
    use(reader.readMessage(summary.nid));
  } finally {
    reader.close();
  }
}

it('keeps Japanese attachment names and bytes', () => {
  const exported = exportWithLibpff('hh-unicodeAttachmentFilename.pst');
  onlyMessage('hh-unicodeAttachmentFilename.pst', (message) => {
    const names = message.attachments.map((attachment) => attachment.filename);
    expect(names).toEqual(['エラー Error を 意味する記号.png', '疑問 Help を 意味する記号.png', '情報 Information を 意味する記号.png']);
    message.attachments.forEach((attachment, index) => {
      const theirs = readFileSync(join(exported, 'Attachments', `${index + 1}_${attachment.filename}`));
      expect(sha256(attachment.content())).toBe(sha256(theirs));
    });
  });
});

it('reads messages embedded four levels deep, with their attachments, as often as asked', () => {
  let exported = exportWithLibpff('hh-alpha-beta-gamma-delta.pst');
  onlyMessage('hh-alpha-beta-gamma-delta.pst', (top) => {
    const subjects: string[] = [];
    let message: PstMessage | null = top;
    for (const name of ['alpha', 'beta', 'gamma', 'delta']) {
      subjects.push(message!.subject);
      const picture = message!.attachments.find((attachment) => attachment.method === 'by-value')!;
      expect(picture.filename).toBe(`${name}.png`);
      expect(sha256(picture.content())).toBe(sha256(readFileSync(join(exported, 'Attachments', `1_${name}.png`))));
      const inner: PstAttachment | undefined = message!.attachments.find((attachment) => attachment.method === 'embedded');
      message = inner ? inner.embedded() : null;
      if (inner) {
        expect(inner.embedded()?.subject).toBe(message?.subject); // a second read gives the same
        exported = join(exported, 'Attachments', 'Attachment00002', 'Message00001');
      }
    }
    expect(subjects.map((subject) => subject.toLowerCase())).toEqual(['alpha', 'beta', 'gamma', 'delta']);
    expect(message).toBeNull();
  });
});
