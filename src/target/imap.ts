/**
 * An IMAP account as a Target, over imapflow. Each session is one connection, signed in with credentials
 * asked for at connect time: a reconnect after a dropped connection gets a fresh OAuth2 token.
 */
import type { Socket } from 'node:net';
import { ImapFlow } from 'imapflow';
import { redactSecrets } from '../checkpoint/redact.js';
import { Pst2ImapError } from '../errors.js';
import type { ServerFacts } from '../plan/types.js';
import { imapFlowOptions, readServerFacts, toTargetError } from './probe.js';
import {
  TargetFailure,
  messageIdOfHeaders,
  normalizeMessageId,
  type AppendRequest,
  type StoredAt,
  type Target,
  type TargetSession,
} from './target.js';
import type { ImapConnectionOptions } from './types.js';

export type Credentials = { password: string } | { accessToken: string };

/**
 * Where credentials come from. `refresh`: the server refused the last ones; for OAuth2, get a new
 * access token even if the cached one looks valid (the server knows better).
 */
export type CredentialSource = (options: { refresh: boolean }) => Promise<Credentials>;

export interface ImapTargetOptions {
  connection: Omit<ImapConnectionOptions, 'auth'>;
  credentials: CredentialSource;
  /** `imaps://host:port`, as stored in the checkpoint store. */
  url: string;
  /** Outlook.com drops \Flagged given with APPEND, so it is set with UID STORE afterwards. */
  storeFlaggedAfterAppend: boolean;
  /** No answer to a command within this time: the connection is given up (a stalled server). */
  commandTimeoutMs?: number;
  /**
   * APPENDs sent on a connection without waiting for the answers to the ones before (pipelining), where
   * the server offers LITERAL+ (RFC 7888); 1: one at a time. Default DEFAULT_PIPELINE_DEPTH.
   */
  pipelineDepth?: number;
}

const DEFAULT_COMMAND_TIMEOUT_MS = 120_000;
/**
 * Deep enough that one connection is not bound by the round trip: 128 messages per round trip (the engine
 * has at most two batches out, 100 messages by default). 300 messages of 20 KB at 100 ms: 0.65 s of APPENDs
 * at 128, 1.20 s at 32.
 */
export const DEFAULT_PIPELINE_DEPTH = 128;

/**
 * MULTIAPPEND (RFC 3502): messages for one mailbox handed to a session together (the engine hands them
 * over as a batch, or as answers free its pipeline) go out as one APPEND, which the server stores as one
 * transaction. Dovecot then syncs its index once per group instead of once per message (strace: 2
 * fdatasync and 3 open fewer per message). At most this many messages and bytes per group; the server
 * answers for all of them at once, so a group is also what a lost connection leaves unanswered.
 */
const GROUP_MESSAGES = 32;
const GROUP_BYTES = 4 * 1024 * 1024;

interface GroupMember {
  request: AppendRequest;
  resolve(stored: StoredAt): void;
  reject(error: unknown): void;
}

interface AppendGroup {
  mailbox: string;
  members: GroupMember[];
  bytes: number;
}

const CONNECTION_CODES = new Set([
  'NoConnection',
  'EConnectionClosed',
  'StateLogout',
  'ClosedAfterConnectText',
  'ClosedAfterConnectTLS',
  'CONNECT_TIMEOUT',
  'GREETING_TIMEOUT',
  'UPGRADE_TIMEOUT',
  'ETIMEOUT',
  'ETIMEDOUT',
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'UnexpectedTag',
  'MissingTag',
  'InvalidResponse',
]);

/** Turns what imapflow throws into a TargetFailure the engine can act on; the server's words kept. */
export function classifyImapError(error: unknown, connection: Omit<ImapConnectionOptions, 'auth'>): TargetFailure {
  if (error instanceof TargetFailure) return error;
  const failure = error as {
    code?: string;
    message?: string;
    responseText?: string;
    responseStatus?: string;
    serverResponseCode?: string;
    authenticationFailed?: boolean;
    throttleReset?: number;
    throttleWaited?: number;
  };
  const words = redactSecrets(
    [failure.responseStatus, failure.responseText ?? failure.message ?? String(error)].filter(Boolean).join(' '),
  );
  const code = failure.code ?? failure.serverResponseCode;
  // Outlook.com: "BAD Request is throttled. Suggested Backoff Time: 92415 milliseconds". imapflow has
  // already waited part of it (throttleWaited) before rejecting with ETHROTTLE.
  if (failure.code === 'ETHROTTLE' || /request is throttled/i.test(words)) {
    const suggested = failure.throttleReset ?? Number(/Backoff Time[:=\s]+(\d+)/i.exec(words)?.[1] ?? 0);
    const waited = failure.throttleWaited ?? 0;
    return new TargetFailure('throttled', words, { cause: error, retryAfterMs: Math.max(0, suggested - waited), code: 'ETHROTTLE' });
  }
  // Outlook.com's answer when the back end behind the front end has gone away: the session is dead.
  if (/authenticated but not connected/i.test(words)) return new TargetFailure('connection', words, { cause: error, code });
  if (failure.authenticationFailed || failure.serverResponseCode === 'AUTHENTICATIONFAILED') {
    const fatal = toTargetError(error, { ...connection, auth: { password: '' } });
    return Object.assign(new TargetFailure('auth', words, { cause: fatal, code: 'AUTHENTICATIONFAILED' }));
  }
  if (failure.responseStatus === 'BYE') return new TargetFailure('connection', words, { cause: error, code: 'BYE' });
  if (failure.responseStatus === 'NO' || failure.responseStatus === 'BAD' || failure.serverResponseCode === 'APPENDLIMIT') {
    return new TargetFailure('refused', words, { cause: error, code: failure.serverResponseCode ?? failure.responseStatus });
  }
  if (code && CONNECTION_CODES.has(code)) return new TargetFailure('connection', words, { cause: error, code });
  // Anything else is treated as a lost connection: the safe reading, since the engine then looks the
  // message up on the server before sending it again.
  return new TargetFailure('connection', words, { cause: error, code });
}

export class ImapTarget implements Target {
  readonly url: string;
  readonly user: string;
  readonly depth: number;

  constructor(private readonly options: ImapTargetOptions) {
    this.url = options.url;
    this.user = options.connection.user;
    this.depth = Math.max(1, Math.floor(options.pipelineDepth ?? DEFAULT_PIPELINE_DEPTH));
  }

  async open(): Promise<TargetSession> {
    let refresh = false;
    for (;;) {
      let credentials: Credentials;
      try {
        credentials = await this.options.credentials({ refresh });
      } catch (error) {
        // E_AUTH_LOGIN_NEEDED and friends: the user must act; nothing to retry.
        throw error instanceof Pst2ImapError ? error : new TargetFailure('auth', String(error), { cause: error });
      }
      const connection: ImapConnectionOptions = { ...this.options.connection, auth: credentials };
      const client = new ImapFlow({
        ...imapFlowOptions(connection),
        socketTimeout: Math.max(this.options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS, 10_000),
        // An option of the install-time patch (patches/imapflow+2.10.2.patch): APPEND (to a mailbox that
        // is not selected, or with UIDPLUS to the one selected read-write), CREATE and SUBSCRIBE go out
        // while the commands before still wait for answers.
        ...({ pipelining: this.depth > 1 } as object),
      });
      client.on('error', () => {});
      try {
        await withTimeout(client.connect(), this.options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS, client);
        // Pipelined APPENDs need non-synchronizing literals: without them each waits for the server's "+".
        return new ImapSession(client, this.options, client.capabilities.has('LITERAL+') ? this.depth : 1);
      } catch (error) {
        client.close();
        const failure = classifyImapError(error, this.options.connection);
        // An OAuth2 token the server no longer takes (expired early, revoked): one more try with a
        // token fetched anew; a refused refresh throws E_AUTH_LOGIN_NEEDED from the source.
        if (failure.kind === 'auth' && 'accessToken' in credentials && !refresh) {
          refresh = true;
          continue;
        }
        throw failure;
      }
    }
  }
}

/**
 * Whether EXAMINE failed because the mailbox does not exist (RFC 5530 NONEXISTENT, or the server's words
 * say so): any other refusal (a busy or locked mailbox) says nothing of what it holds.
 */
function isNonexistent(error: unknown): boolean {
  const failure = error as { responseStatus?: string; serverResponseCode?: string; responseText?: string };
  if (failure.responseStatus !== 'NO') return false;
  if (failure.serverResponseCode?.toUpperCase() === 'NONEXISTENT') return true;
  return /\b(does not exist|doesn't exist|not found|no such|unknown mailbox)\b/i.test(failure.responseText ?? '');
}

/** How often a command waiting for its answer looks whether the connection is still moving. */
const PROGRESS_CHECK_MS = 1000;
/**
 * The slowest line a migration is expected to run on, bytes per second (256 kbit/s): each byte of an
 * APPEND not yet answered adds its time at this rate to the time-out, for what waits unseen in the
 * system's buffers (a few MB, which a slow line takes long to drain).
 */
const SLOW_LINE_BYTES_PER_SECOND = 32 * 1024;

/**
 * How far the connection has got: bytes read from the server, and bytes of what was written that the
 * network has taken (written, less what still waits in the socket's buffer). Any change is progress.
 */
function progressOf(client: ImapFlow): string {
  const { socket, writeSocket } = client as unknown as { socket?: Socket | null; writeSocket?: Socket | null };
  const writer = writeSocket ?? socket;
  return `${socket?.bytesRead ?? 0}:${writer ? writer.bytesWritten - writer.writableLength : 0}`;
}

/**
 * Rejects when `promise` has not settled and the connection has made no progress (progressOf) for `ms`
 * plus the time a slow line takes for the `unansweredBytes()` of APPENDs out on it (a stalled server),
 * closing the connection. Before, a command had `ms` from when it was given, whatever it carried: a
 * 25 MB message on a 1 Mbit/s line (some 200 s) failed on every try against 120 s.
 */
async function withTimeout<T>(promise: Promise<T>, ms: number, client: ImapFlow, unansweredBytes: () => number = () => 0): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    let seen = progressOf(client);
    let movedAt = Date.now();
    const check = () => {
      const now = progressOf(client);
      if (now !== seen) {
        seen = now;
        movedAt = Date.now();
      }
      const allowed = ms + (unansweredBytes() / SLOW_LINE_BYTES_PER_SECOND) * 1000;
      const left = allowed - (Date.now() - movedAt);
      if (left <= 0) {
        client.close();
        reject(new TargetFailure('connection', `no answer within ${Math.round(allowed / 1000)} s`, { code: 'ETIMEOUT' }));
        return;
      }
      timer = setTimeout(check, Math.min(left, PROGRESS_CHECK_MS));
    };
    timer = setTimeout(check, Math.min(ms, PROGRESS_CHECK_MS));
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

class ImapSession implements TargetSession {
  private knownMailboxes: Set<string> | null = null;
  /** What the server says of itself, asked once per session (callers at the same time share the answer). */
  private serverFacts: Promise<ServerFacts> | null = null;
  private readonly timeoutMs: number;
  /** The work that selects a mailbox, one after another: a SELECT between two others' commands would
   *  pull the mailbox from under them. APPENDs pass through it only to be queued (see append()). */
  private selecting: Promise<void> = Promise.resolve();
  /** Mailboxes being created now, by path. */
  private readonly creating = new Map<string, Promise<void>>();
  /** APPENDs sent and not answered yet, by the order they were made in. */
  private readonly unanswered = new Set<number>();
  /** Bytes of the messages of the APPENDs out on this connection, not yet answered. */
  private unansweredBytes = 0;
  private appendsMade = 0;
  /**
   * The APPEND the loss of the connection is put down to: the one that was alone in flight then; 0 when
   * several were (which of them the server was busy with, if any, cannot be told).
   */
  private blamedForLoss: number | null = null;
  /** The mailbox this session selected (read-write) for the APPENDs to it, while it stays selected. */
  private selectedForAppends: string | null = null;
  /** Mailboxes the server refused to select: their APPENDs go unselected, without asking again. */
  private readonly unselectable = new Set<string>();
  /** Whether APPENDs go in groups (MULTIAPPEND): where the server offers it, on a pipelined connection. */
  private readonly grouping: boolean;
  /** The group of APPENDs filling, sent when full or once the messages handed over together are in. */
  private filling: AppendGroup | null = null;

  constructor(
    private readonly client: ImapFlow,
    private readonly options: ImapTargetOptions,
    readonly depth: number,
  ) {
    this.timeoutMs = options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
    this.grouping = depth > 1 && client.capabilities.has('MULTIAPPEND');
  }

  /** `work` with no other selecting work of this session in between. */
  private async alone<T>(work: () => Promise<T>): Promise<T> {
    const before = this.selecting;
    let done!: () => void;
    this.selecting = new Promise<void>((resolve) => (done = resolve));
    await before;
    try {
      return await work();
    } finally {
      done();
    }
  }

  get usable(): boolean {
    return this.client.usable;
  }

  private async run<T>(work: () => Promise<T>): Promise<T> {
    if (!this.client.usable) throw new TargetFailure('connection', 'the connection is closed', { code: 'NoConnection', unsent: true });
    try {
      return await withTimeout(work(), this.timeoutMs, this.client, () => this.unansweredBytes);
    } catch (error) {
      throw classifyImapError(error, this.options.connection);
    }
  }

  async facts(): Promise<ServerFacts> {
    if (!this.serverFacts) {
      const asked = this.run(() => readServerFacts(this.client, { counts: false })).then((facts) => {
        this.knownMailboxes = new Set(Object.keys(facts.mailboxes));
        return facts;
      });
      // Refused or lost, the next caller asks again.
      asked.catch(() => {
        if (this.serverFacts === asked) this.serverFacts = null;
      });
      this.serverFacts = asked;
    }
    return this.serverFacts;
  }

  async ensureMailbox(mailbox: string): Promise<void> {
    const facts = await this.facts();
    const known = this.knownMailboxes!;
    if (known.has(mailbox) || mailbox.toUpperCase() === 'INBOX') return;
    const segments = mailbox.split(facts.delimiter);
    // Parents first: servers need not create them (RFC 3501 6.3.3 says SHOULD), and one created as a
    // side effect may be \NonExistent and unsubscribed. A parent and its children are asked for one after
    // another without waiting for each other (pipelined: the server takes them in order), and so are
    // mailboxes of different branches; a parent two of them share, once.
    const levels: Array<{ path: string; creating: Promise<void> }> = [];
    for (let depth = 1; depth <= segments.length; depth++) {
      const path = segments.slice(0, depth).join(facts.delimiter);
      if (known.has(path) || path.toUpperCase() === 'INBOX') continue;
      let creating = this.creating.get(path);
      if (!creating) {
        creating = this.create(path).finally(() => this.creating.delete(path));
        this.creating.set(path, creating);
      }
      levels.push({ path, creating });
    }
    const outcomes = await Promise.allSettled(levels.map((level) => level.creating));
    levels.forEach(({ path }, index) => {
      const outcome = outcomes[index]!;
      if (outcome.status === 'rejected') throw outcome.reason;
      known.add(path);
    });
  }

  /** CREATE, which imapflow follows with SUBSCRIBE. */
  private async create(path: string): Promise<void> {
    await this.run(async () => {
      let created: boolean;
      try {
        created = (await this.client.mailboxCreate(path)).created;
      } catch (error) {
        // Made meanwhile by another connection of this run: fine (RFC 5530 ALREADYEXISTS).
        const words = `${(error as { serverResponseCode?: string }).serverResponseCode ?? ''} ${(error as { responseText?: string }).responseText ?? ''}`;
        if (!/ALREADYEXISTS|already exists/i.test(words)) throw error;
        created = false;
      }
      if (!created) await this.client.mailboxSubscribe(path);
    });
  }

  async append(request: AppendRequest): Promise<StoredAt> {
    const stored = this.grouping ? await this.appendInGroup(request) : await this.appendAlone(request);
    if (this.options.storeFlaggedAfterAppend && request.flags.includes('\\Flagged') && stored.uid !== null) {
      await this.storeFlagged(request.mailbox, stored.uid);
    }
    return stored;
  }

  /** One message, one APPEND. */
  private async appendAlone(request: AppendRequest): Promise<StoredAt> {
    const result = await this.sendAppend(request.mailbox, 1, request.bytes.length, () =>
      this.client.append(request.mailbox, request.bytes, request.flags, request.internalDate ?? undefined),
    );
    if (!result) throw new TargetFailure('connection', 'APPEND was not sent: the connection is not signed in', { code: 'NoConnection' });
    return {
      uidValidity: result.uid && result.uidValidity !== undefined ? Number(result.uidValidity) : null,
      uid: result.uid && result.uidValidity !== undefined ? result.uid : null,
    };
  }

  /**
   * Joins `request` to the group of messages for its mailbox that is filling (MULTIAPPEND). A group goes
   * out when it is full, when a message for another mailbox comes, or once the work of the moment is done
   * (setImmediate): the messages handed over together go together, and none waits for later ones.
   */
  private appendInGroup(request: AppendRequest): Promise<StoredAt> {
    return new Promise<StoredAt>((resolve, reject) => {
      let group = this.filling;
      if (group && (group.mailbox !== request.mailbox || group.members.length >= GROUP_MESSAGES || group.bytes + request.bytes.length > GROUP_BYTES)) {
        this.sendGroup(group);
        group = null;
      }
      if (!group) {
        const opened: AppendGroup = (group = this.filling = { mailbox: request.mailbox, members: [], bytes: 0 });
        // Unless it went out before (full, or another mailbox's message came).
        setImmediate(() => this.filling === opened && this.sendGroup(opened));
      }
      group.members.push({ request, resolve, reject });
      group.bytes += request.bytes.length;
    });
  }

  /** Sends the group that was filling. */
  private sendGroup(group: AppendGroup): void {
    this.filling = null;
    void this.storeGroup(group);
  }

  /** Stores a group with one APPEND (RFC 3502: all of its messages, or none) and tells each member. */
  private async storeGroup({ mailbox, members, bytes }: AppendGroup): Promise<void> {
    const each = (work: (member: GroupMember, index: number) => Promise<StoredAt>) =>
      Promise.all(members.map((member, index) => work(member, index).then(member.resolve, member.reject)));
    if (members.length === 1) {
      await each((member) => this.appendAlone(member.request));
      return;
    }
    let result: Awaited<ReturnType<ImapFlow['append']>>;
    try {
      const messages = members.map(({ request }) => ({ content: request.bytes, flags: request.flags, idate: request.internalDate ?? undefined }));
      // The install-time patch of imapflow takes a list of messages for one APPEND (MULTIAPPEND).
      result = await this.sendAppend(mailbox, members.length, bytes, () => this.client.append(mailbox, messages as unknown as Buffer));
      if (!result) throw new TargetFailure('connection', 'APPEND was not sent: the connection is not signed in', { code: 'NoConnection' });
    } catch (error) {
      // Refused, the group stored nothing: each message is sent again on its own, so that a refusal is put
      // down to the message it concerns and the others are stored.
      if (error instanceof TargetFailure && error.kind === 'refused') {
        await each((member) => this.appendAlone(member.request));
        return;
      }
      for (const member of members) member.reject(error);
      return;
    }
    const { uids, uidValidity } = result as { uids?: number[]; uidValidity?: bigint };
    await each(async (_, index) => {
      const uid = uids?.[index];
      return uid !== undefined && uidValidity !== undefined ? { uidValidity: Number(uidValidity), uid } : { uidValidity: null, uid: null };
    });
  }

  /**
   * Sends an APPEND of `count` messages (`bytes` in all) to `mailbox`, in the mailbox selected for it where
   * the server has UIDPLUS. A lost connection is put down to this APPEND only when it was alone in flight,
   * with one message.
   */
  private async sendAppend<T>(mailbox: string, count: number, bytes: number, command: () => Promise<T>): Promise<T> {
    const tickets = Array.from({ length: count }, () => ++this.appendsMade);
    for (const ticket of tickets) this.unanswered.add(ticket);
    this.unansweredBytes += bytes;
    const send = () => this.run(command);
    try {
      if (this.client.capabilities.has('UIDPLUS')) {
        // The selection and the APPEND are queued together, so that no other selecting work comes between.
        const { sent } = await this.alone(async () => {
          await this.selectForAppends(mailbox);
          return { sent: send() };
        });
        return await sent;
      }
      return await send();
    } catch (error) {
      if (!(error instanceof TargetFailure) || error.kind !== 'connection' || error.unsent) throw error;
      // Every APPEND in flight fails with the connection; the first of them to be told decides the blame.
      this.blamedForLoss ??= this.unanswered.size === 1 ? tickets[0]! : 0;
      if (this.blamedForLoss === tickets[0]) throw error;
      throw error.marked({ collateral: true });
    } finally {
      for (const ticket of tickets) this.unanswered.delete(ticket);
      this.unansweredBytes -= bytes;
    }
  }

  /** Outlook.com keeps no \Flagged given with APPEND: stored afterwards, by UID. */
  private async storeFlagged(mailbox: string, uid: number): Promise<void> {
    await this.alone(() => this.run(async () => {
      if (this.isSelectedForAppends(mailbox)) {
        await this.client.messageFlagsAdd(String(uid), ['\\Flagged'], { uid: true });
        return;
      }
      this.selectedForAppends = null;
      await this.client.mailboxOpen(mailbox);
      try {
        await this.client.messageFlagsAdd(String(uid), ['\\Flagged'], { uid: true });
      } finally {
        await this.client.mailboxClose();
      }
    }));
  }

  private isSelectedForAppends(mailbox: string): boolean {
    return this.selectedForAppends === mailbox && Boolean(this.client.mailbox);
  }

  /**
   * Selects (read-write) the mailbox the next APPENDs go to, unless it is selected already. A server stores
   * into the selected mailbox without opening it for every message: Dovecot then spends a third less per
   * APPEND. Only with UIDPLUS, where each APPEND's OK names the new UID. Call it inside alone().
   */
  private async selectForAppends(mailbox: string): Promise<void> {
    if (this.isSelectedForAppends(mailbox) || this.unselectable.has(mailbox)) return;
    this.selectedForAppends = null;
    try {
      await this.run(() => this.client.mailboxOpen(mailbox));
      this.selectedForAppends = mailbox;
    } catch (error) {
      // Nothing of the message was sent yet.
      if (error instanceof TargetFailure && error.kind === 'connection') {
        throw error.marked({ unsent: true });
      }
      // A mailbox that cannot be selected (missing, or refused) is appended to unselected: the APPEND's own
      // answer says what is wrong, as it did before. A refusal is not asked again on this connection (a
      // SELECT waits for every APPEND in flight to be answered).
      if (error instanceof TargetFailure && error.kind === 'refused' && !isNonexistent(error.cause)) this.unselectable.add(mailbox);
    }
  }

  /** Opens `mailbox` read-only (EXAMINE) for `work`; a mailbox that does not exist holds nothing. */
  private async examine<T>(mailbox: string, empty: T, work: (uidValidity: number) => Promise<T>): Promise<T> {
    return this.alone(() => this.run(async () => {
      this.selectedForAppends = null;
      let opened;
      try {
        opened = await this.client.mailboxOpen(mailbox, { readOnly: true });
      } catch (error) {
        if (isNonexistent(error)) return empty;
        throw error;
      }
      try {
        return await work(Number(opened.uidValidity));
      } finally {
        // Left selected, a later APPEND to it would make imapflow guess UIDs from sequence numbers.
        await this.client.mailboxClose();
      }
    }));
  }

  async lookUp(mailbox: string, messageId: string): Promise<StoredAt[]> {
    const wanted = normalizeMessageId(messageId);
    return this.examine(mailbox, [] as StoredAt[], async (uidValidity) => {
      const uids = await this.client.search({ header: { 'message-id': `<${wanted}>` } }, { uid: true });
      // imapflow answers a refused SEARCH with false (and one it could not send with nothing): that is no
      // answer, not "none there", which would have the message sent a second time.
      if (!uids) throw new TargetFailure('refused', `SEARCH in ${mailbox} was refused`, { code: 'SEARCH' });
      if (uids.length === 0) return [];
      // SEARCH HEADER matches substrings (RFC 3501 6.4.4): the header itself is compared exactly.
      const exact: StoredAt[] = [];
      for await (const message of this.client.fetch(uids, { uid: true, headers: ['message-id'] }, { uid: true })) {
        if (messageIdOfHeaders(message.headers?.toString('utf8') ?? '') === wanted) exact.push({ uidValidity, uid: message.uid });
      }
      return exact;
    });
  }

  async messageIds(mailbox: string): Promise<Map<string, number>> {
    return this.examine(mailbox, new Map<string, number>(), async () => {
      const counts = new Map<string, number>();
      const selected = this.client.mailbox;
      if (!selected || selected.exists === 0) return counts;
      for await (const message of this.client.fetch('1:*', { uid: true, headers: ['message-id'] })) {
        const id = messageIdOfHeaders(message.headers?.toString('utf8') ?? '');
        counts.set(id, (counts.get(id) ?? 0) + 1);
      }
      return counts;
    });
  }

  async close(): Promise<void> {
    if (!this.client.usable) {
      this.client.close();
      return;
    }
    await withTimeout(this.client.logout(), 5000, this.client).catch(() => this.client.close());
  }
}
