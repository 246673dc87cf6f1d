/**
 * OAuth2 for Outlook.com and Microsoft 365: since September 2024 their IMAP accepts only SASL XOAUTH2,
 * so a migration needs an access token for the scope IMAP.AccessAsUser.All. Sign-in is the device-code
 * flow (RFC 8628): it works in any terminal, over SSH, without a browser on the machine. Tokens live in
 * MSAL's cache, kept in a file only the user can read; access tokens are refreshed silently with the
 * refresh token, and only a refused refresh asks the user to sign in again.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  AuthError,
  InteractionRequiredAuthError,
  LogLevel,
  PublicClientApplication,
  type AccountInfo,
  type ICachePlugin,
  type INetworkModule,
} from '@azure/msal-node';
import { Pst2ImapError } from '../errors.js';
import { configDir, removeFile, writePrivateFile } from './paths.js';

export const IMAP_SCOPES = ['https://outlook.office.com/IMAP.AccessAsUser.All', 'offline_access'];

/** Entra ID audiences: personal accounts, work or school accounts, or either. */
export type Tenant = 'consumers' | 'organizations' | 'common';

const CONSUMER_DOMAINS = /@(outlook|hotmail|live|msn|passport)\.[a-z.]+$/i;

/** The audience a user most likely belongs to, when no provider or --tenant says it. */
export function tenantFor(user: string, provider?: string): Tenant {
  if (provider === 'outlook') return 'consumers';
  if (provider === 'office365') return 'organizations';
  return CONSUMER_DOMAINS.test(user) ? 'consumers' : 'common';
}

export interface OAuthSettings {
  clientId: string;
  tenant: Tenant;
  /** The MSAL token cache file (in the config directory unless a test says otherwise). */
  cachePath: string;
  /** Only for tests: MSAL's HTTP boundary, to talk to a local stand-in of the identity endpoints. */
  networkClient?: INetworkModule;
}

export const CLIENT_ID_VARIABLE = 'PST2IMAP_CLIENT_ID';

/**
 * The application (client) ID registered in Microsoft Entra: `--client-id`, else PST2IMAP_CLIENT_ID,
 * else `clientId` in the config file. There is no built-in one: each user (or organisation) registers a
 * public client, as the README explains step by step.
 */
export async function resolveClientId(
  explicit: string | undefined,
  env: NodeJS.ProcessEnv,
  configFile = join(configDir(env), 'config.json'),
): Promise<string> {
  const candidate = explicit ?? env[CLIENT_ID_VARIABLE] ?? (await clientIdFromConfig(configFile));
  if (!candidate) throw new Pst2ImapError('E_AUTH_CLIENT_ID', { configFile });
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(candidate)) {
    throw new Pst2ImapError('E_AUTH_CLIENT_ID_FORMAT', { clientId: candidate });
  }
  return candidate;
}

async function clientIdFromConfig(configFile: string): Promise<string | undefined> {
  let text: string;
  try {
    text = await readFile(configFile, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const value = (JSON.parse(text) as { clientId?: unknown }).clientId;
    return typeof value === 'string' ? value : undefined;
  } catch {
    throw new Pst2ImapError('E_CONFIG', { file: configFile, what: 'not valid JSON' });
  }
}

export function defaultCachePath(env: NodeJS.ProcessEnv = process.env): string {
  return join(configDir(env), 'msal-token-cache.json');
}

/** MSAL's cache, persisted to one owner-only file, read before and written after each access. */
function fileCachePlugin(path: string): ICachePlugin {
  return {
    async beforeCacheAccess(context) {
      try {
        context.tokenCache.deserialize(await readFile(path, 'utf8'));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
    },
    async afterCacheAccess(context) {
      if (context.cacheHasChanged) await writePrivateFile(path, context.tokenCache.serialize());
    },
  };
}

function createClient(settings: OAuthSettings): PublicClientApplication {
  return new PublicClientApplication({
    auth: {
      clientId: settings.clientId,
      authority: `https://login.microsoftonline.com/${settings.tenant}`,
    },
    cache: { cachePlugin: fileCachePlugin(settings.cachePath) },
    system: {
      networkClient: settings.networkClient,
      // MSAL's own logging is off: its verbose levels can include personal data.
      loggerOptions: { piiLoggingEnabled: false, logLevel: LogLevel.Error, loggerCallback: () => {} },
    },
  });
}

export interface DeviceCodePrompt {
  userCode: string;
  verificationUri: string;
  expiresInSeconds: number;
}

export interface SignedIn {
  username: string;
  expiresOn: Date | null;
}

/** Runs the device-code flow: `onCode` shows the code and URL, then this waits for the user. */
export async function deviceCodeLogin(
  settings: OAuthSettings,
  user: string,
  onCode: (prompt: DeviceCodePrompt) => void,
): Promise<SignedIn> {
  const client = createClient(settings);
  try {
    const result = await client.acquireTokenByDeviceCode({
      scopes: IMAP_SCOPES,
      deviceCodeCallback: (response) =>
        onCode({
          userCode: response.userCode,
          verificationUri: response.verificationUri,
          expiresInSeconds: response.expiresIn,
        }),
    });
    if (!result?.account) throw new Pst2ImapError('E_AUTH', { server: 'Microsoft', user, what: 'no account' });
    const username = result.account.username;
    if (username.toLowerCase() !== user.toLowerCase()) {
      // Signed in, but as somebody else: keep the tokens out of this user's name.
      await client.getTokenCache().removeAccount(result.account);
      throw new Pst2ImapError('E_AUTH_WRONG_ACCOUNT', { user, signedIn: username });
    }
    return { username, expiresOn: result.expiresOn ?? null };
  } catch (error) {
    throw toAuthError(error, user);
  }
}

/**
 * A valid access token for `user`, refreshed silently when it has expired (or when `forceRefresh`,
 * after the server refused one mid-migration). Throws E_AUTH_LOGIN_NEEDED when the user must sign in.
 */
export async function accessToken(
  settings: OAuthSettings,
  user: string,
  options: { forceRefresh?: boolean } = {},
): Promise<string> {
  const client = createClient(settings);
  const account = await findAccount(client, user);
  if (!account) throw new Pst2ImapError('E_AUTH_LOGIN_NEEDED', { user, why: 'not signed in' });
  try {
    const result = await client.acquireTokenSilent({
      account,
      scopes: IMAP_SCOPES,
      forceRefresh: options.forceRefresh ?? false,
    });
    return result.accessToken;
  } catch (error) {
    throw toAuthError(error, user);
  }
}

/** Forgets `user`'s tokens; the cache file goes when no account is left. */
export async function signOut(settings: OAuthSettings, user: string): Promise<boolean> {
  const client = createClient(settings);
  const account = await findAccount(client, user);
  if (account) await client.getTokenCache().removeAccount(account);
  if ((await client.getTokenCache().getAllAccounts()).length === 0) await removeFile(settings.cachePath);
  return account !== null;
}

async function findAccount(client: PublicClientApplication, user: string): Promise<AccountInfo | null> {
  const accounts = await client.getTokenCache().getAllAccounts();
  return accounts.find((account) => account.username.toLowerCase() === user.toLowerCase()) ?? null;
}

/**
 * MSAL's errors, as a person needs them. Only the error code and the AADSTS number are kept as detail:
 * the rest of an identity server's message can carry trace IDs and is never needed to act.
 */
function toAuthError(error: unknown, user: string): Pst2ImapError {
  if (error instanceof Pst2ImapError) return error;
  if (!(error instanceof AuthError)) {
    return new Pst2ImapError('E_AUTH', { server: 'Microsoft', user, what: String(error) });
  }
  const aadsts = /AADSTS\d+/.exec(error.errorMessage ?? '')?.[0];
  const detail = [error.errorCode, aadsts].filter(Boolean).join(' ');
  if (error instanceof InteractionRequiredAuthError || error.errorCode === 'invalid_grant') {
    return new Pst2ImapError('E_AUTH_LOGIN_NEEDED', { user, why: 'refresh refused' }, { detail });
  }
  // Errors of the device-code poll come as 'post_request_failed' with the server's code in the message.
  const serverCode =
    error.errorCode === 'post_request_failed'
      ? (/(authorization_declined|access_denied|expired_token|bad_verification_code)/.exec(error.errorMessage)?.[1] ?? '')
      : error.errorCode;
  switch (serverCode) {
    case 'expired_token':
    case 'device_code_expired':
    case 'bad_verification_code':
      return new Pst2ImapError('E_AUTH_CODE_EXPIRED', { user }, { detail });
    case 'authorization_declined':
    case 'access_denied':
      return new Pst2ImapError('E_AUTH_DECLINED', { user }, { detail });
    case 'invalid_client':
    case 'unauthorized_client':
      return new Pst2ImapError('E_AUTH_CLIENT_REJECTED', {}, { detail });
  }
  // AADSTS700016: application not found in the directory; AADSTS7000218: public client flows are off.
  if (aadsts === 'AADSTS700016' || aadsts === 'AADSTS7000218' || aadsts === 'AADSTS50059') {
    return new Pst2ImapError('E_AUTH_CLIENT_REJECTED', {}, { detail });
  }
  return new Pst2ImapError('E_AUTH', { server: 'Microsoft', user, what: error.errorCode || 'refused' }, { detail });
}
