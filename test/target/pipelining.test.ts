/**
 * Pipelined APPENDs: where the server offers LITERAL+, an IMAP session sends the next APPEND without
 * waiting for the answer to the one before (the install-time patch of imapflow, client option
 * `pipelining`), matches each answer to its message by tag, and keeps the commands that select a
 * mailbox (the look-ups) apart from each other. With UIDPLUS, the mailbox the APPENDs go to is selected
 * first (servers store into it without opening it for each message). Seen on the wire through a
 * recording relay, against a real Dovecot; a fault proxy cuts a connection with several APPENDs in flight.
 * Where the relay takes MULTIAPPEND out of Dovecot's capabilities, each message has an APPEND of its own
 * (as with Outlook.com); multiappend.test.ts has the groups.
 */
import { createHash } from 'node:crypto';
import { ImapFlow } from 'imapflow';
import { startDovecot, type DovecotServer } from '../support/dovecot.js';
import { startFaultProxy } from '../support/fault-proxy.js';
import { imapTarget, storedMessages } from '../support/migration.js';
import { startRelay, withoutMultiappend, type Relay } from '../support/relay.js';
import { TargetFailure, type StoredAt } from '../../src/target/target.js';

const PASSWORD = 'pipelining';
const password = async () => ({ password: PASSWORD });
let server: DovecotServer;

beforeAll(async () => {
  server = await startDovecot({ users: { alice: PASSWORD, bob: PASSWORD, carol: PASSWORD, dave: PASSWORD, erin: PASSWORD } });
});
afterAll(() => server.stop());

function message(n: number, size = 6000): Buffer {
  const head = `From: a@example.com\r\nTo: alice@example.com\r\nSubject: message ${n}\r\nMessage-ID: <pipe-${n}@example.com>\r\n\r\n`;
  const line = `${String(n).padStart(4, '0')} ${'x'.repeat(70)}\r\n`;
  return Buffer.from(head + line.repeat(Math.ceil(size / line.length)));
}

/** Client lines of the traffic, with for each the number of tagged APPEND answers seen before it. */
function appendsBeforeAnswers(relay: Relay): number[] {
  let answered = 0;
  const sentBeforeAnswer: number[] = [];
  let sent = 0;
  for (const part of relay.traffic) {
    const text = part.data.toString('latin1');
    if (part.toServer) {
      for (const line of text.split('\r\n')) if (/^\S+ APPEND /i.test(line)) sent += 1;
    } else {
      for (const line of text.split('\r\n')) {
        if (/^\S+ OK \[APPENDUID /.test(line)) {
          answered += 1;
          sentBeforeAnswer.push(sent);
        }
      }
    }
  }
  expect(answered).toBeGreaterThan(0);
  return sentBeforeAnswer;
}

/** UID -> SHA-256 of the message the server holds under it. */
async function storedBytes(user: string, mailbox: string): Promise<Map<number, string>> {
  return new Map([...(await storedMessages(server.port, user, PASSWORD, mailbox))].map(([uid, message]) => [uid, message.sha]));
}

test('twenty APPENDs on one connection go out before their answers; each answer finds its message', async () => {
  // One message per APPEND, as to Outlook.com, which has no MULTIAPPEND (multiappend.test.ts has groups).
  const relay = await startRelay(server.port, { fromServer: withoutMultiappend });
  const session = await imapTarget(relay.port, 'alice', password, { pipelineDepth: 32 }).open();
  const messages = Array.from({ length: 20 }, (_, n) => message(n));
  let stored: StoredAt[];
  try {
    expect(session.depth).toBe(32);
    stored = await Promise.all(messages.map((bytes) => session.append({ mailbox: 'INBOX', bytes, flags: ['\\Seen'], internalDate: null })));
  } finally {
    await session.close();
    await relay.close();
  }
  // On the wire: more than one APPEND was out before the first answer came (here, most of them).
  const before = appendsBeforeAnswers(relay);
  expect(before[0]).toBeGreaterThan(1);
  expect(Math.max(...before)).toBe(20);
  // Each message got its own UID, and under its UID the server holds that very message.
  const uids = stored.map((at) => at.uid);
  expect(new Set(uids).size).toBe(20);
  const onServer = await storedBytes('alice', 'INBOX');
  expect(onServer.size).toBe(20);
  stored.forEach((at, n) => expect(onServer.get(at.uid!)).toBe(createHash('sha256').update(messages[n]!).digest('hex')));
});

test('with a depth of 1, each APPEND waits for the answer to the one before', async () => {
  const relay = await startRelay(server.port);
  const session = await imapTarget(relay.port, 'bob', password, { pipelineDepth: 1 }).open();
  try {
    expect(session.depth).toBe(1);
    await Promise.all(Array.from({ length: 5 }, (_, n) => session.append({ mailbox: 'INBOX', bytes: message(n), flags: [], internalDate: null })));
  } finally {
    await session.close();
    await relay.close();
  }
  expect(appendsBeforeAnswers(relay)).toEqual([1, 2, 3, 4, 5]);
});

test('look-ups among pipelined APPENDs on the same connection each find what they look for', async () => {
  const session = await imapTarget(server.port, 'carol', password).open();
  try {
    await session.ensureMailbox('Archive/2019');
    const first = await Promise.all([0, 1, 2].map((n) => session.append({ mailbox: 'Archive/2019', bytes: message(n), flags: [], internalDate: null })));
    // Appends to two mailboxes and look-ups in both, all at once: a SELECT between another look-up's
    // SELECT and its SEARCH would make that search run in the wrong mailbox, or in none.
    const work: Array<Promise<unknown>> = [];
    for (let n = 3; n < 15; n++) {
      work.push(session.append({ mailbox: n % 2 ? 'INBOX' : 'Archive/2019', bytes: message(n), flags: [], internalDate: null }));
      if (n % 3 === 0) work.push(session.lookUp('Archive/2019', `<pipe-${n % 3}@example.com>`));
      if (n % 3 === 1) work.push(session.lookUp('INBOX', '<pipe-1@example.com>'));
    }
    const results = await Promise.all(work);
    const lookUps = results.filter((result): result is StoredAt[] => Array.isArray(result));
    expect(lookUps).toHaveLength(8);
    for (const found of lookUps) {
      // <pipe-0@...> is in Archive/2019 (first[0]); INBOX never gets <pipe-1@...> (odd n above 2 only).
      expect(found.length === 0 || (found.length === 1 && found[0]!.uid === first[0]!.uid)).toBe(true);
    }
    expect(lookUps.filter((found) => found.length === 1)).toHaveLength(4);
    expect(await session.messageIds('Archive/2019')).toEqual(
      new Map([0, 1, 2, 4, 6, 8, 10, 12, 14].map((n) => [`pipe-${n}@example.com`, 1])),
    );
  } finally {
    await session.close();
  }
});

test('a connection cut with APPENDs in flight fails them all, none blamed; an APPEND alone in flight is', async () => {
  const proxy = await startFaultProxy(server.port);
  proxy.faults = new Map([[3, 'cut']]);
  try {
    const session = await imapTarget(proxy.port, 'dave', password, { pipelineDepth: 32 }).open();
    const outcomes = await Promise.allSettled(
      Array.from({ length: 8 }, (_, n) => session.append({ mailbox: 'INBOX', bytes: message(n, 30_000), flags: [], internalDate: null })),
    );
    await session.close();
    const failed = outcomes.flatMap((outcome, n) => (outcome.status === 'rejected' ? [{ n, reason: outcome.reason as unknown }] : []));
    // The cut one (the third) and every one after it failed with the connection; those before may have
    // been answered before the cut.
    expect(failed.map(({ n }) => n)).toEqual(expect.arrayContaining([2, 3, 4, 5, 6, 7]));
    for (const { reason } of failed) {
      expect(reason).toBeInstanceOf(TargetFailure);
      expect((reason as TargetFailure).kind).toBe('connection');
      // Which of them the server choked on, if any, cannot be told: none counts it as its own.
      expect((reason as TargetFailure).collateral).toBe(true);
    }

    // Alone in flight, the lost one is blamed.
    proxy.faults.set(proxy.appends + 1, 'cut');
    const alone = await imapTarget(proxy.port, 'dave', password, { pipelineDepth: 32 }).open();
    const error = await alone.append({ mailbox: 'INBOX', bytes: message(8, 30_000), flags: [], internalDate: null }).catch((caught: unknown) => caught);
    await alone.close();
    expect(error).toBeInstanceOf(TargetFailure);
    expect((error as TargetFailure).kind).toBe('connection');
    expect((error as TargetFailure).collateral).toBe(false);
    expect(proxy.log.filter(([, fault]) => fault === 'cut')).toHaveLength(2);
  } finally {
    await proxy.close();
  }
});

test('mailboxes are created at once, parents and children too, a shared parent once, each subscribed', async () => {
  // Answers reach the client 150 ms late (a far server): what it sends before seeing an answer is
  // recorded before it, even on a busy machine.
  const relay = await startRelay(server.port, { answerDelayMs: 150 });
  const session = await imapTarget(relay.port, 'erin', password, { pipelineDepth: 32 }).open();
  const wanted = ['PST/Inbox', 'PST/Sent Items', 'PST/Archive/2019', 'PST/Archive/2020', 'PST/受信トレイ'];
  try {
    await Promise.all(wanted.map((mailbox) => session.ensureMailbox(mailbox)));
  } finally {
    await session.close();
    await relay.close();
  }
  const sent = Buffer.concat(relay.traffic.filter((part) => part.toServer).map((part) => part.data)).toString('latin1');
  const creates = sent.split('\r\n').filter((line) => /^\S+ CREATE /.test(line));
  // PST and PST/Archive once each, then the five.
  expect(creates).toHaveLength(7);
  // What the server says of itself is asked once, for all five callers.
  expect(sent.split('\r\n').filter((line) => /^\S+ LIST /.test(line))).toHaveLength(1);
  // The siblings went out together: at some moment several CREATEs waited for their answers.
  const createTags = new Set(creates.map((line) => line.split(' ')[0]!));
  let outstanding = 0;
  let most = 0;
  for (const part of relay.traffic) {
    for (const line of part.data.toString('latin1').split('\r\n')) {
      const tag = line.split(' ')[0]!;
      if (!createTags.has(tag)) continue;
      outstanding += part.toServer ? 1 : -1;
      most = Math.max(most, outstanding);
    }
  }
  expect(most).toBeGreaterThan(1);
  // A child's CREATE goes out before its parent's is answered (the server takes them in order).
  const tagOf = (path: string) => creates.find((line) => line.endsWith(` CREATE ${path}`))!.split(' ')[0]!;
  const lineAt = (toServer: boolean, line: RegExp) =>
    relay.traffic.findIndex((part) => part.toServer === toServer && part.data.toString('latin1').split('\r\n').some((text) => line.test(text)));
  const sentAt = (tag: string) => lineAt(true, new RegExp(`^${tag} CREATE `));
  const answeredAt = (tag: string) => lineAt(false, new RegExp(`^${tag} OK`));
  expect(sentAt(tagOf('PST/Archive/2019'))).toBeLessThan(answeredAt(tagOf('PST/Archive')));
  expect(sentAt(tagOf('PST/Archive'))).toBeLessThan(answeredAt(tagOf('PST')));

  const client = new ImapFlow({ host: '127.0.0.1', port: server.port, secure: false, auth: { user: 'erin', pass: PASSWORD }, logger: false });
  await client.connect();
  try {
    const paths = new Set((await client.list()).filter((box) => box.subscribed).map((box) => box.path));
    for (const mailbox of [...wanted, 'PST', 'PST/Archive']) expect(paths).toContain(mailbox);
  } finally {
    await client.logout();
  }
});

/** The commands the client sent, one line each (a literal's bytes are not lines of their own here). */
function commandsSent(relay: Relay, pattern: RegExp): string[] {
  const sent = Buffer.concat(relay.traffic.filter((part) => part.toServer).map((part) => part.data)).toString('latin1');
  return sent.split('\r\n').filter((line) => pattern.test(line));
}

test('APPENDs go to the mailbox selected on their connection, still pipelined; a switch selects again', async () => {
  const relay = await startRelay(server.port, { fromServer: withoutMultiappend });
  const session = await imapTarget(relay.port, 'alice', password, { pipelineDepth: 32 }).open();
  const batches = { 'Sel/A': [20, 21, 22, 23, 24, 25, 26, 27, 28, 29], 'Sel/B': [30, 31, 32], 'Sel/C': [33, 34] };
  const stored = new Map<number, StoredAt>();
  try {
    for (const mailbox of Object.keys(batches)) await session.ensureMailbox(mailbox);
    // Folder after folder, each folder's messages all at once, as the engine sends them.
    for (const [mailbox, numbers] of Object.entries(batches)) {
      const answers = await Promise.all(numbers.map((n) => session.append({ mailbox, bytes: message(n), flags: ['\\Seen'], internalDate: null })));
      answers.forEach((at, index) => stored.set(numbers[index]!, at));
    }
  } finally {
    await session.close();
    await relay.close();
  }
  // One SELECT per mailbox, read-write, each before that mailbox's APPENDs; no EXAMINE, no CLOSE.
  const lines = commandsSent(relay, /^\S+ (SELECT|EXAMINE|CLOSE|UNSELECT|APPEND) /i).map((line) => line.split(' ').slice(1, 3).join(' '));
  expect(lines.filter((line) => /^(SELECT|EXAMINE|CLOSE|UNSELECT)/.test(line))).toEqual(['SELECT Sel/A', 'SELECT Sel/B', 'SELECT Sel/C']);
  expect(lines.indexOf('SELECT Sel/A')).toBeLessThan(lines.indexOf('APPEND Sel/A'));
  expect(lines.lastIndexOf('APPEND Sel/A')).toBeLessThan(lines.indexOf('SELECT Sel/B'));
  // Still pipelined: most of the first mailbox's ten APPENDs were out before the first answer.
  expect(appendsBeforeAnswers(relay)[0]).toBeGreaterThan(5);
  // Each answer named its own message: under each UID the server holds the message sent.
  for (const [mailbox, numbers] of Object.entries(batches)) {
    const onServer = await storedBytes('alice', mailbox);
    expect(onServer.size).toBe(numbers.length);
    for (const n of numbers) expect(onServer.get(stored.get(n)!.uid!)).toBe(createHash('sha256').update(message(n)).digest('hex'));
  }
});

test('\\Flagged set after APPEND (Outlook.com) goes to the selected mailbox without selecting it again', async () => {
  const relay = await startRelay(server.port);
  const target = imapTarget(relay.port, 'bob', password, { pipelineDepth: 8, storeFlaggedAfterAppend: true });
  const session = await target.open();
  let stored: StoredAt[];
  try {
    await session.ensureMailbox('Flags');
    stored = await Promise.all([40, 41, 42].map((n) => session.append({ mailbox: 'Flags', bytes: message(n), flags: ['\\Flagged'], internalDate: null })));
  } finally {
    await session.close();
    await relay.close();
  }
  expect(commandsSent(relay, /^\S+ (SELECT|EXAMINE|CLOSE|UNSELECT) /i)).toHaveLength(1);
  expect(commandsSent(relay, /^\S+ UID STORE /i)).toHaveLength(3);
  const client = new ImapFlow({ host: '127.0.0.1', port: server.port, secure: false, auth: { user: 'bob', pass: PASSWORD }, logger: false });
  await client.connect();
  try {
    const lock = await client.getMailboxLock('Flags', { readOnly: true });
    try {
      for (const at of stored) {
        const fetched = await client.fetchOne(String(at.uid), { uid: true, flags: true }, { uid: true });
        expect(fetched && fetched.flags?.has('\\Flagged')).toBe(true);
      }
    } finally {
      lock.release();
    }
  } finally {
    await client.logout();
  }
});

test('without UIDPLUS nothing is selected for APPENDs (a UID would have to be guessed from sequence numbers)', async () => {
  // (Nor MULTIAPPEND, so that each message has an APPEND of its own to count.)
  const relay = await startRelay(server.port, { fromServer: (chunk) => withoutMultiappend(Buffer.from(chunk.toString('latin1').replace(/ UIDPLUS\b/g, ''), 'latin1')) });
  const session = await imapTarget(relay.port, 'carol', password, { pipelineDepth: 8 }).open();
  try {
    await session.ensureMailbox('NoUidPlus');
    await Promise.all([50, 51, 52].map((n) => session.append({ mailbox: 'NoUidPlus', bytes: message(n), flags: [], internalDate: null })));
  } finally {
    await session.close();
    await relay.close();
  }
  expect(commandsSent(relay, /^\S+ APPEND /i)).toHaveLength(3);
  expect(commandsSent(relay, /^\S+ (SELECT|EXAMINE) /i)).toEqual([]);
  expect((await storedBytes('carol', 'NoUidPlus')).size).toBe(3);
});

test('a mailbox the server refuses to select is appended to unselected, and not asked for again', async () => {
  const proxy = await startFaultProxy(server.port);
  let selects = 0;
  proxy.refuseCommand = (line) => / SELECT /i.test(line) && ++selects > 0;
  try {
    const session = await imapTarget(proxy.port, 'dave', password, { pipelineDepth: 8 }).open();
    let stored: StoredAt[];
    try {
      await session.ensureMailbox('NoSelect');
      stored = await Promise.all([60, 61, 62, 63].map((n) => session.append({ mailbox: 'NoSelect', bytes: message(n), flags: [], internalDate: null })));
    } finally {
      await session.close();
    }
    expect(selects).toBe(1);
    expect(new Set(stored.map((at) => at.uid)).size).toBe(4);
    expect((await storedBytes('dave', 'NoSelect')).size).toBe(4);
  } finally {
    await proxy.close();
  }
});

test('signing in with a password takes one round trip where the server has SASL-IR, two without', async () => {
  for (const strip of [false, true]) {
    const relay = await startRelay(server.port, strip ? { fromServer: (chunk) => Buffer.from(chunk.toString('latin1').replace(/ SASL-IR\b/g, ''), 'latin1') } : {});
    const session = await imapTarget(relay.port, 'alice', password).open();
    await session.close();
    await relay.close();
    const lines = relay.traffic.map((part) => ({ toServer: part.toServer, text: part.data.toString('latin1') }));
    const authenticate = commandsSent(relay, /^\S+ AUTHENTICATE /i);
    expect(authenticate).toHaveLength(1);
    const continuations = lines.filter((part) => !part.toServer && /^\+/m.test(part.text));
    if (strip) {
      expect(authenticate[0]).toMatch(/^\S+ AUTHENTICATE PLAIN$/);
      expect(continuations).toHaveLength(1);
    } else {
      // The response on the command line: base64 of "\0alice\0<password>".
      expect(authenticate[0]).toBe(`${authenticate[0]!.split(' ')[0]} AUTHENTICATE PLAIN ${Buffer.from(`\0alice\0${PASSWORD}`).toString('base64')}`);
      expect(continuations).toHaveLength(0);
    }
  }
});

test('what the server says of itself, refused once, is asked again by the next caller', async () => {
  const proxy = await startFaultProxy(server.port);
  let lists = 0;
  proxy.refuseCommand = (line) => / LIST /i.test(line) && ++lists === 1;
  try {
    const session = await imapTarget(proxy.port, 'erin', password).open();
    try {
      const first = await Promise.allSettled([session.facts(), session.facts()]);
      expect(first.map((outcome) => outcome.status)).toEqual(['rejected', 'rejected']);
      expect(lists).toBe(1);
      expect((await session.facts()).delimiter).toBe('/');
      expect(lists).toBe(2);
    } finally {
      await session.close();
    }
  } finally {
    await proxy.close();
  }
});
