/**
 * A real Dovecot IMAP server for the tests, set up like Outlook.com: '/' as the hierarchy delimiter,
 * INBOX plus Sent, Drafts, Junk, Deleted and Archive with their special-use flags. Each call starts a
 * private instance on a free loopback port with a throwaway configuration; stop() ends it and removes
 * everything. Users come from a passwd-file; XOAUTH2 / OAUTHBEARER tokens are checked through a small
 * local introspection endpoint whose answers the test decides.
 *
 * Dovecot runs as root here, so its login process runs as dovenull and mail is owned by dovecot
 * (imap-login refuses to run as root).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createTcpServer, connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TokenVerdict {
  username: string;
  active: boolean;
}

export interface DovecotServer {
  host: string;
  /** The plain IMAP port (STARTTLS offered when started with `tls`). */
  port: number;
  /** With `tls`: the implicit-TLS (imaps) port and the PEM of the self-signed certificate (CN and
   * subjectAltName localhost, 127.0.0.1), which a client trusts through NODE_EXTRA_CA_CERTS. */
  tlsPort: number | null;
  certificatePath: string | null;
  dir: string;
  /** The introspection endpoint's verdicts, by token. */
  tokens: Map<string, TokenVerdict>;
  addUser(name: string, password: string): void;
  stop(): Promise<void>;
}

function findDovecot(): string {
  for (const candidate of ['/usr/sbin/dovecot', '/usr/bin/dovecot']) {
    try {
      execFileSync(candidate, ['--version'], { stdio: 'ignore' });
      return candidate;
    } catch {
      // try the next
    }
  }
  throw new Error('dovecot is not installed: run `bash .ci/setup-debian.sh` (apt-get install dovecot-imapd)');
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createTcpServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function waitForGreeting(port: number, deadline: number): Promise<void> {
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('data', (data) => {
        socket.destroy();
        resolve(data.toString().startsWith('* OK'));
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`dovecot did not answer on port ${port}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const running = new Set<{ stop(): Promise<void> }>();
process.once('exit', () => {
  for (const server of running) void server.stop();
});

/** A throwaway self-signed certificate for localhost and 127.0.0.1 (openssl, from Debian's base system). */
function selfSignedCertificate(dir: string): { cert: string; key: string } {
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-keyout', key, '-out', cert,
  ], { stdio: 'ignore' });
  chmodSync(key, 0o600);
  return { cert, key };
}

export async function startDovecot(options: { users?: Record<string, string>; tls?: boolean } = {}): Promise<DovecotServer> {
  const binary = findDovecot();
  const dir = mkdtempSync(join(tmpdir(), 'pst2imap-dovecot-'));
  const mail = join(dir, 'mail');
  mkdirSync(mail);
  chmodSync(dir, 0o755);
  const uid = Number(execFileSync('id', ['-u', 'dovecot']).toString().trim());
  const gid = Number(execFileSync('id', ['-g', 'dovecot']).toString().trim());
  chownSync(mail, uid, gid);
  const users = join(dir, 'users');
  writeFileSync(users, '');

  const tokens = new Map<string, TokenVerdict>();
  const introspection: Server = createHttpServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => (body += chunk));
    request.on('end', () => {
      const token = new URLSearchParams(body).get('token') ?? '';
      const verdict = tokens.get(token);
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify(verdict ? { active: verdict.active, username: verdict.username } : { active: false }));
    });
  });
  await new Promise<void>((resolve) => introspection.listen(0, '127.0.0.1', resolve));
  const introspectionPort = (introspection.address() as AddressInfo).port;
  writeFileSync(
    join(dir, 'oauth2.conf'),
    [
      'introspection_mode = post',
      `introspection_url = http://127.0.0.1:${introspectionPort}/introspect`,
      'username_attribute = username',
      'active_attribute = active',
      'active_value = true',
      '',
    ].join('\n'),
  );

  const port = await freePort();
  const tlsPort = options.tls ? await freePort() : null;
  const certificate = options.tls ? selfSignedCertificate(dir) : null;
  const mailbox = (name: string, flag: string) => `  mailbox ${name} {\n    special_use = ${flag}\n    auto = subscribe\n  }`;
  const config = [
    `base_dir = ${join(dir, 'run')}`,
    `state_dir = ${join(dir, 'state')}`,
    'protocols = imap',
    'listen = 127.0.0.1',
    ...(certificate ? ['ssl = yes', `ssl_cert = <${certificate.cert}`, `ssl_key = <${certificate.key}`] : ['ssl = no']),
    'disable_plaintext_auth = no',
    'auth_mechanisms = plain login xoauth2 oauthbearer',
    'default_login_user = dovenull',
    'default_internal_user = dovecot',
    'default_internal_group = dovecot',
    'mail_uid = dovecot',
    'mail_gid = dovecot',
    'first_valid_uid = 1',
    `log_path = ${join(dir, 'dovecot.log')}`,
    `mail_location = maildir:${mail}/%u`,
    'service imap-login {\n  inet_listener imap {\n    address = 127.0.0.1\n    port = ' + port + '\n  }\n  inet_listener imaps {\n    address = 127.0.0.1\n    port = ' + (tlsPort ?? 0) + '\n  }\n}',
    'service anvil {\n  chroot =\n}',
    'service imap-login {\n  chroot =\n}',
    'passdb {\n  driver = oauth2\n  mechanisms = xoauth2 oauthbearer\n  args = ' + join(dir, 'oauth2.conf') + '\n}',
    'passdb {\n  driver = passwd-file\n  args = scheme=PLAIN username_format=%u ' + users + '\n}',
    'userdb {\n  driver = static\n  args = uid=dovecot gid=dovecot home=' + mail + '/%u\n}',
    'namespace inbox {\n  inbox = yes\n  separator = /\n' +
      [mailbox('Sent', '\\Sent'), mailbox('Drafts', '\\Drafts'), mailbox('Junk', '\\Junk'), mailbox('Deleted', '\\Trash'), mailbox('Archive', '\\Archive')].join('\n') +
      '\n}',
    '',
  ].join('\n');
  const configPath = join(dir, 'dovecot.conf');
  writeFileSync(configPath, config);

  const child: ChildProcess = spawn(binary, ['-F', '-c', configPath], { stdio: 'ignore' });
  const server: DovecotServer = {
    host: '127.0.0.1',
    port,
    tlsPort,
    certificatePath: certificate?.cert ?? null,
    dir,
    tokens,
    addUser(name, password) {
      appendFileSync(users, `${name}:{PLAIN}${password}:::::\n`);
    },
    async stop() {
      running.delete(server);
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([exited, new Promise((resolve) => (timer = setTimeout(resolve, 3000)))]);
        clearTimeout(timer);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
      await new Promise<void>((resolve) => introspection.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
  running.add(server);
  for (const [name, password] of Object.entries(options.users ?? {})) server.addUser(name, password);
  try {
    await waitForGreeting(port, Date.now() + 10_000);
  } catch (error) {
    await server.stop();
    throw error;
  }
  return server;
}
