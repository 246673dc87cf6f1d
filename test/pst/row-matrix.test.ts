/**
 * Tables whose rows fill several data blocks ([MS-PST] 2.3.4.4.1). Outlook pads each block to 8,176 bytes;
 * the project's writer, like other writers, ends each block after its last whole row. Both are read: a
 * PST written with 300 items in a folder and 150 recipients on one message, row for row.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writePst } from '../../fixtures/writer/pst-writer.js';
import type { MessageSpec } from '../../fixtures/writer/spec.js';
import { openPst, isReadProblem, type MessageSummary } from '../../src/pst/index.js';

const work = mkdtempSync(join(tmpdir(), 'pst2imap-row-matrix-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

it('reads every row of a contents table and a recipient table that span several blocks', () => {
  const many: MessageSpec[] = Array.from({ length: 300 }, (_, index) => ({
    subject: `Message ${index + 1}`,
    body: `Body ${index + 1}`,
    deliveryTime: new Date(Date.UTC(2020, 0, 1, 0, index)).toISOString(),
  }));
  const recipients = Array.from({ length: 150 }, (_, index) => ({ name: `受信者 ${index + 1}`, email: `r${index + 1}@example.jp` }));
  const file = join(work, 'rows.pst');
  writePst({ folders: [{ name: 'Inbox', role: 'inbox', messages: [...many, { subject: 'Many recipients', recipients, body: 'x' }] }] }, file);
  const reader = openPst(file);
  try {
    const inbox = reader.root.children.find((folder) => folder.name === 'Inbox')!;
    const entries = [...reader.items(inbox)];
    expect(entries.filter(isReadProblem)).toEqual([]);
    const subjects = (entries as MessageSummary[]).map((entry) => entry.subject);
    expect(subjects).toHaveLength(301);
    expect(new Set(subjects)).toEqual(new Set([...many.map((message) => message.subject), 'Many recipients']));
    const last = (entries as MessageSummary[]).find((entry) => entry.subject === 'Many recipients')!;
    const message = reader.readMessage(last.nid);
    expect(message.recipients.map((recipient) => recipient.email)).toEqual(recipients.map((recipient) => recipient.email));
    expect(message.recipients[149].name).toBe('受信者 150');
  } finally {
    reader.close();
  }
});
