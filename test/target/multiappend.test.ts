/**
 * APPENDs in groups (MULTIAPPEND, RFC 3502), where the server offers it (Dovecot does; Outlook.com does
 * not): messages for one mailbox handed to a session together go out as one APPEND, which stores all of
 * them or none. Each message still gets its own answer: its UID from the APPENDUID set, or the
 * failure of its group. A refused group is sent again message by message, so that a refusal is put down
 * to the message it concerns. Against a real Dovecot, seen on the wire through a recording relay and a
 * fault proxy.
 */
import { createHash } from 'node:crypto';
import type { ImapFlag } from '../../src/mime/types.js';
import { TargetFailure, type StoredAt } from '../../src/target/target.js';
import { startDovecot, type DovecotServer } from '../support/dovecot.js';
import { startFaultProxy } from '../support/fault-proxy.js';
import { imapTarget, storedMessages } from '../support/migration.js';
import { startRelay } from '../support/relay.js';

const PASSWORD = 'multiappend';
const password = async () => ({ password: PASSWORD });
let server: DovecotServer;

beforeAll(async () => {
  server = await startDovecot({ users: { alice: PASSWORD, bob: PASSWORD, carol: PASSWORD, dave: PASSWORD } });
});
afterAll(() => server.stop());

function message(n: number, size = 3000): Buffer {
  const head = `From: a@example.com\r\nTo: alice@example.com\r\nSubject: group ${n}\r\nMessage-ID: <group-${n}@example.com>\r\n\r\n`;
  const line = `${String(n).padStart(4, '0')} ${'y'.repeat(70)}\r\n`;
  return Buffer.from(head + line.repeat(Math.ceil(size / line.length)));
}

const FLAG_CHOICES: ImapFlag[][] = [[], ['\\Seen'], ['\\Seen', '\\Answered'], ['\\Flagged'], ['\\Seen', '\\Draft']];

function request(n: number, mailbox = 'INBOX') {
  return { mailbox, bytes: message(n), flags: FLAG_CHOICES[n % FLAG_CHOICES.length]!, internalDate: new Date(Date.UTC(2015, n % 12, 1 + (n % 27), 8, n % 60)) };
}

const held = (user: string, mailbox: string) => storedMessages(server.port, user, PASSWORD, mailbox);

/** Per APPEND command the client sent, how many messages it carried (literals up to the command's end). */
function messagesPerAppend(traffic: Array<{ toServer: boolean; data: Buffer }>): number[] {
  const sent = Buffer.concat(traffic.filter((part) => part.toServer).map((part) => part.data));
  const counts: number[] = [];
  let at = 0;
  let inAppend = false;
  while (at < sent.length) {
    const end = sent.indexOf('\r\n', at);
    if (end === -1) break;
    const line = sent.subarray(at, end).toString('latin1');
    at = end + 2;
    if (!inAppend && /^\S+ APPEND /i.test(line)) {
      inAppend = true;
      counts.push(0);
    }
    const literal = /\{(\d+)\+?\}$/.exec(line);
    if (inAppend && literal) {
      counts[counts.length - 1]! += 1;
      at += Number(literal[1]);
    } else {
      inAppend = false;
    }
  }
  return counts;
}

test('messages handed over together go out together; each UID holds its own message, flags and date', async () => {
  const relay = await startRelay(server.port);
  const session = await imapTarget(relay.port, 'alice', password, { pipelineDepth: 128 }).open();
  const requests = Array.from({ length: 70 }, (_, n) => request(n));
  let stored: StoredAt[];
  try {
    stored = await Promise.all(requests.map((one) => session.append(one)));
  } finally {
    await session.close();
    await relay.close();
  }
  // On the wire: every message once, in fewer APPENDs than messages, none over 32 messages.
  const perAppend = messagesPerAppend(relay.traffic);
  expect(perAppend.reduce((sum, count) => sum + count, 0)).toBe(70);
  expect(perAppend.length).toBeLessThan(10);
  expect(Math.max(...perAppend)).toBe(32);
  // Each message got its own UID, and under it the server holds that very message, its flags and date.
  expect(new Set(stored.map((at) => at.uid)).size).toBe(70);
  const onServer = await held('alice', 'INBOX');
  expect(onServer.size).toBe(70);
  requests.forEach((one, n) => {
    const there = onServer.get(stored[n]!.uid!);
    expect(there).toEqual({ sha: createHash('sha256').update(one.bytes).digest('hex'), size: one.bytes.length, flags: [...one.flags].sort(), date: one.internalDate.getTime() });
  });
});

test('a group is for one mailbox: messages for another go in a group of their own', async () => {
  const relay = await startRelay(server.port);
  const session = await imapTarget(relay.port, 'bob', password, { pipelineDepth: 128 }).open();
  const requests = Array.from({ length: 30 }, (_, n) => request(100 + n, n < 15 ? 'Archive' : 'Sent'));
  let stored: StoredAt[];
  try {
    await session.ensureMailbox('Archive');
    stored = await Promise.all(requests.map((one) => session.append(one)));
  } finally {
    await session.close();
    await relay.close();
  }
  const perAppend = messagesPerAppend(relay.traffic);
  expect(perAppend.some((count) => count > 1)).toBe(true);
  for (const mailbox of ['Archive', 'Sent']) {
    const onServer = await held('bob', mailbox);
    expect(onServer.size).toBe(15);
    requests.forEach((one, n) => {
      if (one.mailbox === mailbox) expect(onServer.get(stored[n]!.uid!)?.sha).toBe(createHash('sha256').update(one.bytes).digest('hex'));
    });
  }
});

test('a refused group is sent again message by message: the refused one fails alone, the others are stored', async () => {
  const proxy = await startFaultProxy(server.port, { multiappend: true });
  proxy.refuseWhen = (bytes) => bytes.toString('latin1').includes('<group-207@example.com>');
  try {
    const session = await imapTarget(proxy.port, 'carol', password, { pipelineDepth: 128 }).open();
    const requests = Array.from({ length: 20 }, (_, n) => request(200 + n));
    const outcomes = await Promise.allSettled(requests.map((one) => session.append(one)));
    await session.close();
    // The message was refused in its group (of more than one), then alone.
    const refusals = proxy.log.filter(([, fault]) => fault === 'refuse').map(([number]) => proxy.appendSizes[number - 1]);
    expect(refusals).toHaveLength(2);
    expect(refusals[0]).toBeGreaterThan(1);
    expect(refusals[1]).toBe(1);
    outcomes.forEach((outcome, n) => {
      if (n === 7) {
        expect(outcome.status).toBe('rejected');
        const reason = (outcome as PromiseRejectedResult).reason as TargetFailure;
        expect(reason).toBeInstanceOf(TargetFailure);
        expect(reason.kind).toBe('refused');
        expect(reason.serverWords).toBe('NO Message refused by the test');
      } else {
        expect(outcome.status).toBe('fulfilled');
      }
    });
    const onServer = await held('carol', 'INBOX');
    expect(onServer.size).toBe(19);
    const shas = new Set([...onServer.values()].map((there) => there.sha));
    requests.forEach((one, n) => expect(shas.has(createHash('sha256').update(one.bytes).digest('hex'))).toBe(n !== 7));
  } finally {
    await proxy.close();
  }
});

test('a connection cut in the middle of a group fails each of its messages, none blamed, and stores none of them', async () => {
  const proxy = await startFaultProxy(server.port, { multiappend: true });
  // The twelve messages are handed over together: one APPEND, cut half way through its first message.
  proxy.faults = new Map([[1, 'cut']]);
  try {
    const session = await imapTarget(proxy.port, 'dave', password, { pipelineDepth: 128 }).open();
    const requests = Array.from({ length: 12 }, (_, n) => request(300 + n, 'INBOX'));
    const outcomes = await Promise.allSettled(requests.map((one) => session.append(one)));
    await session.close();
    expect(proxy.appendSizes[0]).toBe(12);
    for (const outcome of outcomes) {
      expect(outcome.status).toBe('rejected');
      const reason = (outcome as PromiseRejectedResult).reason as TargetFailure;
      expect(reason.kind).toBe('connection');
      expect(reason.collateral).toBe(true);
    }
    // The server stores a group whole or not at all: none of the twelve.
    const onServer = await held('dave', 'INBOX');
    const shas = new Set([...onServer.values()].map((there) => there.sha));
    for (const one of requests) expect(shas.has(createHash('sha256').update(one.bytes).digest('hex'))).toBe(false);
  } finally {
    await proxy.close();
  }
});

test('a group for a mailbox of Japanese name, with a message holding NUL bytes (literal8), stores each as sent', async () => {
  const relay = await startRelay(server.port);
  const session = await imapTarget(relay.port, 'alice', password, { pipelineDepth: 128 }).open();
  const mailbox = 'PST/受信トレイ';
  const requests = Array.from({ length: 12 }, (_, n) => request(400 + n, mailbox));
  // A body with NUL bytes goes as a literal8 (BINARY, RFC 3516) inside the group.
  requests[5] = { ...requests[5]!, bytes: Buffer.concat([message(405), Buffer.from([0, 1, 0, 13, 10])]) };
  let stored: StoredAt[];
  try {
    await session.ensureMailbox(mailbox);
    stored = await Promise.all(requests.map((one) => session.append(one)));
  } finally {
    await session.close();
    await relay.close();
  }
  expect(Math.max(...messagesPerAppend(relay.traffic))).toBeGreaterThan(1);
  const sent = Buffer.concat(relay.traffic.filter((part) => part.toServer).map((part) => part.data)).toString('latin1');
  expect(sent).toMatch(/~\{\d+\+?\}\r\n/);
  const onServer = await held('alice', mailbox);
  expect(onServer.size).toBe(12);
  requests.forEach((one, n) => {
    // Dovecot shows NUL bytes as 0x80 in FETCH BODY[].
    const asFetched = n === 5 ? Buffer.from(one.bytes.map((byte) => (byte === 0 ? 0x80 : byte))) : one.bytes;
    expect(onServer.get(stored[n]!.uid!)?.sha).toBe(createHash('sha256').update(asFetched).digest('hex'));
  });
});
