/**
 * `plan --to` against a real Dovecot set up like Outlook.com: what the probe learns, that it changes
 * nothing, and how it fails.
 */
import { ImapFlow } from 'imapflow';
import { Pst2ImapError } from '../../src/errors.js';
import { parseTargetUrl, probeServer } from '../../src/target/probe.js';
import type { ImapConnectionOptions } from '../../src/target/types.js';
import { runCli } from '../support/cli.js';
import { startDovecot, type DovecotServer } from '../support/dovecot.js';

const PASSWORD = 'correct horse battery staple';
let server: DovecotServer;

function connection(overrides: Partial<ImapConnectionOptions> = {}): ImapConnectionOptions {
  return {
    host: server.host,
    port: server.port,
    secure: false,
    user: 'alice',
    auth: { password: PASSWORD },
    verifyCertificate: true,
    allowPlaintext: false,
    timeoutMs: 5000,
    ...overrides,
  };
}

function message(n: number): string {
  return `From: a@example.com\r\nTo: alice@example.com\r\nSubject: seed ${n}\r\nMessage-ID: <seed-${n}@example.com>\r\n\r\nbody ${n}\r\n`;
}

/** Everything a change would touch: mailboxes, their counts and next UIDs. */
async function snapshot(): Promise<string> {
  const client = new ImapFlow({ host: server.host, port: server.port, secure: false, auth: { user: 'alice', pass: PASSWORD }, logger: false });
  await client.connect();
  const list = await client.list({ statusQuery: { messages: true, uidNext: true, uidValidity: true } });
  await client.logout();
  const rows = list.map((mailbox) => [mailbox.path, mailbox.subscribed, mailbox.status]).sort();
  return JSON.stringify(rows, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value));
}

beforeAll(async () => {
  server = await startDovecot({ users: { alice: PASSWORD } });
  const client = new ImapFlow({ host: server.host, port: server.port, secure: false, auth: { user: 'alice', pass: PASSWORD }, logger: false });
  await client.connect();
  await client.mailboxCreate('Archive/2019');
  await client.mailboxCreate('受信トレイ/仕事');
  for (let n = 1; n <= 3; n++) await client.append('Archive/2019', message(n));
  await client.append('受信トレイ/仕事', message(4));
  await client.append('INBOX', message(5));
  await client.logout();
});
afterAll(() => server.stop());

describe('probeServer', () => {
  it('learns the delimiter, the special-use folders and what each mailbox holds', async () => {
    const facts = await probeServer(connection());
    expect(facts.delimiter).toBe('/');
    expect(facts.specialUse).toEqual({ inbox: 'INBOX', sent: 'Sent', drafts: 'Drafts', junk: 'Junk', trash: 'Deleted', archive: 'Archive' });
    expect(facts.mailboxes).toMatchObject({ INBOX: 1, 'Archive/2019': 3, '受信トレイ/仕事': 1, Sent: 0 });
    expect(facts.capabilities).toEqual(expect.arrayContaining(['IMAP4rev1', 'UIDPLUS', 'SPECIAL-USE']));
    expect(facts.utf8Accept).toBe(false);
  });

  it('changes nothing on the server', async () => {
    const before = await snapshot();
    await probeServer(connection());
    expect(await snapshot()).toBe(before);
  });

  it('signs in with XOAUTH2; a revoked token is a sign-in error', async () => {
    server.tokens.set('good-token', { username: 'alice', active: true });
    server.tokens.set('revoked-token', { username: 'alice', active: false });
    const facts = await probeServer(connection({ auth: { accessToken: 'good-token' } }));
    expect(facts.mailboxes['Archive/2019']).toBe(3);
    const error = await probeServer(connection({ auth: { accessToken: 'revoked-token' } })).catch((caught: unknown) => caught);
    expect((error as Pst2ImapError).code).toBe('E_AUTH');
    expect(JSON.stringify(error) + String((error as Error).message) + (error as Pst2ImapError).detail).not.toContain('revoked-token');
  });

  it('a wrong password is E_AUTH and the password appears nowhere in the error', async () => {
    const secret = 'hunter2-wrong-password';
    const error = (await probeServer(connection({ auth: { password: secret } })).catch((caught: unknown) => caught)) as Pst2ImapError;
    expect(error).toBeInstanceOf(Pst2ImapError);
    expect(error.code).toBe('E_AUTH');
    const everything = [error.message, error.detail, error.stack, JSON.stringify(error.params), String(error.cause)].join('\n');
    expect(everything).not.toContain(secret);
  });

  it('a closed port is E_CONNECT', async () => {
    const error = (await probeServer(connection({ port: 1 })).catch((caught: unknown) => caught)) as Pst2ImapError;
    expect(error.code).toBe('E_CONNECT');
  });
});

describe('parseTargetUrl', () => {
  it.each([
    ['imaps://outlook.office365.com', { kind: 'imap', host: 'outlook.office365.com', port: 993, secure: true }],
    ['imap://127.0.0.1:1430', { kind: 'imap', host: '127.0.0.1', port: 1430, secure: false }],
    ['imap://mail.example.com', { kind: 'imap', port: 143, secure: false }],
    ['maildir:/tmp/mail', { kind: 'maildir', dir: '/tmp/mail' }],
  ])('%s', (url, expected) => {
    expect(parseTargetUrl(url)).toMatchObject(expected);
  });

  it.each(['ftp://x', 'imaps://', 'imap://host:99999', 'maildir:', 'outlook.com'])('refuses %s', (url) => {
    expect(() => parseTargetUrl(url)).toThrow(Pst2ImapError);
  });
});

describe('pst2imap plan --to', () => {
  it('shows the server beside the plan, read-only, with the password only in the environment', async () => {
    const before = await snapshot();
    const result = await runCli(
      ['plan', 'fixtures/pst/sample.pst', '--to', `imap://127.0.0.1:${server.port}`, '--user', 'alice', '--provider', 'generic'],
      { env: { PST2IMAP_PASSWORD: PASSWORD } },
    );
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`Server: imap://127.0.0.1:${server.port} as alice: delimiter "/"`);
    expect(result.stdout).toMatch(/sent=Sent/);
    // INBOX exists and holds 1 message; Sent Items goes to the server's \Sent folder, which is empty.
    expect(result.stdout).toMatch(/^Inbox\s+INBOX\s+1\s+inbox\s+8\b/m);
    expect(result.stdout).toMatch(/^Sent Items\s+Sent\s+0\s+sent\s+6\b/m);
    expect(result.stdout).toMatch(/^Custom Folder 1\s+Custom Folder 1\s+new\b/m);
    expect(result.stdout + result.stderr).not.toContain(PASSWORD);
    expect(await snapshot()).toBe(before);
  });

  it('a wrong password ends with exit code 5 and one line', async () => {
    const result = await runCli(
      ['plan', 'fixtures/pst/sample.pst', '--to', `imap://127.0.0.1:${server.port}`, '--user', 'alice', '--provider', 'generic'],
      { env: { PST2IMAP_PASSWORD: 'nope-not-it' } },
    );
    expect(result.code).toBe(5);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toContain('Sign-in to 127.0.0.1');
    expect(result.stderr).not.toContain('nope-not-it');
  });

  it('without a password and without a terminal, says where to put one', async () => {
    const result = await runCli(['plan', 'fixtures/pst/sample.pst', '--to', `imap://127.0.0.1:${server.port}`, '--user', 'alice', '--provider', 'generic']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('PST2IMAP_PASSWORD');
  });
});
