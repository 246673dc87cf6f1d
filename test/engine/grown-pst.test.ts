/**
 * A gradual migration (issue 5): the PST keeps receiving mail while its user migrates, and running
 * `migrate` again after a finished job sends only what arrived since. The PST really grows here: the
 * writer's v1 is written to archive.pst and migrated, then v2 (v1 plus messages in the Inbox and in a
 * new subfolder, every item of v1 with its NID, the store with its record key and display name)
 * overwrites the same file, and the second run, through the engine and through the real executable,
 * must send exactly the new messages, into the same job.
 */
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openJournal } from '../../src/checkpoint/index.js';
import type { MigrateEvent, MigrateSummary } from '../../src/engine/events.js';
import { migrate } from '../../src/engine/migrate.js';
import { verify } from '../../src/engine/verify.js';
import { openPst, type PstFolder } from '../../src/pst/index.js';
import { normalizeMessageId } from '../../src/target/target.js';
import { writePst } from '../../fixtures/writer/pst-writer.js';
import { withoutAdded, type MessageSpec, type PstSpec } from '../../fixtures/writer/spec.js';
import { runCli } from '../support/cli.js';
import { startDovecot, type DovecotServer } from '../support/dovecot.js';
import { duplicates, everything, imapTarget, migrateOptions, serverContents } from '../support/migration.js';

const PASSWORD = 'grown-pst-test';
const password = async () => ({ password: PASSWORD });
let server: DovecotServer;
let users = 0;
const work = mkdtempSync(join(tmpdir(), 'pst2imap-grown-'));

/** A fresh account (all made at start: Dovecot reads its user file at most once a second). */
function newUser(): string {
  return `grown${++users}`;
}

beforeAll(async () => {
  server = await startDovecot({ users: Object.fromEntries(Array.from({ length: 4 }, (_, index) => [`grown${index + 1}`, PASSWORD])) });
});
afterAll(async () => {
  await server.stop();
  rmSync(work, { recursive: true, force: true });
});

function mail(id: string, day: number, added = false): MessageSpec {
  return {
    subject: `Message ${id}`,
    from: { name: 'Sender', email: 'sender@example.com' },
    recipients: [{ name: 'Owner', email: 'owner@example.com' }],
    body: `Body of ${id}.`,
    internetMessageId: `<${id}@grown.example>`,
    deliveryTime: `2024-03-${String(day).padStart(2, '0')}T09:00:00Z`,
    read: true,
    ...(added ? { added: true } : {}),
  };
}

/** v2: the store after POP delivered more mail into the Inbox and a rule filed some into a new subfolder. */
const GROWN: PstSpec = {
  seed: 5,
  displayName: 'Gradual migration',
  folders: [
    {
      name: 'Inbox',
      role: 'inbox',
      messages: [mail('in-1', 1), mail('in-2', 2), mail('in-3', 3), mail('in-4', 10, true), mail('in-5', 11, true)],
      folders: [
        { name: 'Projects', messages: [mail('proj-1', 4), mail('proj-2', 5)] },
        { name: 'Receipts', added: true, messages: [mail('rcpt-1', 12), mail('rcpt-2', 13)] },
      ],
    },
    { name: 'Sent Items', role: 'sent', messages: [mail('sent-1', 6), mail('sent-2', 7)] },
  ],
};
const ORIGINAL = withoutAdded(GROWN);
const ADDED = 4;

interface StoreView {
  fingerprint: string;
  /** folder path -> nid; message Message-ID -> nid. */
  folders: Map<string, number>;
  messages: Map<string, number>;
  /** folder path -> Message-IDs. */
  ids: Map<string, string[]>;
}

function readStore(path: string): StoreView {
  const reader = openPst(path);
  const view: StoreView = { fingerprint: reader.store.fingerprint, folders: new Map(), messages: new Map(), ids: new Map() };
  const visit = (folder: PstFolder) => {
    const key = folder.path.join('/');
    view.folders.set(key, folder.nid);
    for (const entry of reader.items(folder)) {
      if ('problem' in entry) throw new Error(`unreadable item in ${key}`);
      const id = normalizeMessageId(entry.internetMessageId!);
      view.messages.set(id, entry.nid);
      view.ids.set(key, [...(view.ids.get(key) ?? []), id].sort());
    }
    folder.children.forEach(visit);
  };
  visit(reader.root);
  reader.close();
  return view;
}

/** A PST in its own directory, written as v1; `grow()` overwrites the same file with v2. */
function archive(): { pst: string; grow: () => void } {
  const dir = mkdtempSync(join(work, 'case-'));
  const pst = join(dir, 'archive.pst');
  writePst(ORIGINAL, pst);
  const grown = join(dir, 'v2.pst');
  writePst(GROWN, grown);
  return { pst, grow: () => copyFileSync(grown, pst) };
}

const before = (() => {
  const dir = mkdtempSync(join(work, 'views-'));
  writePst(ORIGINAL, join(dir, 'v1.pst'));
  writePst(GROWN, join(dir, 'v2.pst'));
  return { v1: readStore(join(dir, 'v1.pst')), v2: readStore(join(dir, 'v2.pst')) };
})();

test('the writer expresses the same store, grown: same fingerprint, every NID of v1 kept, new ones after', () => {
  const { v1, v2 } = before;
  expect(v2.fingerprint).toBe(v1.fingerprint);
  for (const [path, nid] of v1.folders) expect({ path, nid: v2.folders.get(path) }).toEqual({ path, nid });
  for (const [id, nid] of v1.messages) expect({ id, nid: v2.messages.get(id) }).toEqual({ id, nid });
  const index = (nid: number) => nid >>> 5;
  const highestOld = Math.max(...[...v1.folders.values(), ...v1.messages.values()].map(index));
  const fresh = [...v2.messages].filter(([id]) => !v1.messages.has(id));
  expect(fresh.map(([id]) => id).sort()).toEqual(['in-4@grown.example', 'in-5@grown.example', 'rcpt-1@grown.example', 'rcpt-2@grown.example']);
  for (const [, nid] of fresh) expect(index(nid)).toBeGreaterThan(highestOld);
  expect(index(v2.folders.get('Inbox/Receipts')!)).toBeGreaterThan(highestOld);
  expect(v2.messages.size).toBe(v1.messages.size + ADDED);
});

/** Checks the server holds exactly the store's messages, each once per mailbox; returns what it holds. */
async function expectServerHolds(user: string, view: StoreView): Promise<Map<string, string[]>> {
  const contents = await serverContents(server.port, user, PASSWORD);
  const all = [...contents.values()].flat().sort();
  expect(all).toEqual([...view.messages.keys()].sort());
  for (const [mailbox, ids] of contents) expect({ mailbox, duplicates: duplicates(ids) }).toEqual({ mailbox, duplicates: [] });
  // Folder by folder: each folder's messages together in one mailbox, with nothing else.
  for (const [folder, ids] of view.ids) {
    const holding = [...contents].filter(([, held]) => held.includes(ids[0]));
    expect({ folder, holding: holding.map(([, held]) => held) }).toEqual({ folder, holding: [ids] });
  }
  return contents;
}

test('engine: a second run after the PST grew in place sends exactly the new messages, in the same job', async () => {
  const user = newUser();
  const { pst, grow } = archive();
  const options = migrateOptions({ pstPath: pst, target: imapTarget(server.port, user, password), batchSize: 3 });

  const first = await migrate(options);
  expect(first).toMatchObject({ status: 'finished', sent: before.v1.messages.size, failed: 0, remaining: 0 });
  await expectServerHolds(user, before.v1);

  grow();
  const events: MigrateEvent[] = [];
  const second = await migrate(options, (event) => events.push(event));
  expect(second).toMatchObject({ status: 'finished', sent: ADDED, failed: 0, skipped: 0, recovered: 0, remaining: 0 });
  expect(second.jobId).toBe(first.jobId);
  expect(events.find((event) => event.type === 'opened')).toMatchObject({ jobId: first.jobId, resumed: true });
  expect(events.find((event) => event.type === 'planned')).toMatchObject({ toSend: ADDED, added: ADDED });
  const sentEvents = events.filter((event) => event.type === 'sent').length;
  expect(sentEvents).toBe(ADDED);
  await expectServerHolds(user, before.v2);

  const journal = openJournal(options.statePath);
  try {
    const jobs = journal.jobs();
    expect(jobs).toHaveLength(1);
    expect(jobs[0]).toMatchObject({ id: first.jobId, fingerprint: before.v1.fingerprint, status: 'finished' });
    const done = [...journal.lastJob()!.items({ state: 'done' })];
    expect(done.map((item) => item.nid).sort((a, b) => a - b)).toEqual([...before.v2.messages.values()].sort((a, b) => a - b));
  } finally {
    journal.close();
  }

  const checked = await verify({ pstPath: pst, selection: everything, target: options.target, provider: options.provider, statePath: options.statePath });
  expect(checked).toMatchObject({ expected: before.v2.messages.size, missing: 0, duplicates: 0 });

  const third = await migrate(options);
  expect(third).toMatchObject({ status: 'finished', sent: 0, jobId: first.jobId });
  await expectServerHolds(user, before.v2);
});

test('CLI: `pst2imap migrate` again on the grown file sends exactly the new messages, in the same job', async () => {
  const user = newUser();
  const { pst, grow } = archive();
  const state = join(mkdtempSync(join(work, 'state-')), 'state.db');
  const run = () =>
    runCli(['migrate', pst, '--to', `imap://127.0.0.1:${server.port}`, '--user', user, '--provider', 'generic', '--state', state, '--json'], {
      env: { PST2IMAP_PASSWORD: PASSWORD },
    });
  const summaryOf = (stdout: string): MigrateSummary => {
    const finished = stdout
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as MigrateEvent)
      .find((event) => event.type === 'finished');
    if (!finished || finished.type !== 'finished') throw new Error(`no summary in: ${stdout}`);
    return finished.result;
  };

  const first = await run();
  expect({ code: first.code, stderr: first.stderr }).toEqual({ code: 0, stderr: '' });
  const firstSummary = summaryOf(first.stdout);
  expect(firstSummary).toMatchObject({ status: 'finished', sent: before.v1.messages.size, failed: 0 });
  await expectServerHolds(user, before.v1);

  grow();
  const second = await run();
  expect({ code: second.code, stderr: second.stderr }).toEqual({ code: 0, stderr: '' });
  expect(summaryOf(second.stdout)).toMatchObject({ status: 'finished', sent: ADDED, failed: 0, skipped: 0, remaining: 0, jobId: firstSummary.jobId });
  await expectServerHolds(user, before.v2);
});
