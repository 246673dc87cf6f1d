/**
 * Migrations of real PST files into a real Dovecot set up like Outlook.com, through the engine's API:
 * per-folder counts as `plan` promises them, every Message-ID the PST holds in the right mailbox, none
 * twice; a second run sends nothing, a wider selection sends only what is new; --skip-existing, sizes
 * over the limit, --limit, Ctrl-C (an aborted signal), a Maildir target, and verify finding gaps.
 */
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ImapFlow } from 'imapflow';
import { openJournal } from '../../src/checkpoint/index.js';
import { migrate } from '../../src/engine/migrate.js';
import { verify } from '../../src/engine/verify.js';
import type { MigrateEvent } from '../../src/engine/events.js';
import { openPst, type PstFolder } from '../../src/pst/index.js';
import { MaildirTarget } from '../../src/target/maildir.js';
import { messageIdOfHeaders, normalizeMessageId } from '../../src/target/target.js';
import { projectRoot, runCli, sharedFixtures } from '../support/cli.js';
import { startDovecot, type DovecotServer } from '../support/dovecot.js';
import { duplicates, everything, imapTarget, migrateOptions, serverContents } from '../support/migration.js';

const SAMPLE = join(projectRoot, 'fixtures/pst/sample.pst');
const PASSWORD = 'migrate-test';
const password = async () => ({ password: PASSWORD });
let server: DovecotServer;
let users = 0;

/** A fresh account on the test server (all made at start: Dovecot reads its user file once a second). */
function newUser(): string {
  return `user${++users}`;
}

beforeAll(async () => {
  server = await startDovecot({ users: Object.fromEntries(Array.from({ length: 20 }, (_, index) => [`user${index + 1}`, PASSWORD])) });
});
afterAll(() => server.stop());

interface PlanJsonFolder {
  path: string[];
  selected: boolean;
  target: string | null;
  send: number;
  children: PlanJsonFolder[];
}

/** What `plan --json` (the other half of the contract) says each mailbox will receive. */
async function plannedPerMailbox(pst: string): Promise<{ perMailbox: Map<string, number>; targetOf: Map<string, string> }> {
  const result = await runCli(['plan', pst, '--json', '--provider', 'generic']);
  expect(result.code === 0 || result.code === 6).toBe(true);
  const plan = JSON.parse(result.stdout) as { root: PlanJsonFolder };
  const perMailbox = new Map<string, number>();
  const targetOf = new Map<string, string>();
  const visit = (folder: PlanJsonFolder) => {
    if (folder.selected && folder.target !== null) {
      targetOf.set(folder.path.join('\u0000'), folder.target);
      perMailbox.set(folder.target, (perMailbox.get(folder.target) ?? 0) + folder.send);
    }
    folder.children.forEach(visit);
  };
  visit(plan.root);
  return { perMailbox, targetOf };
}

/** The Message-IDs the PST itself stores, by folder path (read with the PST layer). */
function pstMessageIds(pst: string): Map<string, string[]> {
  const reader = openPst(pst);
  const ids = new Map<string, string[]>();
  const visit = (folder: PstFolder) => {
    for (const entry of reader.items(folder)) {
      if ('problem' in entry || entry.kind !== 'mail' || !entry.internetMessageId) continue;
      // Only what the rebuild keeps as it is: printable ASCII (others get a derived one).
      if (!/^<[\x21-\x7e]+>$/.test(entry.internetMessageId.trim())) continue;
      const key = folder.path.join('\u0000');
      ids.set(key, [...(ids.get(key) ?? []), normalizeMessageId(entry.internetMessageId)]);
    }
    folder.children.forEach(visit);
  };
  visit(reader.root);
  reader.close();
  return ids;
}

describe.each([
  ['fixtures/pst/sample.pst', SAMPLE, true],
  ['aspose-Outlook.pst', join(sharedFixtures, 'aspose-Outlook.pst'), true],
  // Its items carry no Message-ID of their own: the rebuild derives them (checked distinct above).
  ['aspose-chunks-part1.pst', join(sharedFixtures, 'aspose-chunks-part1.pst'), false],
])('%s', (_name, pst, storesMessageIds) => {
  it('arrives folder by folder as planned, every Message-ID in its mailbox, once; a second run sends nothing', async () => {
    const user = newUser();
    const options = migrateOptions({ pstPath: pst, target: imapTarget(server.port, user, password), batchSize: 7 });
    const result = await migrate(options);
    const { perMailbox, targetOf } = await plannedPerMailbox(pst);
    const planned = [...perMailbox.values()].reduce((sum, count) => sum + count, 0);
    expect(result).toMatchObject({ status: 'finished', sent: planned, failed: 0, remaining: 0 });

    const contents = await serverContents(server.port, user, PASSWORD);
    for (const [mailbox, count] of perMailbox) expect({ mailbox, count: contents.get(mailbox)?.length ?? 0 }).toEqual({ mailbox, count });
    for (const [mailbox, ids] of contents) {
      expect({ mailbox, extra: perMailbox.has(mailbox) ? 0 : ids.length }).toEqual({ mailbox, extra: 0 });
      expect({ mailbox, duplicates: duplicates(ids) }).toEqual({ mailbox, duplicates: [] });
    }
    let checked = 0;
    for (const [folderKey, ids] of pstMessageIds(pst)) {
      const mailbox = targetOf.get(folderKey);
      if (!mailbox) continue;
      for (const id of ids) {
        expect({ folder: folderKey, id, found: contents.get(mailbox)!.includes(id) }).toEqual({ folder: folderKey, id, found: true });
        checked += 1;
      }
    }
    expect(checked > 0).toBe(storesMessageIds);

    const again = await migrate(options);
    expect(again).toMatchObject({ status: 'finished', sent: 0, failed: 0 });
    expect(await serverContents(server.port, user, PASSWORD)).toEqual(contents);
    const checkedResult = await verify({ pstPath: pst, selection: everything, target: options.target, provider: options.provider, statePath: options.statePath });
    expect(checkedResult).toMatchObject({ expected: planned, missing: 0, duplicates: 0 });
  });
});

test('each message is recorded with the UID the server gave it (APPENDUID); pauses come between batches', async () => {
  const user = newUser();
  const events: MigrateEvent[] = [];
  const options = migrateOptions({ pstPath: SAMPLE, target: imapTarget(server.port, user, password), batchSize: 5, pauseBetweenBatchesMs: 10 });
  await migrate(options, (event) => events.push(event));
  // 14 messages in batches of 5: three batches, a pause after each but the last.
  expect(events.filter((event) => event.type === 'batch').map((event) => (event as { number: number }).number)).toEqual([1, 2, 3]);
  expect(events.filter((event) => event.type === 'pause')).toEqual([{ type: 'pause', ms: 10 }, { type: 'pause', ms: 10 }]);
  const journal = openJournal(options.statePath);
  const done = [...journal.lastJob()!.items({ state: 'done' })];
  journal.close();
  expect(done).toHaveLength(14);
  const imap = new ImapFlow({ host: '127.0.0.1', port: server.port, secure: false, auth: { user, pass: PASSWORD }, logger: false });
  await imap.connect();
  try {
    for (const item of done) {
      const lock = await imap.getMailboxLock(item.targetMailbox, { readOnly: true });
      try {
        expect(item.uidValidity).toBe(Number(imap.mailbox && imap.mailbox.uidValidity));
        const fetched = await imap.fetchOne(String(item.uid), { uid: true, headers: ['message-id'] }, { uid: true });
        expect(fetched && messageIdOfHeaders(fetched.headers!.toString())).toBe(normalizeMessageId(item.messageId!));
      } finally {
        lock.release();
      }
    }
  } finally {
    await imap.logout();
  }
});

test('a wider selection later sends only what is new', async () => {
  const user = newUser();
  const options = migrateOptions({ pstPath: SAMPLE, target: imapTarget(server.port, user, password) });
  const first = await migrate({ ...options, selection: { ...everything, folders: ['Inbox'] } });
  expect(first).toMatchObject({ status: 'finished', sent: 8 });
  const second = await migrate(options);
  expect(second).toMatchObject({ status: 'finished', sent: 6 });
  expect(second.totals).toMatchObject({ done: 14, total: 14 });
  const contents = await serverContents(server.port, user, PASSWORD);
  expect(contents.get('INBOX')).toHaveLength(8);
  expect(contents.get('Sent')).toHaveLength(6);
});

test('--skip-existing leaves out what the folder already holds, one query per folder', async () => {
  const user = newUser();
  // Three messages copied earlier by other means (here: another job, with its own checkpoint store).
  const earlier = await migrate(migrateOptions({ pstPath: SAMPLE, target: imapTarget(server.port, user, password), limit: 3, connections: 1 }));
  expect(earlier.sent).toBe(3);
  const events: MigrateEvent[] = [];
  const options = migrateOptions({ pstPath: SAMPLE, target: imapTarget(server.port, user, password), skipExisting: true });
  const result = await migrate(options, (event) => events.push(event));
  expect(result).toMatchObject({ status: 'finished', sent: 11, skipped: 3, failed: 0 });
  const skipped = events.filter((event): event is Extract<MigrateEvent, { type: 'skipped' }> => event.type === 'skipped');
  expect(skipped.map((event) => event.reason)).toEqual(Array(3).fill('already on the server (same Message-ID in the target folder)'));
  const contents = await serverContents(server.port, user, PASSWORD);
  expect(contents.get('INBOX')).toHaveLength(8);
  expect(contents.get('Sent')).toHaveLength(6);
  for (const ids of contents.values()) expect(duplicates(ids)).toEqual([]);

  // A later run without --skip-existing: what was found on the server is still there, not sent again.
  const later = await migrate({ ...options, skipExisting: false });
  expect(later).toMatchObject({ status: 'finished', sent: 0, failed: 0 });
  const after = await serverContents(server.port, user, PASSWORD);
  expect(after.get('INBOX')).toHaveLength(8);
  expect(after.get('Sent')).toHaveLength(6);
  for (const ids of after.values()) expect(duplicates(ids)).toEqual([]);
});

test('messages over the size limit are skipped with the reason, listed in the report, and not expected by verify', async () => {
  const user = newUser();
  const reportDir = mkdtempSync(join(tmpdir(), 'pst2imap-report-'));
  const options = migrateOptions({
    pstPath: SAMPLE,
    target: imapTarget(server.port, user, password),
    provider: { messageLimit: 60 * 1024, reservedNames: [], maxNameLength: null },
    reportDir,
  });
  const result = await migrate(options);
  expect(result.skipped).toBeGreaterThan(0);
  expect(result.sent + result.skipped).toBe(14);
  const report = JSON.parse(readFileSync(result.reportFiles.find((file) => file.endsWith('.json'))!, 'utf8')) as {
    items: Array<{ state: string; reason: string; subject: string; folder: string[]; date: string | null }>;
  };
  expect(report.items).toHaveLength(result.skipped);
  for (const item of report.items) {
    expect(item.state).toBe('skipped');
    expect(item.reason).toMatch(/^larger than the size limit/);
    expect(item.folder.length).toBeGreaterThan(0);
  }
  const contents = await serverContents(server.port, user, PASSWORD);
  expect((contents.get('INBOX')?.length ?? 0) + (contents.get('Sent')?.length ?? 0)).toBe(result.sent);
  expect(await verify({ pstPath: SAMPLE, selection: everything, target: options.target, provider: options.provider, statePath: options.statePath })).toMatchObject({
    expected: result.sent,
    missing: 0,
    duplicates: 0,
  });
});

test('--limit and --limit-bytes move a slice per run; the job finishes over several runs', async () => {
  const user = newUser();
  const options = migrateOptions({ pstPath: SAMPLE, target: imapTarget(server.port, user, password), limit: 5 });
  const runs = [];
  for (let run = 0; run < 3; run++) runs.push(await migrate(options));
  expect(runs.map((run) => [run.status, run.sent])).toEqual([
    ['limit', 5],
    ['limit', 5],
    ['finished', 4],
  ]);
  const bytes = await migrate({ ...options, target: imapTarget(server.port, newUser(), password), limit: null, limitBytes: 1, statePath: join(mkdtempSync(join(tmpdir(), 'pst2imap-state-')), 'state.db') });
  // At least one message goes per run, however small the byte limit.
  expect(bytes).toMatchObject({ status: 'limit', sent: 1 });
});

test('Ctrl-C (the signal) finishes what is being sent, leaves nothing in flight, and the next run completes', async () => {
  const user = newUser();
  const controller = new AbortController();
  const options = migrateOptions({ pstPath: SAMPLE, target: imapTarget(server.port, user, password), batchSize: 3, rate: 20 });
  const stopped = await migrate({ ...options, signal: controller.signal }, (event) => {
    if (event.type === 'batch' && event.number === 1) controller.abort();
  });
  expect(stopped.status).toBe('interrupted');
  expect(stopped.sent).toBeGreaterThanOrEqual(3);
  expect(stopped.sent).toBeLessThan(14);
  expect(stopped.totals.in_flight).toBe(0);
  const journal = openJournal(options.statePath);
  expect(journal.lastJob()!.status).toBe('interrupted');
  journal.close();
  const resumed = await migrate(options);
  expect(resumed).toMatchObject({ status: 'finished', sent: 14 - stopped.sent });
  const contents = await serverContents(server.port, user, PASSWORD);
  expect([...contents.values()].flat()).toHaveLength(14);
  for (const ids of contents.values()) expect(duplicates(ids)).toEqual([]);
});

test('verify finds a missing message and a doubled one', async () => {
  const user = newUser();
  const options = migrateOptions({ pstPath: SAMPLE, target: imapTarget(server.port, user, password) });
  await migrate(options);
  const imap = new ImapFlow({ host: '127.0.0.1', port: server.port, secure: false, auth: { user, pass: PASSWORD }, logger: false });
  await imap.connect();
  const lock = await imap.getMailboxLock('Sent');
  let doubledId = '';
  try {
    const [first, second] = await imap.fetchAll('1:2', { uid: true, source: true, headers: ['message-id'] });
    doubledId = messageIdOfHeaders(first!.headers!.toString());
    await imap.append('Sent', first!.source!);
    await imap.messageDelete(String(second!.uid), { uid: true });
  } finally {
    lock.release();
    await imap.logout();
  }
  const result = await verify({ pstPath: SAMPLE, selection: everything, target: options.target, provider: options.provider, statePath: options.statePath });
  expect(result).toMatchObject({ expected: 14, missing: 1, duplicates: 1 });
  const sent = result.folders.find((folder) => folder.mailbox === 'Sent')!;
  expect(sent).toMatchObject({ expected: 6, onServer: 6, missing: 1, duplicates: 1, others: 0 });
  expect(sent.missingIds).toHaveLength(1);
  expect(sent.missingIds[0]).not.toBe(doubledId);
});

test('a Maildir target goes through the same engine: checkpoints, slices, resume', async () => {
  const dir = join(mkdtempSync(join(tmpdir(), 'pst2imap-maildir-')), 'mail');
  const options = migrateOptions({ pstPath: SAMPLE, target: new MaildirTarget(dir), limit: 5 });
  expect((await migrate(options)).sent).toBe(5);
  const rest = await migrate({ ...options, limit: null });
  expect(rest).toMatchObject({ status: 'finished', sent: 9 });
  expect((await migrate({ ...options, limit: null })).sent).toBe(0);
  const files = (folder: string) => readdirSync(join(dir, folder, 'cur'));
  expect(files('INBOX')).toHaveLength(8);
  expect(files('Sent')).toHaveLength(6);
  expect(files('INBOX').filter((name) => /:2,[A-Z]*S[A-Z]*$/.test(name)).length).toBeGreaterThan(0);
  const ids = [...files('INBOX'), ...files('Sent')].map((name) => name);
  expect(new Set(ids).size).toBe(14);
  expect(await verify({ pstPath: SAMPLE, selection: everything, target: options.target, provider: options.provider, statePath: options.statePath })).toMatchObject({
    expected: 14,
    missing: 0,
    duplicates: 0,
  });
});
