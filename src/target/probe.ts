/**
 * A read-only look at an IMAP server for `plan --to`: its capabilities, delimiter, special-use folders
 * (RFC 6154) and how many messages each mailbox holds. Only LIST and STATUS are sent: nothing is
 * created, selected for writing or appended.
 */
import { isIP } from 'node:net';
import { ImapFlow } from 'imapflow';
import { Pst2ImapError, UsageError } from '../errors.js';
import { t } from '../i18n/index.js';
import type { FolderRole } from '../pst/types.js';
import type { ServerFacts } from '../plan/types.js';
import type { ImapConnectionOptions, TargetUrl } from './types.js';

const SPECIAL_USE: Record<string, FolderRole> = {
  '\\Inbox': 'inbox',
  '\\Sent': 'sent',
  '\\Drafts': 'drafts',
  '\\Trash': 'trash',
  '\\Junk': 'junk',
  '\\Archive': 'archive',
};

/** `imaps://host[:993]`, `imap://host[:143]` or `maildir:DIR`. */
export function parseTargetUrl(value: string): TargetUrl {
  if (value.startsWith('maildir:')) {
    const dir = value.slice('maildir:'.length);
    if (dir) return { kind: 'maildir', dir, url: value };
  } else {
    const match = /^(imaps?):\/\/([^/:@\s]+|\[[0-9a-f:]+\])(?::(\d{1,5}))?\/?$/i.exec(value);
    if (match) {
      const secure = match[1].toLowerCase() === 'imaps';
      const port = match[3] ? Number(match[3]) : secure ? 993 : 143;
      if (port > 0 && port < 65536) {
        const host = match[2].replace(/^\[|\]$/g, '');
        return { kind: 'imap', host, port, secure, url: `${secure ? 'imaps' : 'imap'}://${match[2]}:${port}` };
      }
    }
  }
  throw new UsageError({ problem: t('usage.badTarget', { value }) });
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || (isIP(host) === 4 && host.startsWith('127.')) || host === '::1';
}

/** imapflow's options for a connection, with its logger off: its debug output can carry credentials. */
export function imapFlowOptions(connection: ImapConnectionOptions): ConstructorParameters<typeof ImapFlow>[0] {
  return {
    host: connection.host,
    port: connection.port,
    secure: connection.secure,
    // Off loopback a password never goes out unencrypted: STARTTLS is required unless allowed.
    doSTARTTLS: connection.secure ? undefined : isLoopback(connection.host) || connection.allowPlaintext ? undefined : true,
    auth:
      'password' in connection.auth
        ? { user: connection.user, pass: connection.auth.password }
        : { user: connection.user, accessToken: connection.auth.accessToken },
    tls: { rejectUnauthorized: connection.verifyCertificate },
    logger: false,
    connectionTimeout: connection.timeoutMs,
    greetingTimeout: connection.timeoutMs,
    disableAutoIdle: true,
  };
}

/** A server's refusal or a network failure, as one of our errors; the server's words kept verbatim. */
export function toTargetError(error: unknown, connection: ImapConnectionOptions): Pst2ImapError {
  if (error instanceof Pst2ImapError) return error;
  const server = `${connection.host}:${connection.port}`;
  const failure = error as { code?: string; message?: string; authenticationFailed?: boolean; responseText?: string; serverResponseCode?: string };
  const words = failure.responseText ?? failure.message ?? String(error);
  if (failure.authenticationFailed || failure.serverResponseCode === 'AUTHENTICATIONFAILED') {
    return new Pst2ImapError('E_AUTH', { server, user: connection.user, what: t('target.authRefused') }, { cause: error, detail: words });
  }
  const code = failure.code ?? '';
  if (/^(ERR_TLS|ERR_SSL|CERT_|DEPTH_ZERO|SELF_SIGNED|UNABLE_TO_VERIFY)/.test(code) || /certificate|TLS|SSL/i.test(failure.message ?? '')) {
    return new Pst2ImapError('E_TLS', { server, what: failure.message ?? code }, { cause: error });
  }
  if (/^(ECONNREFUSED|ETIMEDOUT|ENOTFOUND|EHOSTUNREACH|ENETUNREACH|ECONNRESET|EAI_AGAIN|NoConnection|CONNECT_TIMEOUT|GREETING_TIMEOUT|EConnectionClosed)$/i.test(code)) {
    return new Pst2ImapError('E_CONNECT', { server, what: code }, { cause: error });
  }
  return new Pst2ImapError('E_TARGET', { server, what: words }, { cause: error });
}

export async function probeServer(connection: ImapConnectionOptions): Promise<ServerFacts> {
  const client = new ImapFlow(imapFlowOptions(connection));
  // imapflow also reports socket trouble as an 'error' event: it is answered by the awaited call.
  client.on('error', () => {});
  try {
    await client.connect();
    return await readServerFacts(client, { counts: true });
  } catch (error) {
    throw toTargetError(error, connection);
  } finally {
    await client.logout().catch(() => client.close());
  }
}

/**
 * What a signed-in connection advertises: capabilities, delimiter, special-use folders and mailboxes
 * (with their message counts when `counts`). Special folders are those the server flags with a
 * special-use attribute (RFC 6154); imapflow's guesses from folder names are not taken, since a
 * folder merely called "Sent" may be nothing of the kind.
 */
export async function readServerFacts(client: ImapFlow, options: { counts: boolean }): Promise<ServerFacts> {
  const capabilities = [...client.capabilities.keys()];
  const mailboxes = await client.list(options.counts ? { statusQuery: { messages: true } } : {});
  const appendLimit = client.capabilities.get('APPENDLIMIT');
  const facts: ServerFacts = {
    delimiter: mailboxes.find((mailbox) => mailbox.delimiter)?.delimiter ?? '/',
    specialUse: {},
    mailboxes: {},
    utf8Accept: client.capabilities.has('UTF8=ACCEPT'),
    appendLimit: typeof appendLimit === 'number' && appendLimit > 0 ? appendLimit : null,
    reservedNames: [],
    maxNameLength: null,
    capabilities,
  };
  for (const mailbox of mailboxes) {
    facts.mailboxes[mailbox.path] = mailbox.status?.messages ?? null;
    const role = mailbox.specialUse && mailbox.specialUseSource === 'extension' ? SPECIAL_USE[mailbox.specialUse] : undefined;
    if (role && !facts.specialUse[role]) facts.specialUse[role] = mailbox.path;
  }
  facts.specialUse.inbox ??= 'INBOX';
  return facts;
}
