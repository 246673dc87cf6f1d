/**
 * The command time-out counts from the last progress on the connection, and grows with the bytes out
 * (at the rate of a slow line): an APPEND that takes longer than the time-out to go out over a slow line
 * is stored, and a server that stops reading is still given up.
 * Between the IMAP target and a real Dovecot, through a loopback relay that slows or stops the line.
 */
import { createHash } from 'node:crypto';
import { TargetFailure } from '../../src/target/target.js';
import { imapTarget, storedMessages } from '../support/migration.js';
import { startRelay } from '../support/relay.js';
import { startDovecot, type DovecotServer } from '../support/dovecot.js';

const PASSWORD = 'slow-line';
const TIMEOUT_MS = 1500;
let server: DovecotServer;

beforeAll(async () => {
  server = await startDovecot({ users: { dana: PASSWORD, eli: PASSWORD } });
});
afterAll(() => server.stop());

function message(id: string, kilobytes: number): Buffer {
  const line = `${'z'.repeat(76)}\r\n`;
  return Buffer.from(`Subject: ${id}\r\nMessage-ID: <${id}@example.com>\r\n\r\n${line.repeat(Math.ceil((kilobytes * 1024) / line.length))}`);
}

test('an APPEND that takes longer than the time-out to go out over a slow line is stored, byte for byte', async () => {
  // 600 KB at 150 KB/s: some 4 s on the line, against a time-out of 1.5 s.
  const relay = await startRelay(server.port, { toServerBytesPerSecond: 150 * 1024 });
  const bytes = message('slow', 600);
  const session = await imapTarget(relay.port, 'dana', async () => ({ password: PASSWORD }), { commandTimeoutMs: TIMEOUT_MS }).open();
  const started = Date.now();
  try {
    const stored = await session.append({ mailbox: 'INBOX', bytes, flags: [], internalDate: new Date('2021-05-06T07:08:09Z') });
    expect(Date.now() - started).toBeGreaterThan(2 * TIMEOUT_MS);
    expect(stored.uid).not.toBeNull();
  } finally {
    await session.close();
    await relay.close();
  }
  const onServer = [...(await storedMessages(server.port, 'dana', PASSWORD, 'INBOX')).values()];
  expect(onServer.map((stored) => stored.sha)).toEqual([createHash('sha256').update(bytes).digest('hex')]);
});

test('a server that stops reading in the middle of an APPEND is given up after the time-out', async () => {
  const relay = await startRelay(server.port, { stopReading: (chunk) => / APPEND /.test(chunk.toString('latin1')) });
  const session = await imapTarget(relay.port, 'eli', async () => ({ password: PASSWORD }), { commandTimeoutMs: TIMEOUT_MS }).open();
  const started = Date.now();
  try {
    // 32 KB: the time-out grows by what a slow line (256 kbit/s) takes for the bytes out, here 1 s.
    const failure = await session.append({ mailbox: 'INBOX', bytes: message('stopped', 32), flags: [], internalDate: null }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(TargetFailure);
    expect((failure as TargetFailure).code).toBe('ETIMEOUT');
    expect(Date.now() - started).toBeGreaterThanOrEqual(TIMEOUT_MS + 1000);
    expect(Date.now() - started).toBeLessThan(TIMEOUT_MS + 1000 + 3000);
  } finally {
    await session.close();
    await relay.close();
  }
});
