import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { accessToken, deviceCodeLogin, resolveClientId, signOut, tenantFor, type OAuthSettings } from '../../src/auth/oauth.js';
import { Pst2ImapError } from '../../src/errors.js';
import { startIdentityStandIn, type IdentityStandIn } from '../support/identity-standin.js';

const CLIENT_ID = '11111111-2222-3333-4444-555555555555';

describe('OAuth2 device-code sign-in against a local stand-in of the identity endpoints', () => {
  let standIn: IdentityStandIn;
  let settings: OAuthSettings;
  let dir: string;

  beforeEach(async () => {
    standIn = await startIdentityStandIn();
    dir = mkdtempSync(join(tmpdir(), 'pst2imap-oauth-'));
    settings = {
      clientId: CLIENT_ID,
      tenant: 'consumers',
      cachePath: join(dir, 'config', 'pst2imap', 'msal-token-cache.json'),
      networkClient: standIn.networkClient,
    };
  });
  afterEach(async () => {
    await standIn.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function expectCode(promise: Promise<unknown>, code: string): Promise<Pst2ImapError> {
    const error = await promise.then(
      () => {
        throw new Error(`expected ${code}`);
      },
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(Pst2ImapError);
    expect((error as Pst2ImapError).code).toBe(code);
    return error as Pst2ImapError;
  }

  it('shows the code, polls until approved, and keeps the tokens in an owner-only cache', async () => {
    const shown: string[] = [];
    const signedIn = await deviceCodeLogin(settings, 'Alice@Outlook.com', (prompt) =>
      shown.push(`${prompt.verificationUri} ${prompt.userCode}`),
    );
    expect(shown).toEqual(['https://microsoft.com/devicelogin CODE1']);
    expect(signedIn.username).toBe('alice@outlook.com');
    const polls = standIn.requests.filter((request) => request.body.includes('device_code=device-1'));
    expect(polls.length).toBe(2); // one 'authorization_pending', then the tokens
    expect(polls[0].body).toContain(encodeURIComponent('https://outlook.office.com/IMAP.AccessAsUser.All'));

    expect(statSync(settings.cachePath).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'config', 'pst2imap')).mode & 0o777).toBe(0o700);
    expect(readFileSync(settings.cachePath, 'utf8')).toContain(standIn.issued.refreshTokens[0]);

    // A later run gets the cached access token without any network call.
    const before = standIn.requests.length;
    expect(await accessToken(settings, 'alice@outlook.com')).toBe(standIn.issued.accessTokens[0]);
    expect(standIn.requests.length).toBe(before);
  });

  it('refreshes silently when asked to (the server refused a token mid-run)', async () => {
    await deviceCodeLogin(settings, 'alice@outlook.com', () => {});
    const refreshed = await accessToken(settings, 'alice@outlook.com', { forceRefresh: true });
    expect(refreshed).toBe(standIn.issued.accessTokens[1]);
    expect(standIn.issued.refreshes).toBe(1);
  });

  it('expired access tokens are refreshed without asking the user', async () => {
    const shortLived = await startIdentityStandIn({ accessTokenLifetime: 1 });
    try {
      const local = { ...settings, networkClient: shortLived.networkClient };
      await deviceCodeLogin(local, 'alice@outlook.com', () => {});
      // MSAL treats a token within its 5-minute safety margin as expired: a 1 s token is refreshed.
      const token = await accessToken(local, 'alice@outlook.com');
      expect(shortLived.issued.refreshes).toBe(1);
      expect(token).toBe(shortLived.issued.accessTokens[1]);
    } finally {
      await shortLived.close();
    }
  });

  it('a revoked refresh token asks for a new sign-in, clearly', async () => {
    await deviceCodeLogin(settings, 'alice@outlook.com', () => {});
    standIn.issued.refreshTokens.forEach((token) => standIn.revokedRefreshTokens.add(token));
    const error = await expectCode(accessToken(settings, 'alice@outlook.com', { forceRefresh: true }), 'E_AUTH_LOGIN_NEEDED');
    expect(error.params).toMatchObject({ user: 'alice@outlook.com', why: 'refresh refused' });
    expect(error.detail).toContain('AADSTS70008');
    expect(JSON.stringify(error.params) + error.detail + error.message).not.toContain('refresh-');
  });

  it('a user who never signed in is told to run login', async () => {
    await expectCode(accessToken(settings, 'bob@outlook.com'), 'E_AUTH_LOGIN_NEEDED');
  });

  it('a declined or expired device code is a clear sign-in error', async () => {
    standIn.nextDevice = { outcome: 'decline', pendingPolls: 0, username: 'alice@outlook.com' };
    await expectCode(deviceCodeLogin(settings, 'alice@outlook.com', () => {}), 'E_AUTH_DECLINED');
    standIn.nextDevice = { outcome: 'expire', pendingPolls: 0, username: 'alice@outlook.com' };
    await expectCode(deviceCodeLogin(settings, 'alice@outlook.com', () => {}), 'E_AUTH_CODE_EXPIRED');
    expect(existsSync(settings.cachePath)).toBe(false);
  });

  it('signing in as another account than --user keeps no tokens for it', async () => {
    standIn.nextDevice = { outcome: 'approve', pendingPolls: 0, username: 'mallory@outlook.com' };
    const error = await expectCode(deviceCodeLogin(settings, 'alice@outlook.com', () => {}), 'E_AUTH_WRONG_ACCOUNT');
    expect(error.params.signedIn).toBe('mallory@outlook.com');
    await expectCode(accessToken(settings, 'mallory@outlook.com'), 'E_AUTH_LOGIN_NEEDED');
  });

  it('logout forgets the account and removes the cache file when it was the last', async () => {
    await deviceCodeLogin(settings, 'alice@outlook.com', () => {});
    expect(await signOut(settings, 'alice@outlook.com')).toBe(true);
    expect(existsSync(settings.cachePath)).toBe(false);
    await expectCode(accessToken(settings, 'alice@outlook.com'), 'E_AUTH_LOGIN_NEEDED');
    expect(await signOut(settings, 'alice@outlook.com')).toBe(false);
  });
});

describe('client ID and tenant', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pst2imap-clientid-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('takes --client-id, then PST2IMAP_CLIENT_ID, then the config file', async () => {
    const configFile = join(dir, 'config.json');
    writeFileSync(configFile, JSON.stringify({ clientId: CLIENT_ID.replace('1111', 'aaaa') }));
    expect(await resolveClientId(CLIENT_ID, { PST2IMAP_CLIENT_ID: 'x' }, configFile)).toBe(CLIENT_ID);
    expect(await resolveClientId(undefined, { PST2IMAP_CLIENT_ID: CLIENT_ID }, configFile)).toBe(CLIENT_ID);
    expect(await resolveClientId(undefined, {}, configFile)).toBe(CLIENT_ID.replace('1111', 'aaaa'));
  });

  it('a missing or malformed client ID points to the registration steps', async () => {
    const missing = await resolveClientId(undefined, {}, join(dir, 'none.json')).catch((error: Pst2ImapError) => error);
    expect((missing as Pst2ImapError).code).toBe('E_AUTH_CLIENT_ID');
    const malformed = await resolveClientId('my-app', {}, join(dir, 'none.json')).catch((error: Pst2ImapError) => error);
    expect((malformed as Pst2ImapError).code).toBe('E_AUTH_CLIENT_ID_FORMAT');
  });

  it('chooses the audience from the provider, else the address', () => {
    expect(tenantFor('me@company.example', 'office365')).toBe('organizations');
    expect(tenantFor('me@hotmail.co.jp')).toBe('consumers');
    expect(tenantFor('me@live.com')).toBe('consumers');
    expect(tenantFor('me@company.example')).toBe('common');
  });
});
