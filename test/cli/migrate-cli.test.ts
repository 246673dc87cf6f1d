/**
 * migrate, resume, verify and status through the real executable, as a user types them: the summary
 * and report files, --json events, exit codes, Ctrl-C (once: finish and record; twice: stop at once),
 * and no password or token anywhere (output with --debug, checkpoint store, reports) for a migration
 * and for a failed sign-in.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deviceCodeLogin } from '../../src/auth/oauth.js';
import { runCli, sharedFixtures } from '../support/cli.js';
import { startDovecot, type DovecotServer } from '../support/dovecot.js';
import { startIdentityStandIn } from '../support/identity-standin.js';
import { duplicates, serverContents } from '../support/migration.js';
import { spawnCli } from '../support/spawn-cli.js';
import { startFaultProxy } from '../support/fault-proxy.js';

const PASSWORD = 'Sekr3t-pässword-for-the-cli-test';
const SAMPLE = 'fixtures/pst/sample.pst';
let server: DovecotServer;

beforeAll(async () => {
  server = await startDovecot({ users: Object.fromEntries(['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'gina'].map((user) => [user, PASSWORD])) });
});
afterAll(() => server.stop());

function connection(user: string, state: string): string[] {
  return ['--to', `imap://127.0.0.1:${server.port}`, '--user', user, '--provider', 'generic', '--state', state];
}

/** Every file under `dir`, as bytes. */
function filesUnder(dir: string): Array<{ path: string; bytes: Buffer }> {
  const found: Array<{ path: string; bytes: Buffer }> = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) found.push(...filesUnder(path));
    else found.push({ path, bytes: readFileSync(path) });
  }
  return found;
}

function expectNoSecret(secret: string, texts: string[], dir: string): void {
  for (const text of texts) expect(text).not.toContain(secret);
  const needles = [Buffer.from(secret, 'utf8'), Buffer.from(secret, 'utf16le'), Buffer.from(Buffer.from(secret).toString('base64'))];
  for (const file of filesUnder(dir)) {
    for (const needle of needles) expect({ file: file.path, found: file.bytes.includes(needle) }).toEqual({ file: file.path, found: false });
  }
}

test('migrate prints a summary and writes the report; a second run sends nothing; status and verify agree', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pst2imap-cli-'));
  const state = join(dir, 'state.db');
  const env = { PST2IMAP_PASSWORD: PASSWORD };
  const first = await runCli(['migrate', SAMPLE, ...connection('alice', state)], { env });
  expect(first.code).toBe(0);
  expect(first.stdout).toMatch(/^Sent 14 messages \(.+\) in .+; skipped 0, failed 0, found on the server from an earlier run 0\.$/m);
  expect(first.stdout).toMatch(/^Job 1: 14 done, 0 to send, 0 skipped, 0 failed, of 14\.$/m);
  expect(first.stdout).toContain('Every selected message went through.');
  const reports = readdirSync(join(dir, 'reports'));
  expect(reports.filter((name) => name.endsWith('.json'))).toHaveLength(1);
  expect(reports.filter((name) => name.endsWith('.txt'))).toHaveLength(1);
  expect(readFileSync(join(dir, 'reports', reports.find((name) => name.endsWith('.txt'))!), 'utf8')).toContain('No item was skipped or failed.');
  // Not a terminal: one line per folder on stderr, no bars.
  expect(first.stderr).toBe('Inbox -> INBOX: 8 messages\nSent Items -> Sent: 6 messages\n');

  const second = await runCli(['migrate', SAMPLE, ...connection('alice', state)], { env });
  expect(second.code).toBe(0);
  expect(second.stdout).toMatch(/^Sent 0 messages/m);
  expect(second.stderr).toBe('Nothing new to send.\n');

  const status = await runCli(['status', '--state', state]);
  expect(status.code).toBe(0);
  expect(status.stdout).toMatch(/^Total\s+14\s+0\s+0\s+0\s+0\s*$/m);
  const verified = await runCli(['verify', SAMPLE, ...connection('alice', state)], { env });
  expect(verified.code).toBe(0);
  expect(verified.stdout).toMatch(/^Inbox\s+INBOX\s+8\s+8\s+0\s+0\s+0\s*$/m);
  expect(verified.stdout).toContain('Every selected message is on the server, once.');
});

test('--json prints one event per line, ending with the summary (here without pipelining: --pipeline 1)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pst2imap-cli-'));
  const badDepth = await runCli(['migrate', SAMPLE, ...connection('bob', join(dir, 'state.db')), '--pipeline', '0'], { env: { PST2IMAP_PASSWORD: PASSWORD } });
  expect(badDepth.code).toBe(2);
  expect(badDepth.stderr).toMatch(/--pipeline/);
  const result = await runCli(['migrate', SAMPLE, ...connection('bob', join(dir, 'state.db')), '--json', '--folder', 'Sent Items', '--pipeline', '1'], { env: { PST2IMAP_PASSWORD: PASSWORD } });
  expect(result.code).toBe(0);
  expect(result.stderr).toBe('');
  const events = result.stdout.trim().split('\n').map((line) => JSON.parse(line) as { type: string; result?: unknown });
  expect(events.map((event) => event.type).filter((type, index, all) => all.indexOf(type) === index)).toEqual(['opened', 'planned', 'folder', 'sent', 'batch', 'finished']);
  expect(events.filter((event) => event.type === 'sent')).toHaveLength(6);
  expect(events.at(-1)!.result).toMatchObject({ status: 'finished', sent: 6 });
});

test('in Japanese: the summary, the lines per folder and verify', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pst2imap-cli-'));
  const state = join(dir, 'state.db');
  const env = { PST2IMAP_PASSWORD: PASSWORD, LANG: 'ja_JP.UTF-8' };
  const result = await runCli(['migrate', SAMPLE, ...connection('gina', state), '--limit', '3'], { env });
  expect(result.code).toBe(0);
  expect(result.stdout).toMatch(/^.+ で 3 件 \(.+\) を送信しました。スキップ 0 件、失敗 0 件/m);
  expect(result.stdout).toContain('今回の上限に達しました: 11 件が次の実行を待っています');
  expect(result.stderr).toBe('Inbox -> INBOX: 8 件\n');
  const verified = await runCli(['verify', '--state', state], { env });
  expect(verified.code).toBe(6);
  expect(verified.stdout).toContain('11 件が不足、0 件が重複しています。');
});

test('exit codes: PST unusable 3, server unreachable 4, sign-in refused 5, store unusable 7', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pst2imap-cli-'));
  const env = { PST2IMAP_PASSWORD: PASSWORD };
  const missing = await runCli(['migrate', 'no-such.pst', ...connection('carol', join(dir, 'a.db'))], { env });
  expect(missing.code).toBe(3);
  const closed = await runCli(['migrate', SAMPLE, '--to', 'imap://127.0.0.1:1', '--user', 'carol', '--provider', 'generic', '--state', join(dir, 'b.db')], { env });
  expect(closed.code).toBe(4);
  expect(closed.stderr).toMatch(/^connection lost: reconnecting in \d+ s\npst2imap: Cannot reach 127\.0\.0\.1:1: ECONNREFUSED\./);
  const refused = await runCli(['migrate', SAMPLE, ...connection('carol', join(dir, 'c.db'))], { env: { PST2IMAP_PASSWORD: 'not-the-password' } });
  expect(refused.code).toBe(5);
  expect(refused.stderr).toMatch(/^pst2imap: Sign-in to 127\.0\.0\.1:\d+ as carol failed/);
  mkdirSync(join(dir, 'store-is-a-directory.db', 'state.db'), { recursive: true });
  const store = await runCli(['migrate', SAMPLE, ...connection('carol', join(dir, 'store-is-a-directory.db'))], { env });
  expect(store.code).toBe(7);
  const noJob = await runCli(['resume', '--state', join(dir, 'nothing.db')]);
  expect(noJob.code).toBe(2);
  expect(noJob.stderr).toContain('No migration job');
});

test('Ctrl-C finishes what is in flight and exits 130; twice stops at once; resume then finishes with every message once', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pst2imap-cli-'));
  const state = join(dir, 'state.db');
  const env = { PST2IMAP_PASSWORD: PASSWORD };
  // Every run of this job goes through a proxy that will stall the server's answer when told to.
  const proxy = await startFaultProxy(server.port);
  const viaProxy = ['--to', `imap://127.0.0.1:${proxy.port}`, '--user', 'dave', '--provider', 'generic', '--state', state];
  const isBatch = (line: string) => line.includes('"type":"batch"');
  try {
    const once = spawnCli(['migrate', SAMPLE, ...viaProxy, '--json', '--batch', '2', '--rate', '8'], env);
    await once.waitForLine(isBatch);
    once.child.kill('SIGINT');
    const onceExit = await once.exited;
    expect(onceExit.code).toBe(130);
    const last = JSON.parse(once.stdoutLines.at(-1)!) as { type: string; result: { status: string; totals: { in_flight: number }; remaining: number } };
    expect(last).toMatchObject({ type: 'finished', result: { status: 'interrupted', totals: { in_flight: 0 } } });
    expect(last.result.remaining).toBeGreaterThan(0);

    // The server stalls on the next APPEND: the first Ctrl-C waits for it, the second stops at once.
    proxy.faults.set(proxy.appends + 1, 'stall');
    const stalledAt = proxy.appends + 1;
    const twice = spawnCli(['resume', '--state', state, '--json'], env);
    while (proxy.appends < stalledAt) await new Promise((resolve) => setTimeout(resolve, 20));
    twice.child.kill('SIGINT');
    await new Promise((resolve) => setTimeout(resolve, 300));
    // Still waiting for the stalled answer.
    expect(twice.child.exitCode).toBeNull();
    twice.child.kill('SIGINT');
    const twiceExit = await twice.exited;
    expect(twiceExit.code).toBe(130);
    expect(twice.stderr).toContain('Run "pst2imap resume" to carry on where it stopped.');

    // The stalled message reached the server: the next run finds it there instead of sending it again.
    const resumed = await runCli(['resume', '--state', state], { env });
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toContain('Every selected message went through.');
    expect(resumed.stdout).toMatch(/found on the server from an earlier run 1\./);
  } finally {
    await proxy.close();
  }
  const contents = await serverContents(server.port, 'dave', PASSWORD);
  expect(contents.get('INBOX')).toHaveLength(8);
  expect(contents.get('Sent')).toHaveLength(6);
  for (const ids of contents.values()) expect(duplicates(ids)).toEqual([]);
});

test('no password or token anywhere: a migration and a failed sign-in with --debug; output, store and reports', async () => {
  const home = mkdtempSync(join(tmpdir(), 'pst2imap-secrets-'));
  const state = join(home, 'state');
  mkdirSync(state);
  const env = { HOME: home, XDG_CONFIG_HOME: join(home, '.config'), XDG_STATE_HOME: join(home, '.local', 'state') };

  // A password sign-in, from the environment and from a file.
  const passwordFile = join(home, 'password.txt');
  const { writeFileSync } = await import('node:fs');
  writeFileSync(passwordFile, `${PASSWORD}\n`, { mode: 0o600 });
  const migrated = await runCli(['migrate', SAMPLE, ...connection('erin', state), '--debug', '--password-file', passwordFile, '--limit', '4'], { env });
  expect(migrated.code).toBe(0);
  const resumed = await runCli(['resume', '--state', state, '--debug', '--json'], { env: { ...env, PST2IMAP_PASSWORD: PASSWORD } });
  expect(resumed.code).toBe(0);
  const wrong = 'Wr0ng-but-secret-all-the-same';
  const failed = await runCli(['migrate', SAMPLE, ...connection('erin', state), '--debug'], { env: { ...env, PST2IMAP_PASSWORD: wrong } });
  expect(failed.code).toBe(5);
  expect(failed.stderr).toContain('Sign-in to');
  // --debug shows details...
  expect(failed.stderr.split('\n').length).toBeGreaterThan(2);
  const texts = [migrated.stdout, migrated.stderr, resumed.stdout, resumed.stderr, failed.stdout, failed.stderr];
  expectNoSecret(PASSWORD, texts, state);
  expectNoSecret(wrong, texts, state);
  // ...and the store keeps where the password comes from, never the password.
  const stored = filesUnder(state).find((file) => file.path.endsWith('state.db'))!;
  expect(stored.bytes.includes(Buffer.from('password.txt'))).toBe(true);

  // An OAuth2 sign-in (tokens from the identity stand-in, used from the token cache the CLI reads).
  const standIn = await startIdentityStandIn();
  try {
    standIn.nextDevice = { outcome: 'approve', pendingPolls: 0, username: 'frank' };
    const clientId = '11111111-2222-3333-4444-555555555555';
    await deviceCodeLogin(
      { clientId, tenant: 'consumers', cachePath: join(home, '.config', 'pst2imap', 'msal-token-cache.json'), networkClient: standIn.networkClient },
      'frank',
      () => {},
    );
    const token = standIn.issued.accessTokens.at(-1)!;
    server.tokens.set(token, { username: 'frank', active: true });
    const oauth = await runCli(
      ['migrate', SAMPLE, '--to', `imap://127.0.0.1:${server.port}`, '--user', 'frank', '--provider', 'outlook', '--auth', 'oauth2', '--client-id', clientId, '--tenant', 'consumers', '--state', join(state, 'oauth.db'), '--debug', '--json', '--rate', '100'],
      { env },
    );
    expect({ code: oauth.code, stderr: oauth.stderr }).toEqual({ code: 0, stderr: '' });
    expect(oauth.stdout).toContain('"type":"finished"');
    for (const secret of [...standIn.issued.accessTokens, ...standIn.issued.refreshTokens]) {
      expectNoSecret(secret, [oauth.stdout, oauth.stderr, ...texts], state);
    }
  } finally {
    await standIn.close();
  }
  // erin: two runs of --limit 4 (resume keeps the job's options); frank: the whole PST.
  for (const [user, count] of [['erin', 8], ['frank', 14]] as const) {
    const contents = await serverContents(server.port, user, PASSWORD);
    expect([...contents.values()].flat()).toHaveLength(count);
    for (const ids of contents.values()) expect(duplicates(ids)).toEqual([]);
  }
});
