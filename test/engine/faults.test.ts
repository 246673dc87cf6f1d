/**
 * The engine against a server that misbehaves: a fault proxy between it and a real Dovecot cuts
 * connections in the middle of an APPEND, loses the answer to one that was stored, stalls, sends
 * Outlook.com's throttling answer, `* BYE` and "User is authenticated but not connected", and refuses
 * one message for good. Each time, the mailbox must end holding exactly what a clean run stores. The proxy
 * offers no MULTIAPPEND (as Outlook.com), except in the test of APPENDs in groups.
 */
import { join } from 'node:path';
import { openJournal } from '../../src/checkpoint/index.js';
import { migrate } from '../../src/engine/migrate.js';
import type { MigrateEvent } from '../../src/engine/events.js';
import { projectRoot } from '../support/cli.js';
import { startDovecot, type DovecotServer } from '../support/dovecot.js';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.js';
import { duplicates, imapTarget, migrateOptions, serverContents } from '../support/migration.js';

const SAMPLE = join(projectRoot, 'fixtures/pst/sample.pst');
const password = async () => ({ password: 'secret' });
let server: DovecotServer;
let proxy: FaultProxy;
/** What a clean run stores: mailbox -> sorted Message-IDs. */
let reference: Map<string, string[]>;

beforeAll(async () => {
  server = await startDovecot({ users: { reference: 'secret', alice: 'secret', bob: 'secret', carol: 'secret', dave: 'secret', erin: 'secret' } });
  const clean = await migrate(migrateOptions({ pstPath: SAMPLE, target: imapTarget(server.port, 'reference', password) }));
  expect(clean).toMatchObject({ status: 'finished', sent: 14, failed: 0 });
  reference = await serverContents(server.port, 'reference', 'secret');
  expect(reference.get('INBOX')).toHaveLength(8);
  expect(reference.get('Sent')).toHaveLength(6);
});
beforeEach(async () => {
  proxy = await startFaultProxy(server.port);
});
afterEach(() => proxy.close());
afterAll(() => server.stop());

test('cut mid-APPEND, answer lost, stalled, throttled, BYE, not connected: all arrive once', async () => {
  proxy.faults = new Map([
    [2, 'cut'],
    [4, 'lose-answer'],
    [5, 'throttle'],
    [7, 'bye'],
    [9, 'not-connected'],
    [10, 'stall'],
    [12, 'throttle'],
    [13, 'cut'],
  ]);
  const events: MigrateEvent[] = [];
  const options = migrateOptions({
    pstPath: SAMPLE,
    target: imapTarget(proxy.port, 'alice', password, { commandTimeoutMs: 1500 }),
    batchSize: 4,
    connections: 2,
  });
  const result = await migrate(options, (event) => events.push(event));
  expect(result).toMatchObject({ status: 'finished', failed: 0, remaining: 0 });
  expect(result.totals).toMatchObject({ done: 14, pending: 0, in_flight: 0, failed: 0 });
  // Every planned fault happened.
  expect(proxy.log.filter(([, fault]) => fault !== 'pass').map(([number]) => number)).toEqual([2, 4, 5, 7, 9, 10, 12, 13]);
  const contents = await serverContents(server.port, 'alice', 'secret');
  expect(contents.get('INBOX')).toEqual(reference.get('INBOX'));
  expect(contents.get('Sent')).toEqual(reference.get('Sent'));
  for (const ids of contents.values()) expect(duplicates(ids)).toEqual([]);
  // The two stored-but-unanswered APPENDs were found by looking, not sent again.
  expect(result.recovered).toBeGreaterThanOrEqual(2);
  // (What the throttling answers did is the next test's: here a throttled APPEND may go down with its
  // connection, cut for another message, before its answer is waited out.)
  expect(events.some((event) => event.type === 'backoff' && event.state === 'reconnecting')).toBe(true);
  // A loss of connection (cut, lost answer, BYE, stall, not connected) meant a new connection. With
  // APPENDs pipelined, faults on the same connection in the same batch go down together: at least one
  // loss per batch of four here.
  expect(proxy.connections).toBeGreaterThanOrEqual(2 + 3);
});

test('throttling answers are waited out, the connections cut to one, and the messages sent once', async () => {
  proxy.faults = new Map([
    [2, 'throttle'],
    [6, 'throttle'],
  ]);
  const events: MigrateEvent[] = [];
  const result = await migrate(
    migrateOptions({ pstPath: SAMPLE, target: imapTarget(proxy.port, 'dave', password), batchSize: 4, connections: 2 }),
    (event) => events.push(event),
  );
  expect(result).toMatchObject({ status: 'finished', sent: 14, failed: 0, remaining: 0 });
  expect(proxy.log.filter(([, fault]) => fault === 'throttle').map(([number]) => number)).toEqual([2, 6]);
  // Both throttled messages were tried again; two answers that come while the run is still slowed down by
  // the first make one change of state.
  const throttledRetries = events.filter((event) => event.type === 'retry' && /Request is throttled/.test(event.reason));
  expect(throttledRetries).toHaveLength(2);
  const throttled = events.filter((event): event is Extract<MigrateEvent, { type: 'backoff' }> => event.type === 'backoff' && event.state === 'throttled');
  expect(throttled.length).toBeGreaterThanOrEqual(1);
  expect(throttled[0]!.reason).toMatch(/Request is throttled\. Suggested Backoff Time: 150 milliseconds/);
  expect(throttled[0]!.connections).toBe(1);
  const contents = await serverContents(server.port, 'dave', 'secret');
  expect(contents.get('INBOX')).toEqual(reference.get('INBOX'));
  expect(contents.get('Sent')).toEqual(reference.get('Sent'));
});

test('a message the server refuses is recorded failed with its words; the job goes on; the next run sends it', async () => {
  const refusedId = reference.get('Sent')![2]!;
  proxy.refuseWhen = (message) => message.toString('latin1').includes(`<${refusedId}>`);
  const options = migrateOptions({ pstPath: SAMPLE, target: imapTarget(proxy.port, 'bob', password), maxAttempts: 3, reportDir: undefined });
  const failures: MigrateEvent[] = [];
  const result = await migrate(options, (event) => event.type === 'failed' && failures.push(event));
  expect(result).toMatchObject({ status: 'finished', sent: 13, failed: 1 });
  expect(result.totals).toMatchObject({ done: 13, failed: 1 });
  // Tried the allowed number of times, then given up.
  expect(proxy.log.filter(([, fault]) => fault === 'refuse')).toHaveLength(3);
  expect(failures).toHaveLength(1);
  const failed = failures[0] as Extract<MigrateEvent, { type: 'failed' }>;
  expect(failed.reason).toBe('NO Message refused by the test');
  expect(failed.item.folder).toEqual(['Sent Items']);

  const journal = openJournal(options.statePath);
  const job = journal.lastJob()!;
  const item = [...job.items({ state: 'failed' })];
  expect(item).toHaveLength(1);
  expect(item[0]!.lastError).toBe('NO Message refused by the test');
  journal.close();

  // The report names it: folder, subject, date, the server's words.
  const { readFileSync } = await import('node:fs');
  const report = JSON.parse(readFileSync(result.reportFiles.find((file) => file.endsWith('.json'))!, 'utf8')) as {
    schema: string;
    items: Array<{ state: string; folder: string[]; subject: string; date: string | null; reason: string }>;
  };
  expect(report.schema).toBe('pst2imap.report/1');
  expect(report.items).toEqual([
    expect.objectContaining({ state: 'failed', folder: ['Sent Items'], reason: 'NO Message refused by the test', subject: failed.item.subject, date: failed.item.date }),
  ]);
  expect(failed.item.subject).not.toBe('');
  expect(failed.item.date).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
  expect(readFileSync(result.reportFiles.find((file) => file.endsWith('.txt'))!, 'utf8')).toContain(failed.item.subject);

  let contents = await serverContents(server.port, 'bob', 'secret');
  expect(contents.get('Sent')).toEqual(reference.get('Sent')!.filter((id) => id !== refusedId));

  // The server takes it now: the next run sends that one only.
  proxy.refuseWhen = null;
  const again = await migrate(options);
  expect(again).toMatchObject({ status: 'finished', sent: 1, failed: 0 });
  contents = await serverContents(server.port, 'bob', 'secret');
  expect(contents.get('Sent')).toEqual(reference.get('Sent'));
  expect(contents.get('INBOX')).toEqual(reference.get('INBOX'));
});

test('a look-up the server refuses is no answer: the message whose answer was lost is not sent again', async () => {
  // The first APPEND is stored but its answer lost; the look-ups that follow are refused twice.
  proxy.faults = new Map([[1, 'lose-answer']]);
  let searches = 0;
  proxy.refuseCommand = (line) => / SEARCH /i.test(line) && ++searches <= 2;
  const events: MigrateEvent[] = [];
  const result = await migrate(
    migrateOptions({ pstPath: SAMPLE, target: imapTarget(proxy.port, 'carol', password), batchSize: 1, connections: 1 }),
    (event) => events.push(event),
  );
  expect(result).toMatchObject({ status: 'finished', failed: 0, remaining: 0 });
  // The message behind the lost answer, and any pipelined after it that the server stored before the
  // cut (their answers went with the connection), are found on the server, not sent again.
  expect(result.recovered).toBeGreaterThanOrEqual(1);
  expect(searches).toBeGreaterThanOrEqual(3);
  expect(events.filter((event) => event.type === 'retry' && /SEARCH in INBOX was refused/.test(event.reason))).toHaveLength(2);
  const contents = await serverContents(server.port, 'carol', 'secret');
  expect(contents.get('INBOX')).toEqual(reference.get('INBOX'));
  expect(contents.get('Sent')).toEqual(reference.get('Sent'));
  for (const ids of contents.values()) expect(duplicates(ids)).toEqual([]);
});

test('APPENDs in groups (MULTIAPPEND): a group whose answer is lost, a group cut, a throttled APPEND; all arrive once', async () => {
  const groups = await startFaultProxy(server.port, { multiappend: true });
  groups.faults = new Map([
    [1, 'lose-answer'],
    [2, 'cut'],
    [3, 'throttle'],
  ]);
  try {
    const result = await migrate(
      migrateOptions({ pstPath: SAMPLE, target: imapTarget(groups.port, 'erin', password, { commandTimeoutMs: 1500 }), batchSize: 14, connections: 1 }),
    );
    expect(result).toMatchObject({ status: 'finished', failed: 0, remaining: 0 });
    expect(result.totals).toMatchObject({ done: 14, pending: 0, in_flight: 0, failed: 0 });
    // The faults hit groups: APPENDs of more than one message.
    const faulted = groups.log.filter(([, fault]) => fault !== 'pass').map(([number]) => number);
    // One batch of all fourteen: INBOX's eight in one APPEND (its answer lost after the server stored
    // them), Sent's six in the next (cut); what is sent again afterwards goes as it comes, here one by one.
    expect(faulted).toEqual([1, 2, 3]);
    expect(groups.appendSizes.slice(0, 2)).toEqual([8, 6]);
    // The group stored before its answer was lost was found on the server, message by message.
    expect(result.recovered).toBeGreaterThanOrEqual(8);
    const contents = await serverContents(server.port, 'erin', 'secret');
    expect(contents.get('INBOX')).toEqual(reference.get('INBOX'));
    expect(contents.get('Sent')).toEqual(reference.get('Sent'));
    for (const ids of contents.values()) expect(duplicates(ids)).toEqual([]);
  } finally {
    await groups.close();
  }
});
