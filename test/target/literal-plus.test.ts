/**
 * The APPEND of a message over 4 KB costs one round trip, not two, where the server offers LITERAL+
 * (RFC 7888): imapflow as published sends such a literal only after the server's "+" continuation; the
 * install-time patch (patches/imapflow+2.10.2.patch) lets it use non-synchronizing literals of any size.
 * Seen on the wire, between the IMAP target and a real Dovecot, through a recording loopback relay.
 */
import { imapTarget } from '../support/migration.js';
import { startRelay } from '../support/relay.js';
import { startDovecot, type DovecotServer } from '../support/dovecot.js';

const PASSWORD = 'literal-plus';
let server: DovecotServer;

beforeAll(async () => {
  server = await startDovecot({ users: { alice: PASSWORD } });
});
afterAll(() => server.stop());

test('a 20 KB message goes out with its APPEND at once, without waiting for a continuation', async () => {
  const relay = await startRelay(server.port);
  const body = 'x'.repeat(76).concat('\r\n').repeat(256);
  const message = Buffer.from(`From: a@example.com\r\nTo: alice@example.com\r\nSubject: big\r\nMessage-ID: <big@example.com>\r\n\r\n${body}`);
  expect(message.length).toBeGreaterThan(4096 * 4);

  const session = await imapTarget(relay.port, 'alice', async () => ({ password: PASSWORD })).open();
  try {
    expect((await session.facts()).capabilities).toContain('LITERAL+');
    const stored = await session.append({ mailbox: 'INBOX', bytes: message, flags: ['\\Seen'], internalDate: new Date('2020-01-02T03:04:05Z') });
    expect(stored.uid).not.toBeNull();
  } finally {
    await session.close();
    await relay.close();
  }

  const text = (parts: typeof relay.traffic) => Buffer.concat(parts.map((part) => part.data)).toString('latin1');
  const sent = text(relay.traffic.filter((part) => part.toServer));
  const appendLine = sent.split('\r\n').find((line) => / APPEND /i.test(line));
  expect(appendLine).toMatch(new RegExp(`\\{${message.length}\\+\\}$`));
  // From the APPEND on, the server was never asked to say "go ahead" (a "+" continuation).
  const appendAt = relay.traffic.findIndex((part) => part.toServer && / APPEND /i.test(part.data.toString('latin1')));
  const answered = text(relay.traffic.slice(appendAt).filter((part) => !part.toServer));
  expect(answered).toMatch(/ OK \[APPENDUID /);
  expect(answered.split('\r\n').filter((line) => line.startsWith('+'))).toEqual([]);
  // And what it stored is the message, byte for byte.
  expect(sent).toContain(message.toString('latin1'));
});
