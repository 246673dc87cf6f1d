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

test('a large message goes to the socket as the very buffer it was given, not copied into the command', async () => {
  const { ImapFlow } = await import('imapflow');
  const client = new ImapFlow({ host: '127.0.0.1', port: server.port, secure: false, auth: { user: 'alice', pass: PASSWORD }, logger: false });
  await client.connect();
  const line = `${'y'.repeat(998)}\r\n`;
  const message = Buffer.from(`Subject: very big\r\nMessage-ID: <very-big@example.com>\r\n\r\n${line.repeat(1024)}`);
  const written: Buffer[] = [];
  // The socket imapflow writes to, watched: every write still goes through.
  const socket = (client as unknown as { writeSocket: { write: (data: Buffer) => boolean } }).writeSocket;
  const write = socket.write.bind(socket);
  socket.write = (data: Buffer) => {
    written.push(data);
    return write(data);
  };
  let uid: number | undefined;
  try {
    uid = ((await client.append('INBOX', message, [])) as { uid?: number }).uid;
  } finally {
    socket.write = write;
  }
  try {
    // The message itself was written, not a copy of it joined with the command line; before and after
    // it, the command line ("{size+}") and the closing CRLF.
    const at = written.indexOf(message);
    expect(at).toBeGreaterThan(0);
    expect(written[at - 1]!.toString('latin1')).toMatch(new RegExp(`APPEND INBOX .*\\{${message.length}\\+\\}\\r\\n$`));
    expect(written[at + 1]!.toString('latin1')).toBe('\r\n');
    // And the server holds it byte for byte.
    const lock = await client.getMailboxLock('INBOX', { readOnly: true });
    try {
      const fetched = await client.fetchOne(String(uid), { uid: true, source: true }, { uid: true });
      expect(fetched && fetched.source?.equals(message)).toBe(true);
    } finally {
      lock.release();
    }
  } finally {
    await client.logout();
  }
});
