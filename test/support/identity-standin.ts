/**
 * A local stand-in of the Microsoft identity platform endpoints that MSAL uses for the device-code flow
 * (OpenID discovery, /devicecode, /token) on a loopback port, and an MSAL network client that sends
 * MSAL's requests for login.microsoftonline.com there. MSAL itself runs unchanged: only the host differs.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { INetworkModule, NetworkResponse } from '@azure/msal-node';

export type DeviceOutcome = 'approve' | 'decline' | 'expire';

interface PendingDevice {
  polls: number;
  outcome: DeviceOutcome;
  username: string;
}

export interface IdentityStandIn {
  url: string;
  networkClient: INetworkModule;
  /** What the next device code leads to, after how many 'authorization_pending' polls, for whom. */
  nextDevice: { outcome: DeviceOutcome; pendingPolls: number; username: string };
  /** Refresh tokens the server will refuse (revoked), and how many refreshes were done. */
  revokedRefreshTokens: Set<string>;
  issued: { accessTokens: string[]; refreshTokens: string[]; refreshes: number };
  /** Every request body seen, to check what was (not) sent. */
  requests: Array<{ path: string; body: string }>;
  close(): Promise<void>;
}

const TENANT_ID = '9188040d-6c67-4c5b-b112-36a304b66dad'; // the consumers tenant

function base64url(value: string | Buffer): string {
  return Buffer.from(value).toString('base64url');
}

function idToken(clientId: string, username: string, oid: string): string {
  const now = Math.floor(Date.now() / 1000);
  const payload = {
    aud: clientId,
    iss: `https://login.microsoftonline.com/${TENANT_ID}/v2.0`,
    iat: now,
    nbf: now,
    exp: now + 3600,
    name: username,
    oid,
    preferred_username: username,
    sub: `sub-${oid}`,
    tid: TENANT_ID,
    ver: '2.0',
  };
  return `${base64url(JSON.stringify({ alg: 'none', typ: 'JWT' }))}.${base64url(JSON.stringify(payload))}.`;
}

async function bodyOf(request: IncomingMessage): Promise<string> {
  let body = '';
  for await (const chunk of request) body += chunk;
  return body;
}

export async function startIdentityStandIn(options: { accessTokenLifetime?: number } = {}): Promise<IdentityStandIn> {
  const devices = new Map<string, PendingDevice>();
  const refreshOwners = new Map<string, string>();
  let counter = 0;
  const lifetime = options.accessTokenLifetime ?? 3600;

  const standIn: IdentityStandIn = {
    url: '',
    networkClient: undefined as unknown as INetworkModule,
    nextDevice: { outcome: 'approve', pendingPolls: 1, username: 'alice@outlook.com' },
    revokedRefreshTokens: new Set(),
    issued: { accessTokens: [], refreshTokens: [], refreshes: 0 },
    requests: [],
    close: async () => {},
  };

  const tokens = (clientId: string, username: string) => {
    counter += 1;
    const accessToken = `access-${counter}-${username}`;
    const refreshToken = `refresh-${counter}-${username}`;
    standIn.issued.accessTokens.push(accessToken);
    standIn.issued.refreshTokens.push(refreshToken);
    refreshOwners.set(refreshToken, username);
    const oid = `00000000-0000-0000-0000-${String(username.length).padStart(12, '0')}`;
    return {
      token_type: 'Bearer',
      scope: 'https://outlook.office.com/IMAP.AccessAsUser.All openid profile offline_access',
      expires_in: lifetime,
      ext_expires_in: lifetime,
      access_token: accessToken,
      refresh_token: refreshToken,
      id_token: idToken(clientId, username, oid),
      client_info: base64url(JSON.stringify({ uid: oid, utid: TENANT_ID })),
    };
  };

  const server: Server = createServer(async (request, response) => {
    const url = new URL(request.url ?? '/', 'http://standin');
    const body = request.method === 'POST' ? await bodyOf(request) : '';
    standIn.requests.push({ path: url.pathname, body });
    const reply = (status: number, json: unknown) => {
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(json));
    };
    const tenant = url.pathname.split('/')[1];
    const issuerBase = `https://login.microsoftonline.com/${tenant}`;
    if (url.pathname.endsWith('/discovery/instance')) {
      return reply(200, {
        tenant_discovery_endpoint: `${issuerBase}/v2.0/.well-known/openid-configuration`,
        'api-version': '1.1',
        metadata: [
          {
            preferred_network: 'login.microsoftonline.com',
            preferred_cache: 'login.windows.net',
            aliases: ['login.microsoftonline.com', 'login.windows.net', 'login.microsoft.com'],
          },
        ],
      });
    }
    if (url.pathname.endsWith('/.well-known/openid-configuration')) {
      return reply(200, {
        token_endpoint: `${issuerBase}/oauth2/v2.0/token`,
        device_authorization_endpoint: `${issuerBase}/oauth2/v2.0/devicecode`,
        authorization_endpoint: `${issuerBase}/oauth2/v2.0/authorize`,
        end_session_endpoint: `${issuerBase}/oauth2/v2.0/logout`,
        jwks_uri: `${issuerBase}/discovery/v2.0/keys`,
        issuer: `https://login.microsoftonline.com/{tenantid}/v2.0`,
        response_types_supported: ['code'],
      });
    }
    const form = new URLSearchParams(body);
    const clientId = form.get('client_id') ?? '';
    if (url.pathname.endsWith('/oauth2/v2.0/devicecode')) {
      counter += 1;
      const deviceCode = `device-${counter}`;
      devices.set(deviceCode, { polls: 0, ...standIn.nextDevice });
      return reply(200, {
        user_code: `CODE${counter}`,
        device_code: deviceCode,
        verification_uri: 'https://microsoft.com/devicelogin',
        expires_in: 900,
        interval: 1,
        message: `To sign in, use a web browser to open the page https://microsoft.com/devicelogin and enter the code CODE${counter} to authenticate.`,
      });
    }
    if (url.pathname.endsWith('/oauth2/v2.0/token')) {
      const grant = form.get('grant_type');
      if (grant === 'device_code' || grant === 'urn:ietf:params:oauth:grant-type:device_code') {
        const device = devices.get(form.get('device_code') ?? '');
        if (!device) return reply(400, { error: 'bad_verification_code', error_description: 'AADSTS70019' });
        device.polls += 1;
        if (device.polls <= standIn.nextDevice.pendingPolls) {
          return reply(400, { error: 'authorization_pending', error_description: 'AADSTS70016: pending' });
        }
        if (device.outcome === 'decline') {
          return reply(400, { error: 'authorization_declined', error_description: 'AADSTS70000: declined' });
        }
        if (device.outcome === 'expire') {
          return reply(400, { error: 'expired_token', error_description: 'AADSTS70019: expired' });
        }
        return reply(200, tokens(clientId, device.username));
      }
      if (grant === 'refresh_token') {
        const refreshToken = form.get('refresh_token') ?? '';
        const owner = refreshOwners.get(refreshToken);
        if (!owner || standIn.revokedRefreshTokens.has(refreshToken)) {
          return reply(400, {
            error: 'invalid_grant',
            error_description: 'AADSTS70008: The refresh token has expired or is invalid.',
            error_codes: [70008],
          });
        }
        standIn.issued.refreshes += 1;
        return reply(200, tokens(clientId, owner));
      }
      return reply(400, { error: 'unsupported_grant_type' });
    }
    reply(404, { error: 'not_found' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  standIn.url = `http://127.0.0.1:${port}`;

  const send = async <T>(method: 'GET' | 'POST', target: string, body?: string, headers?: Record<string, string>) => {
    const local = target.replace(/^https:\/\/login\.microsoftonline\.com/, standIn.url);
    if (local === target) throw new Error(`the stand-in refuses to send ${target} anywhere but loopback`);
    const result = await fetch(local, { method, body, headers });
    const responseHeaders: Record<string, string> = {};
    result.headers.forEach((value, key) => (responseHeaders[key] = value));
    return { status: result.status, headers: responseHeaders, body: (await result.json()) as T } as NetworkResponse<T>;
  };
  standIn.networkClient = {
    sendGetRequestAsync: (url, options) => send('GET', url, undefined, options?.headers),
    sendPostRequestAsync: (url, options) => send('POST', url, options?.body, options?.headers),
  };
  standIn.close = () => new Promise((resolve) => server.close(() => resolve()));
  return standIn;
}
