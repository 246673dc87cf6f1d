/** The names `export` gives folders and Maildir files: safe on every file system, the same on every run. */
import { folderDirectories, maildirBase, maildirInfo } from '../../src/target/files.js';

it('makes each mailbox segment a safe directory name', () => {
  expect(folderDirectories('INBOX/プロジェクト/東京／大阪', 'eml')).toEqual(['INBOX', 'プロジェクト', '東京／大阪']);
  expect(folderDirectories('a:b/c*d?/e<f>|g"/h\\i', 'eml')).toEqual(['a_b', 'c_d_', 'e_f__g_', 'h_i']);
  expect(folderDirectories('../x./ ./CON/com1.txt/Aux', 'eml')).toEqual(['_', 'x', '_', 'CON_', 'com1.txt_', 'Aux_']);
  expect(folderDirectories('INBOX/cur/new', 'maildir')).toEqual(['INBOX', 'cur_', 'new_']);
  expect(folderDirectories('INBOX/cur/new', 'eml')).toEqual(['INBOX', 'cur', 'new']);
});

it('writes Maildir flags in ASCII order', () => {
  expect(maildirInfo(['\\Seen', '\\Flagged', '\\Answered', '$Forwarded', '\\Draft'])).toBe('2,DFPRS');
  expect(maildirInfo([])).toBe('2,');
});

it('names a Maildir file by date, item and store, the same on every run', () => {
  const fingerprint = 'ab'.repeat(32);
  expect(maildirBase(new Date('2024-04-01T09:00:00Z'), 2097188, fingerprint)).toBe('1711962000.N2097188.pst2imap-abababababab');
  expect(maildirBase(null, 5, fingerprint)).toBe('0.N5.pst2imap-abababababab');
});
