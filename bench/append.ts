/**
 * APPEND throughput of IMAP clients, one mailbox per connection:
 * - imapflow (with the project's install-time patch: LITERAL+ for literals of any size), one `append()`
 *   at a time per connection: what a client that does not pipeline reaches, one round trip per message;
 * - pst2imap's own IMAP target (src/target/imap.ts), the sessions `migrate` uploads through, with its
 *   APPENDs pipelined (up to `depth` unanswered per connection) as mbsync pipelines its own.
 */
import { performance } from 'node:perf_hooks';
import { ImapFlow } from 'imapflow';
import { ImapTarget } from '../src/target/imap.js';
import type { MessageSet } from './mail.js';

export interface ImapAccount {
  host: '127.0.0.1';
  port: number;
  user: string;
  password: string;
}

export interface AppendRun {
  client: string;
  connections: number;
  messages: number;
  bytes: number;
  /** From the first APPEND written to the last one answered. */
  seconds: number;
  messagesPerSecond: number;
  mbPerSecond: number;
  /** From before connecting to after the last answer: connect, greeting, login, CREATE included, as
   * in an mbsync run (which also starts a process and reads its Maildir). */
  wholeSeconds: number;
  wholeMessagesPerSecond: number;
}

/** `sequential`: one APPEND at a time per connection; `queued`: every APPEND of a connection handed to
 *  imapflow at once (without the pipelining option imapflow still sends them one at a time). */
export type ImapflowMode = 'sequential' | 'queued';

function summary(client: string, connections: number, sets: MessageSet[], seconds: number, wholeSeconds: number): AppendRun {
  const messages = sets.reduce((sum, s) => sum + s.count, 0);
  const bytes = sets.reduce((sum, s) => sum + s.bytes, 0);
  return {
    client,
    connections,
    messages,
    bytes,
    seconds,
    messagesPerSecond: messages / seconds,
    mbPerSecond: bytes / 1024 / 1024 / seconds,
    wholeSeconds,
    wholeMessagesPerSecond: messages / wholeSeconds,
  };
}

function imapflowClient(account: ImapAccount): ImapFlow {
  return new ImapFlow({
    host: account.host,
    port: account.port,
    secure: false,
    auth: { user: account.user, pass: account.password },
    logger: false,
    disableAutoIdle: true,
  });
}

/**
 * One imapflow connection per set, each appending its set's folders (prefixed) in order. Connecting and
 * creating the mailboxes happen before the clock starts; the clock stops when the last APPEND is answered.
 */
export async function appendWithImapflow(account: ImapAccount, sets: MessageSet[], prefix: string, mode: ImapflowMode): Promise<AppendRun> {
  const whole = performance.now();
  const clients = sets.map(() => imapflowClient(account));
  try {
    await Promise.all(clients.map((c) => c.connect()));
    for (let i = 0; i < sets.length; i++) {
      for (const folder of sets[i].folders.keys()) await clients[i].mailboxCreate(`${prefix}${i}-${folder}`);
    }
    const started = performance.now();
    await Promise.all(
      sets.map(async (set, i) => {
        const client = clients[i];
        for (const [folder, messages] of set.folders) {
          const path = `${prefix}${i}-${folder}`;
          if (mode !== 'queued') {
            for (const message of messages) {
              const result = await client.append(path, message, ['\\Seen'], new Date(Date.UTC(2020, 0, 1)));
              if (!result) throw new Error('imapflow append returned nothing');
            }
          } else {
            const results = await Promise.all(messages.map((m) => client.append(path, m, ['\\Seen'], new Date(Date.UTC(2020, 0, 1)))));
            if (results.some((r) => !r)) throw new Error('imapflow append returned nothing');
          }
        }
      }),
    );
    const now = performance.now();
    return summary(`imapflow (${mode})`, sets.length, sets, (now - started) / 1000, (now - whole) / 1000);
  } finally {
    await Promise.all(clients.map((c) => c.logout().catch(() => c.close())));
  }
}

/**
 * pst2imap's IMAP target, one session (connection) per set, every APPEND of a set handed to it at once:
 * the session pipelines up to `depth` of them (as the engine's pool lets it). Connecting and creating the
 * mailboxes happen before the clock starts; the clock stops when the last APPEND is answered.
 */
export async function appendWithTarget(account: ImapAccount, sets: MessageSet[], prefix: string, depth: number): Promise<AppendRun> {
  const whole = performance.now();
  const target = new ImapTarget({
    connection: { host: account.host, port: account.port, secure: false, user: account.user, verifyCertificate: true, allowPlaintext: false, timeoutMs: 30_000 },
    credentials: async () => ({ password: account.password }),
    url: `imap://${account.host}:${account.port}`,
    storeFlaggedAfterAppend: false,
    pipelineDepth: depth,
  });
  const sessions = await Promise.all(sets.map(() => target.open()));
  try {
    // As the engine does: every mailbox at once (each connection pipelines its CREATEs).
    await Promise.all(sets.flatMap((set, i) => [...set.folders.keys()].map((folder) => sessions[i].ensureMailbox(`${prefix}${i}-${folder}`))));
    const started = performance.now();
    await Promise.all(
      sets.map(async (set, i) => {
        const session = sessions[i];
        const inFlight = new Set<Promise<unknown>>();
        for (const [folder, messages] of set.folders) {
          for (const bytes of messages) {
            // At most `depth` handed over at once, as the engine's session pool does.
            if (inFlight.size >= session.depth) await Promise.race(inFlight);
            const answer = session.append({ mailbox: `${prefix}${i}-${folder}`, bytes, flags: ['\\Seen'], internalDate: new Date(Date.UTC(2020, 0, 1)) });
            inFlight.add(answer);
            void answer.then(
              () => inFlight.delete(answer),
              () => inFlight.delete(answer),
            );
          }
        }
        await Promise.all(inFlight);
      }),
    );
    const now = performance.now();
    return summary(`pst2imap target (pipelined, depth ${depth})`, sets.length, sets, (now - started) / 1000, (now - whole) / 1000);
  } finally {
    await Promise.all(sessions.map((session) => session.close()));
  }
}

/** Messages in a mailbox, as the server counts them (STATUS), to check that a run stored everything. */
export async function countMessages(account: ImapAccount, paths: string[]): Promise<number> {
  const client = imapflowClient(account);
  await client.connect();
  try {
    let total = 0;
    for (const path of paths) {
      const status = await client.status(path, { messages: true });
      total += status ? (status.messages ?? 0) : 0;
    }
    return total;
  } finally {
    await client.logout().catch(() => client.close());
  }
}

/** Every mailbox under a prefix (for the check after mbsync, which names them itself). */
export async function listMailboxes(account: ImapAccount, prefix: string): Promise<string[]> {
  const client = imapflowClient(account);
  await client.connect();
  try {
    const boxes = await client.list();
    return boxes.map((b) => b.path).filter((p) => p.startsWith(prefix));
  } finally {
    await client.logout().catch(() => client.close());
  }
}
