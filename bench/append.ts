/**
 * APPEND throughput of IMAP clients, one mailbox per connection:
 * - imapflow as published (the client src/target uses), one `append()` at a time per connection, or every
 *   append of a connection queued at once (what its public API allows);
 * - a bench-only raw client that pipelines APPENDs with non-synchronising literals (RFC 7888 LITERAL+),
 *   as mbsync does: the bound a client can reach over one connection at a given round trip. It is not
 *   the engine; it shows what closing the gap would give.
 */
import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { ImapFlow } from 'imapflow';
import compiler from 'imapflow/lib/handler/imap-compiler.js';
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

/** `literal-plus`: sequential, with the one-line change to imapflow described in BENCHMARKS.md. */
export type ImapflowMode = 'sequential' | 'queued' | 'literal-plus';

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

/**
 * The experiment behind BENCHMARKS.md's note on literals: imapflow's `send()` (dist/esm/imap-flow.js)
 * compiles every command with `literalMinus` only, so a literal over 4096 bytes waits for the server's
 * "+" even when the server offers LITERAL+. This subclass does what that call would do with
 * `literalPlus: this.capabilities.has('LITERAL+')` added, nothing else (no logging, no raw-log
 * classification: bench only). One command is still in flight at a time.
 */
interface ImapFlowInternals {
  capabilities: Map<string, unknown>;
  commandParts: Buffer[];
  currentRequest: { tag: string; sent?: boolean } | false;
  write(chunk: Buffer | undefined): void;
}
class LiteralPlusImapFlow extends ImapFlow {}
Object.defineProperty(LiteralPlusImapFlow.prototype, 'send', {
  value: async function send(this: ImapFlowInternals, data: { tag: string; command: string; attributes?: unknown; options?: { onSend?: () => void } }) {
    const compiled = compiler(data as Parameters<typeof compiler>[0], {
      asArray: true,
      literalPlus: this.capabilities.has('LITERAL+'),
      literalMinus: this.capabilities.has('LITERAL-') || this.capabilities.has('LITERAL+'),
    });
    this.commandParts = compiled;
    this.write(this.commandParts.shift());
    if (this.currentRequest && this.currentRequest.tag === data.tag) this.currentRequest.sent = true;
    data.options?.onSend?.();
  },
});

function imapflowClient(account: ImapAccount, literalPlus = false): ImapFlow {
  const Client = literalPlus ? LiteralPlusImapFlow : ImapFlow;
  return new Client({
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
  const clients = sets.map(() => imapflowClient(account, mode === 'literal-plus'));
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

/** A line-oriented minimal IMAP session for the bench: tagged answers are awaited by tag. */
class RawSession {
  private buffer = '';
  private readonly waiting = new Map<string, { resolve: (line: string) => void; reject: (error: Error) => void }>();
  private greeting: Promise<void>;
  private tagCounter = 0;
  private failure: Error | null = null;

  constructor(private readonly socket: Socket) {
    let greeted: () => void = () => undefined;
    this.greeting = new Promise((resolve) => (greeted = resolve));
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      this.buffer += chunk.toString('latin1');
      // Bounded: one pass per complete line in the buffer.
      for (let at = this.buffer.indexOf('\r\n'); at >= 0; at = this.buffer.indexOf('\r\n')) {
        const line = this.buffer.slice(0, at);
        this.buffer = this.buffer.slice(at + 2);
        if (line.startsWith('* OK') && this.tagCounter === 0) greeted();
        const tag = line.slice(0, line.indexOf(' '));
        const waiter = this.waiting.get(tag);
        if (waiter) {
          this.waiting.delete(tag);
          if (/^\S+ OK/i.test(line)) waiter.resolve(line);
          else waiter.reject(new Error(`server said: ${line}`));
        }
      }
    });
    const fail = (error: Error): void => {
      this.failure = error;
      for (const waiter of this.waiting.values()) waiter.reject(error);
      this.waiting.clear();
    };
    socket.on('error', fail);
    socket.on('close', () => fail(new Error('connection closed')));
  }

  ready(): Promise<void> {
    return this.greeting;
  }

  /** Writes a command (and its literal, if any) and resolves on its tagged OK. */
  command(text: string, literal?: Buffer): Promise<string> {
    if (this.failure) return Promise.reject(this.failure);
    const tag = `b${++this.tagCounter}`;
    const answer = new Promise<string>((resolve, reject) => this.waiting.set(tag, { resolve, reject }));
    if (literal) {
      this.socket.write(`${tag} ${text} {${literal.length}+}\r\n`);
      this.socket.write(literal);
      this.socket.write('\r\n');
    } else {
      this.socket.write(`${tag} ${text}\r\n`);
    }
    return answer;
  }

  end(): void {
    this.socket.end();
  }
}

async function rawSession(account: ImapAccount): Promise<RawSession> {
  const socket = connect({ host: account.host, port: account.port });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('error', reject);
  });
  const session = new RawSession(socket);
  await session.ready();
  await session.command(`LOGIN "${account.user}" "${account.password}"`);
  return session;
}

/**
 * APPENDs pipelined with LITERAL+ (the server must offer it: Dovecot and Outlook.com do), at most
 * `window` unanswered per connection (mbsync's default PipelineDepth is unlimited).
 */
export async function appendPipelined(account: ImapAccount, sets: MessageSet[], prefix: string, window: number): Promise<AppendRun> {
  const whole = performance.now();
  const sessions = await Promise.all(sets.map(() => rawSession(account)));
  try {
    for (let i = 0; i < sets.length; i++) {
      for (const folder of sets[i].folders.keys()) await sessions[i].command(`CREATE "${prefix}${i}-${folder}"`);
    }
    const started = performance.now();
    await Promise.all(
      sets.map(async (set, i) => {
        const session = sessions[i];
        const inFlight = new Set<Promise<string>>();
        for (const [folder, messages] of set.folders) {
          for (const message of messages) {
            // Bounded: waits for one answer whenever the window is full.
            if (inFlight.size >= window) await Promise.race(inFlight);
            const answer = session.command(`APPEND "${prefix}${i}-${folder}" (\\Seen) "01-Jan-2020 00:00:00 +0000"`, message);
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
    return summary(`raw pipelined LITERAL+ (window ${window})`, sets.length, sets, (now - started) / 1000, (now - whole) / 1000);
  } finally {
    for (const session of sessions) session.end();
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
