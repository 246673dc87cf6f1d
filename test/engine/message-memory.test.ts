/**
 * A message's memory is let go (releaseBytes) as soon as the server's OK says it has every byte of it, and
 * the reader thread writes the next messages meanwhile. Memory let go too early would empty or replace a
 * message while its bytes are still on the way: here every message the server holds must be, byte for
 * byte, the one the engine hashed (into the checkpoint store) before it was sent. Against a real Dovecot,
 * with a PST of attachments of up to 600 KB written by the fixture writer, through pipelined groups of
 * APPENDs on two connections.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writePst } from '../../fixtures/writer/pst-writer.js';
import { openJournal } from '../../src/checkpoint/index.js';
import { migrate } from '../../src/engine/migrate.js';
import { startDovecot, type DovecotServer } from '../support/dovecot.js';
import { imapTarget, migrateOptions, storedMessages } from '../support/migration.js';

let server: DovecotServer;
beforeAll(async () => {
  server = await startDovecot({ users: { alice: 'secret' } });
});
afterAll(() => server.stop());

test('every message the server stores is the one hashed before it was sent, its memory let go after', async () => {
  const pstPath = join(mkdtempSync(join(tmpdir(), 'pst2imap-memory-')), 'attachments.pst');
  writePst(
    {
      seed: 64,
      displayName: 'Attachments',
      folders: [
        { name: 'Inbox', role: 'inbox', generate: { count: 40, attachmentRate: 1, maxAttachmentSize: 600 * 1024, japaneseRate: 0.5 } },
        { name: 'Sent Items', role: 'sent', generate: { count: 20, attachmentRate: 1, fixedAttachmentSize: 300 * 1024 } },
      ],
    },
    pstPath,
  );
  const options = migrateOptions({ pstPath, target: imapTarget(server.port, 'alice', async () => ({ password: 'secret' })), batchSize: 8, connections: 2 });
  const result = await migrate(options);
  expect(result).toMatchObject({ status: 'finished', sent: 60, failed: 0 });

  const journal = openJournal(options.statePath);
  const done = [...journal.lastJob()!.items({ state: 'done' })];
  journal.close();
  expect(done).toHaveLength(60);
  let large = 0;
  for (const mailbox of new Set(done.map((item) => item.targetMailbox))) {
    const onServer = await storedMessages(server.port, 'alice', 'secret', mailbox);
    for (const item of done.filter((one) => one.targetMailbox === mailbox)) {
      const stored = onServer.get(item.uid!);
      expect(stored).toBeDefined();
      if (stored!.size >= 64 * 1024) large += 1;
      expect(stored!.sha).toBe(item.contentHash);
    }
  }
  // Most of them large enough to be let go by hand (64 KB or more).
  expect(large).toBeGreaterThan(30);
});
