/**
 * XOAUTH2 during a long migration, as with Outlook.com: the access token expires in the middle of the
 * run (the server stops taking it and ends the session), and the engine reconnects with a token MSAL
 * refreshes, without losing the job. A refresh that Microsoft refuses stops the run with the sign-in
 * message; after signing in again, the next run finishes it with nothing doubled.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { accessToken, deviceCodeLogin, type OAuthSettings } from '../../src/auth/oauth.js';
import { migrate } from '../../src/engine/migrate.js';
import { Pst2ImapError } from '../../src/errors.js';
import { projectRoot } from '../support/cli.js';
import { startDovecot, type DovecotServer, type TokenVerdict } from '../support/dovecot.js';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.js';
import { startIdentityStandIn, type IdentityStandIn } from '../support/identity-standin.js';
import { duplicates, imapTarget, migrateOptions, serverContents } from '../support/migration.js';

const SAMPLE = join(projectRoot, 'fixtures/pst/sample.pst');
const USER = 'alice@outlook.com';
const USER2 = 'bob@outlook.com';
let server: DovecotServer;
let standIn: IdentityStandIn;
let proxy: FaultProxy;
let settings: OAuthSettings;
/** Access tokens the server no longer takes (expired, as far as it is concerned). */
const expired = new Set<string>();

beforeAll(async () => {
  server = await startDovecot({ users: { [USER]: 'only-for-checking', [USER2]: 'only-for-checking' } });
  // The introspection endpoint takes every token the identity stand-in issued, until it "expires".
  const verdicts = server.tokens;
  verdicts.get = (token: string): TokenVerdict | undefined =>
    // The stand-in names its tokens access-<n>-<user>.
    standIn.issued.accessTokens.includes(token) ? { username: token.replace(/^access-\d+-/, ''), active: !expired.has(token) } : undefined;
  standIn = await startIdentityStandIn();
  standIn.nextDevice = { outcome: 'approve', pendingPolls: 0, username: USER };
  settings = {
    clientId: '11111111-2222-3333-4444-555555555555',
    tenant: 'consumers',
    cachePath: join(mkdtempSync(join(tmpdir(), 'pst2imap-oauth-')), 'msal-token-cache.json'),
    networkClient: standIn.networkClient,
  };
  await deviceCodeLogin(settings, USER, () => {});
});
beforeEach(async () => {
  proxy = await startFaultProxy(server.port);
});
afterEach(() => proxy.close());
afterAll(async () => {
  await standIn.close();
  await server.stop();
});

const credentials = async ({ refresh }: { refresh: boolean }) => ({ accessToken: await accessToken(settings, USER, { forceRefresh: refresh }) });

test('a token that expires mid-run is refreshed on reconnect; the job goes on to the end', async () => {
  const options = migrateOptions({ pstPath: SAMPLE, target: imapTarget(proxy.port, USER, credentials), batchSize: 2, connections: 1 });
  const refreshesBefore = standIn.issued.refreshes;
  const result = await migrate(options, (event) => {
    if (event.type === 'batch' && event.number === 2) {
      // The token expires: the server refuses it from now on, and ends the session at the next command.
      for (const token of standIn.issued.accessTokens) expired.add(token);
      proxy.faults.set(proxy.appends + 1, 'bye');
    }
  });
  expect(result).toMatchObject({ status: 'finished', sent: 14, failed: 0 });
  expect(result.totals).toMatchObject({ done: 14, total: 14 });
  expect(standIn.issued.refreshes).toBe(refreshesBefore + 1);
  expect(proxy.log.some(([, fault]) => fault === 'bye')).toBe(true);
  const contents = await serverContents(server.port, USER, 'only-for-checking');
  expect(contents.get('INBOX')).toHaveLength(8);
  expect(contents.get('Sent')).toHaveLength(6);
  for (const ids of contents.values()) expect(duplicates(ids)).toEqual([]);
});

test('a refused refresh stops the run with the sign-in message; after a new sign-in the next run finishes it', async () => {
  standIn.nextDevice = { outcome: 'approve', pendingPolls: 0, username: USER2 };
  await deviceCodeLogin(settings, USER2, () => {});
  const bobCredentials = async ({ refresh }: { refresh: boolean }) => ({ accessToken: await accessToken(settings, USER2, { forceRefresh: refresh }) });
  const options = migrateOptions({ pstPath: SAMPLE, target: imapTarget(proxy.port, USER2, bobCredentials), batchSize: 2, connections: 1 });
  const error = await migrate(options, (event) => {
    if (event.type === 'batch' && event.number === 1) {
      for (const token of standIn.issued.accessTokens) expired.add(token);
      for (const token of standIn.issued.refreshTokens) standIn.revokedRefreshTokens.add(token);
      proxy.faults.set(proxy.appends + 1, 'bye');
    }
  }).catch((caught: unknown) => caught);
  expect(error).toBeInstanceOf(Pst2ImapError);
  expect((error as Pst2ImapError).code).toBe('E_AUTH_LOGIN_NEEDED');
  expect((error as Pst2ImapError).params).toMatchObject({ user: USER2 });
  const everything = [(error as Error).message, (error as Pst2ImapError).detail ?? '', JSON.stringify((error as Pst2ImapError).params)].join('\n');
  for (const token of [...standIn.issued.accessTokens, ...standIn.issued.refreshTokens]) expect(everything).not.toContain(token);
  const partial = await serverContents(server.port, USER2, 'only-for-checking');
  expect(partial.get('INBOX')!.length).toBeGreaterThanOrEqual(2);
  expect(partial.get('INBOX')!.length).toBeLessThan(8);

  await deviceCodeLogin(settings, USER2, () => {});
  const result = await migrate(options);
  expect(result.status).toBe('finished');
  expect(result.totals).toMatchObject({ done: 14, total: 14, in_flight: 0 });
  const contents = await serverContents(server.port, USER2, 'only-for-checking');
  expect(contents.get('INBOX')).toHaveLength(8);
  expect(contents.get('Sent')).toHaveLength(6);
  for (const ids of contents.values()) expect(duplicates(ids)).toEqual([]);
});
