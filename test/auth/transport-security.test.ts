/**
 * How a password or token travels: TLS verified by default against a real Dovecot with a self-signed
 * certificate, `--insecure` explicit and warned, STARTTLS on the plain port when the server offers it,
 * no password in clear text off this machine, and no password on the command line at all.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Pst2ImapError } from '../../src/errors.js';
import { imapFlowOptions, probeServer } from '../../src/target/probe.js';
import type { ImapConnectionOptions } from '../../src/target/types.js';
import { runCli } from '../support/cli.js';
import { startDovecot, type DovecotServer } from '../support/dovecot.js';
import { imapTarget, storedMessages } from '../support/migration.js';

const PASSWORD = 'tr0ub4dor&3-over-tls';
let server: DovecotServer;

function connection(overrides: Partial<ImapConnectionOptions>): ImapConnectionOptions {
  return {
    host: 'localhost',
    port: server.tlsPort!,
    secure: true,
    user: 'alice',
    auth: { password: PASSWORD },
    verifyCertificate: true,
    allowPlaintext: false,
    timeoutMs: 5000,
    ...overrides,
  };
}

/** Dovecot's login lines: "Login: user=<alice>, method=PLAIN, ..., TLS" when the session was encrypted. */
function logins(): string[] {
  return readFileSync(`${server.dir}/dovecot.log`, 'utf8')
    .split('\n')
    .filter((line) => /imap-login: Info: Login:/.test(line));
}

beforeAll(async () => {
  server = await startDovecot({ users: { alice: PASSWORD }, tls: true });
});
afterAll(() => server.stop());

describe('TLS to the server', () => {
  it('refuses a certificate it cannot verify, as a TLS error naming the server', async () => {
    const failure = await probeServer(connection({})).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(Pst2ImapError);
    expect((failure as Pst2ImapError).code).toBe('E_TLS');
    expect((failure as Pst2ImapError).params.server).toBe(`localhost:${server.tlsPort}`);
    expect(logins()).toHaveLength(0);
  });

  it('connects when the certificate is trusted, and the session is encrypted', async () => {
    const result = await runCli(
      ['plan', 'fixtures/pst/sample.pst', '--to', `imaps://localhost:${server.tlsPort}`, '--user', 'alice', '--provider', 'generic', '--quiet'],
      { env: { PST2IMAP_PASSWORD: PASSWORD, NODE_EXTRA_CA_CERTS: server.certificatePath! } },
    );
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`imaps://localhost:${server.tlsPort} as alice`);
    expect(logins().at(-1)).toMatch(/user=<alice>.*\bTLS\b/);
  });

  it('--insecure skips the check and says so on every run', async () => {
    const result = await runCli(
      ['plan', 'fixtures/pst/sample.pst', '--to', `imaps://localhost:${server.tlsPort}`, '--user', 'alice', '--provider', 'generic', '--insecure', '--quiet'],
      { env: { PST2IMAP_PASSWORD: PASSWORD } },
    );
    expect(result.code).toBe(0);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/warning/i);
    expect(result.stderr).toContain('--insecure');
    expect(result.stdout + result.stderr).not.toContain(PASSWORD);
  });

  it('upgrades a plain connection with STARTTLS when the server offers it, and verifies it too', async () => {
    const before = logins().length;
    const unverified = await probeServer(connection({ port: server.port, secure: false })).catch((error: unknown) => error);
    expect((unverified as Pst2ImapError).code).toBe('E_TLS');
    expect(logins()).toHaveLength(before);

    const result = await runCli(
      ['plan', 'fixtures/pst/sample.pst', '--to', `imap://localhost:${server.port}`, '--user', 'alice', '--provider', 'generic', '--quiet'],
      { env: { PST2IMAP_PASSWORD: PASSWORD, NODE_EXTRA_CA_CERTS: server.certificatePath! } },
    );
    expect(result.code).toBe(0);
    expect(logins()).toHaveLength(before + 1);
    expect(logins().at(-1)).toMatch(/user=<alice>.*\bTLS\b/);
  });
});

describe('messages over TLS', () => {
  it('sends a message held in memory of its own outside malloc (a resizable ArrayBuffer, as the rebuild makes one of 64 KB or more) byte for byte', async () => {
    const line = `${'t'.repeat(76)}\r\n`;
    const text = Buffer.from(`Subject: over TLS\r\nMessage-ID: <over-tls@example.com>\r\n\r\n${line.repeat(4096)}`);
    const bytes = Buffer.from(new ArrayBuffer(text.length, { maxByteLength: text.length }));
    text.copy(bytes);
    const target = imapTarget(server.tlsPort!, 'alice', async () => ({ password: PASSWORD }), { tls: true });
    const session = await target.open();
    try {
      await session.ensureMailbox('TLS');
      const stored = await session.append({ mailbox: 'TLS', bytes, flags: [], internalDate: null });
      expect(stored.uid).not.toBeNull();
    } finally {
      await session.close();
    }
    const onServer = [...(await storedMessages(server.tlsPort!, 'alice', PASSWORD, 'TLS', { tls: true })).values()];
    expect(onServer.map((message) => message.sha)).toEqual([createHash('sha256').update(text).digest('hex')]);
  });
});

describe('passwords in clear text', () => {
  it('requires STARTTLS for a server off this machine unless --allow-plaintext is given', () => {
    const remote = { host: 'imap.example.com', port: 143, secure: false, auth: { password: PASSWORD } };
    expect(imapFlowOptions(connection(remote))!.doSTARTTLS).toBe(true);
    expect(imapFlowOptions(connection({ ...remote, allowPlaintext: true }))!.doSTARTTLS).toBeUndefined();
    // Loopback never leaves the machine; implicit TLS needs no STARTTLS.
    expect(imapFlowOptions(connection({ ...remote, host: '127.0.0.1' }))!.doSTARTTLS).toBeUndefined();
    expect(imapFlowOptions(connection({ ...remote, secure: true, port: 993 }))!.doSTARTTLS).toBeUndefined();
  });

  it('refuses a password given on the command line, without echoing it', async () => {
    const result = await runCli([
      'plan', 'fixtures/pst/sample.pst', '--to', `imap://127.0.0.1:${server.port}`, '--user', 'alice', '--provider', 'generic',
      '--password', PASSWORD,
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toContain('PST2IMAP_PASSWORD');
    expect(result.stdout + result.stderr).not.toContain(PASSWORD);
  });
});
