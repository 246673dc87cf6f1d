/**
 * Helpers for migration tests: engine options with sane test defaults, and what a Dovecot account holds
 * (per mailbox: Message-IDs, counts), read with a plain imapflow client of the test's own.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ImapFlow } from 'imapflow';
import type { MigrateOptions } from '../../src/engine/migrate.js';
import { ImapTarget, type CredentialSource } from '../../src/target/imap.js';
import { PROVIDERS } from '../../src/target/providers.js';
import { messageIdOfHeaders } from '../../src/target/target.js';
import type { SelectionOptions } from '../../src/plan/types.js';

export const everything: SelectionOptions = {
  folders: [],
  exclude: [],
  targetRoot: '',
  map: [],
  mergeSpecial: true,
  since: null,
  before: null,
  maxSize: null,
};

/**
 * `tls`: implicit TLS (a test server's `tlsPort`), its certificate not checked: the test's self-signed
 * certificate is trusted only through NODE_EXTRA_CA_CERTS, which a process reads when it starts.
 */
export function imapTarget(
  port: number,
  user: string,
  credentials: CredentialSource,
  options: { host?: string; commandTimeoutMs?: number; storeFlaggedAfterAppend?: boolean; pipelineDepth?: number; tls?: boolean } = {},
): ImapTarget {
  const host = options.host ?? '127.0.0.1';
  const tls = options.tls ?? false;
  return new ImapTarget({
    connection: { host, port, secure: tls, user, verifyCertificate: !tls, allowPlaintext: false, timeoutMs: 5000 },
    credentials,
    url: `${tls ? 'imaps' : 'imap'}://${host}:${port}`,
    storeFlaggedAfterAppend: options.storeFlaggedAfterAppend ?? false,
    commandTimeoutMs: options.commandTimeoutMs ?? 5000,
    pipelineDepth: options.pipelineDepth,
  });
}

export function migrateOptions(overrides: Partial<MigrateOptions> & Pick<MigrateOptions, 'pstPath' | 'target'>): MigrateOptions {
  const generic = PROVIDERS.generic;
  return {
    selection: everything,
    provider: { messageLimit: generic.messageLimit, reservedNames: generic.facts.reservedNames, maxNameLength: generic.facts.maxNameLength },
    statePath: join(mkdtempSync(join(tmpdir(), 'pst2imap-state-')), 'state.db'),
    connections: 2,
    rate: null,
    bandwidth: null,
    batchSize: 10,
    limit: null,
    limitBytes: null,
    pauseBetweenBatchesMs: 0,
    skipExisting: false,
    maxAttempts: 4,
    retryDelayMs: 20,
    maxRetryDelayMs: 200,
    jobOptions: {},
    reportDir: null,
    ...overrides,
  };
}

/** Mailbox -> Message-IDs of its messages (one entry per message, sorted). */
export async function serverContents(port: number, user: string, password: string): Promise<Map<string, string[]>> {
  const client = new ImapFlow({ host: '127.0.0.1', port, secure: false, auth: { user, pass: password }, logger: false });
  await client.connect();
  const contents = new Map<string, string[]>();
  try {
    for (const mailbox of await client.list()) {
      if (mailbox.flags.has('\\Noselect') || mailbox.flags.has('\\NonExistent')) continue;
      const lock = await client.getMailboxLock(mailbox.path, { readOnly: true });
      const ids: string[] = [];
      try {
        if ((client.mailbox && client.mailbox.exists) || 0) {
          for await (const message of client.fetch('1:*', { uid: true, headers: ['message-id'] })) {
            ids.push(messageIdOfHeaders(message.headers?.toString('utf8') ?? ''));
          }
        }
      } finally {
        lock.release();
      }
      contents.set(mailbox.path, ids.sort());
    }
  } finally {
    await client.logout();
  }
  return contents;
}

/** A message as the server holds it: the SHA-256 of its bytes, its size, flags (without \Recent) and date. */
export interface StoredMessage {
  sha: string;
  size: number;
  flags: string[];
  date: number;
}

/**
 * UID -> each message of `mailbox` as the server holds it (none when the mailbox is empty). `tls`: over
 * implicit TLS, as imapTarget's (a server with TLS also offers STARTTLS on its plain port, which a client
 * takes, checking the certificate).
 */
export async function storedMessages(port: number, user: string, password: string, mailbox: string, options: { tls?: boolean } = {}): Promise<Map<number, StoredMessage>> {
  const tls = options.tls ?? false;
  const client = new ImapFlow({ host: '127.0.0.1', port, secure: tls, ...(tls ? { tls: { rejectUnauthorized: false } } : {}), auth: { user, pass: password }, logger: false });
  await client.connect();
  const found = new Map<number, StoredMessage>();
  try {
    const lock = await client.getMailboxLock(mailbox, { readOnly: true });
    try {
      if (client.mailbox && client.mailbox.exists > 0) {
        for await (const fetched of client.fetch('1:*', { uid: true, source: true, flags: true, internalDate: true })) {
          found.set(fetched.uid, {
            sha: createHash('sha256').update(fetched.source!).digest('hex'),
            size: fetched.source!.length,
            flags: [...(fetched.flags ?? [])].filter((flag) => flag !== '\\Recent').sort(),
            date: new Date(fetched.internalDate!).getTime(),
          });
        }
      }
    } finally {
      lock.release();
    }
  } finally {
    await client.logout();
  }
  return found;
}

/** Message-IDs that occur more than once in a list. */
export function duplicates(ids: string[]): string[] {
  return ids.filter((id, index) => ids.indexOf(id) !== index);
}

/** Folder (relative path of each directory holding cur/) -> Message-IDs of its messages, sorted. */
export function maildirContents(root: string): Map<string, string[]> {
  const contents = new Map<string, string[]>();
  const visit = (dir: string, path: string[]) => {
    const names = readdirSync(dir);
    if (names.includes('cur')) {
      const ids: string[] = [];
      for (const sub of ['cur', 'new']) {
        for (const name of readdirSync(join(dir, sub))) {
          const text = readFileSync(join(dir, sub, name), 'latin1');
          ids.push(messageIdOfHeaders(text.slice(0, text.search(/\r?\n\r?\n/))));
        }
      }
      contents.set(path.join('/'), ids.sort());
    }
    for (const name of names) {
      if (['cur', 'new', 'tmp'].includes(name)) continue;
      if (statSync(join(dir, name)).isDirectory()) visit(join(dir, name), [...path, name]);
    }
  };
  if (existsSync(root)) visit(root, []);
  return contents;
}
