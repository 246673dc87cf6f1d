/**
 * kill -9 of the real executable at a dozen points of a migration, each followed by a new run (`migrate`
 * again, or `resume`), for the kill tests of both targets. After every kill: nothing twice on the target,
 * and nothing there the checkpoint store does not account for (done, or in flight to be looked up). At
 * the end: exactly the messages of a clean run, none missing, none twice, and verify agrees.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openJournal } from '../../src/checkpoint/index.js';
import { normalizeMessageId } from '../../src/target/target.js';
import { runCli, sharedFixtures } from './cli.js';
import type { DovecotServer } from './dovecot.js';
import { duplicates, maildirContents, serverContents } from './migration.js';
import { spawnCli } from './spawn-cli.js';

export const KILL_PST = join(sharedFixtures, 'aspose-chunks-part1.pst');
export const KILL_PASSWORD = 'kill-test-password';
const PST = KILL_PST;
const PASSWORD = KILL_PASSWORD;

/** A clean run into the account `reference`: what every killed-and-resumed run must end with. */
export async function referenceRun(server: DovecotServer): Promise<void> {
  const reference = await runCli(
    ['migrate', PST, '--to', `imap://127.0.0.1:${server.port}`, '--user', 'reference', '--provider', 'generic', '--state', join(mkdtempSync(join(tmpdir(), 'pst2imap-kill-')), 'reference.db'), '--quiet'],
    { env: { PST2IMAP_PASSWORD: PASSWORD } },
  );
  if (reference.code !== 0 || reference.stderr !== '') throw new Error(`reference run failed: ${reference.stderr}`);
}

type Event = { type: string; number?: number };
const isEvent = (type: string, extra: (event: Event) => boolean = () => true) => (line: string) => {
  try {
    const event = JSON.parse(line) as Event;
    return event.type === type && extra(event);
  } catch {
    return false;
  }
};

/** Where each run is killed: a line of its --json output, then a delay in milliseconds. */
const KILL_POINTS: Array<{ name: string; at: ((line: string) => boolean) | null; delayMs: number }> = [
  { name: 'while starting (PST and server being opened)', at: null, delayMs: 250 },
  { name: 'as the job is opened', at: isEvent('opened'), delayMs: 0 },
  { name: 'right after planning', at: isEvent('planned'), delayMs: 0 },
  { name: 'as the first folder starts', at: isEvent('folder'), delayMs: 0 },
  { name: 'inside the second batch', at: isEvent('batch', (event) => event.number === 1), delayMs: 40 },
  { name: 'right after a batch was recorded', at: isEvent('batch', (event) => event.number === 2), delayMs: 0 },
  { name: 'at the first message recorded sent', at: isEvent('sent'), delayMs: 0 },
  { name: 'late inside a batch', at: isEvent('batch', (event) => event.number === 1), delayMs: 90 },
  { name: 'while a batch is being sent', at: isEvent('batch', (event) => event.number === 1), delayMs: 20 },
  // Recovery comes before planning: killed at the recovery when there is one to do, else at planning.
  { name: 'at the recovery of an interrupted run', at: (line) => isEvent('recovered')(line) || isEvent('planned')(line), delayMs: 0 },
  { name: 'early inside a batch', at: isEvent('batch', (event) => event.number === 1), delayMs: 5 },
  { name: 'in the middle of a batch', at: isEvent('batch', (event) => event.number === 1), delayMs: 60 },
];

export async function killAndResume(server: DovecotServer, target: 'imap' | 'maildir'): Promise<void> {
  const stateDir = mkdtempSync(join(tmpdir(), 'pst2imap-kill-'));
  const state = join(stateDir, 'state.db');
  const maildir = join(stateDir, 'mail');
  const connection =
    target === 'imap'
      ? ['--to', `imap://127.0.0.1:${server.port}`, '--user', 'alice', '--provider', 'generic', '--state', state]
      : ['--to', `maildir:${maildir}`, '--provider', 'generic', '--state', state];
  const migrateArgs = ['migrate', PST, ...connection, '--json', '--batch', '1', '--rate', '20', '--connections', '2'];
  const resumeArgs = ['resume', '--state', state, '--json'];
  const env = { PST2IMAP_PASSWORD: PASSWORD };
  const contentsNow = async () => (target === 'imap' ? serverContents(server.port, 'alice', PASSWORD) : maildirContents(maildir));

  const expected = await serverContents(server.port, 'reference', PASSWORD);
  expect([...expected.values()].flat()).toHaveLength(31);
  let killedWithItemsInFlight = 0;
  let recoveries = 0;
  const killedAt: string[] = [];
  const notKilled: string[] = [];
  for (const [index, point] of KILL_POINTS.entries()) {
    const run = spawnCli(index % 3 === 2 ? resumeArgs : migrateArgs, env);
    let reached = true;
    if (point.at) {
      reached = await run.waitForLine(point.at).then(
        () => true,
        () => false,
      );
    }
    if (reached) {
      await new Promise((resolve) => setTimeout(resolve, point.delayMs));
      run.child.kill('SIGKILL');
    }
    const { signal } = await run.exited;
    if (signal === 'SIGKILL') killedAt.push(point.name);
    else notKilled.push(`${point.name}: ${run.stderr}`);
    if (run.stdoutLines.some(isEvent('recovered'))) recoveries += 1;

    // The store is sound and tells the truth about the server.
    const contents = await contentsNow();
    for (const [mailbox, ids] of contents) expect({ point: point.name, mailbox, duplicates: duplicates(ids) }).toEqual({ point: point.name, mailbox, duplicates: [] });
    const journal = openJournal(state);
    try {
      expect(journal.integrityCheck()).toEqual(['ok']);
      const job = journal.lastJob();
      if (!job) continue;
      const accounted = new Map<string, Set<string>>();
      for (const item of job.items({ state: ['done', 'in_flight'] })) {
        if (!item.messageId) continue;
        const ids = accounted.get(item.targetMailbox) ?? new Set();
        ids.add(normalizeMessageId(item.messageId));
        accounted.set(item.targetMailbox, ids);
      }
      for (const item of job.items({ state: 'done' })) {
        expect({ point: point.name, nid: item.nid, onServer: contents.get(item.targetMailbox)?.includes(normalizeMessageId(item.messageId!)) }).toEqual({
          point: point.name,
          nid: item.nid,
          onServer: true,
        });
      }
      for (const [mailbox, ids] of contents) {
        for (const id of ids) expect({ point: point.name, mailbox, id, accounted: accounted.get(mailbox)?.has(id) ?? false }).toEqual({ point: point.name, mailbox, id, accounted: true });
      }
      if (job.totals().in_flight > 0) killedWithItemsInFlight += 1;
    } finally {
      journal.close();
    }
  }
  // The kills landed where it matters: runs were stopped with items in flight, and later runs looked
  // them up on the server before sending anything again.
  expect({ killed: killedAt.length, notKilled }).toEqual({ killed: KILL_POINTS.length, notKilled: [] });
  expect(killedWithItemsInFlight).toBeGreaterThanOrEqual(2);
  expect(recoveries).toBeGreaterThanOrEqual(2);

  const last = await runCli(resumeArgs, { env });
  expect({ code: last.code, stderr: last.stderr }).toEqual({ code: 0, stderr: '' });
  const finished = last.stdout.trim().split('\n').map((line) => JSON.parse(line) as { type: string; result?: { status: string; totals: Record<string, number> } });
  expect(finished.at(-1)).toMatchObject({ type: 'finished', result: { status: 'finished', totals: { done: 31, pending: 0, in_flight: 0, failed: 0 } } });
  const final = await contentsNow();
  for (const [mailbox, ids] of expected) expect({ mailbox, ids: final.get(mailbox) ?? [] }).toEqual({ mailbox, ids });
  expect([...final.values()].flat()).toHaveLength(31);

  const verified = await runCli(['verify', '--state', state], { env });
  expect(verified.code).toBe(0);
  expect(verified.stdout).toMatch(/^Total\s+31\s+0\s+0\s*$/m);
}
