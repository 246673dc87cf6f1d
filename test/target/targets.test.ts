/**
 * The two targets behind the engine: IMAP against a real Dovecot set up like Outlook.com, and Maildir
 * on disk. Folders with parents and subscriptions, special folders by attribute only, APPEND with flags,
 * INTERNALDATE and APPENDUID, \Flagged set again where the server drops it, look-ups by Message-ID.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ImapFlow } from 'imapflow';
import { classifyImapError } from '../../src/target/imap.js';
import { MaildirTarget } from '../../src/target/maildir.js';
import { readServerFacts } from '../../src/target/probe.js';
import { TargetFailure, type TargetSession } from '../../src/target/target.js';
import { startDovecot, type DovecotServer } from '../support/dovecot.js';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.js';
import { imapTarget } from '../support/migration.js';

const PASSWORD = 'target-test-password';
let server: DovecotServer;
let proxy: FaultProxy;

function message(id: string, subject = 'hello'): Buffer {
  return Buffer.from(`From: a@example.com\r\nTo: b@example.com\r\nSubject: ${subject}\r\nMessage-ID: <${id}>\r\nDate: Mon, 1 Jan 2018 10:00:00 +0000\r\n\r\nbody\r\n`);
}

async function client(user: string): Promise<ImapFlow> {
  const imap = new ImapFlow({ host: '127.0.0.1', port: server.port, secure: false, auth: { user, pass: PASSWORD }, logger: false });
  await imap.connect();
  return imap;
}

beforeAll(async () => {
  server = await startDovecot({ users: { alice: PASSWORD, bob: PASSWORD } });
  proxy = await startFaultProxy(server.port);
});
afterAll(async () => {
  await proxy.close();
  await server.stop();
});

describe('ImapTarget', () => {
  let session: TargetSession;
  beforeAll(async () => {
    session = await imapTarget(server.port, 'alice', async () => ({ password: PASSWORD })).open();
  });
  afterAll(() => session.close());

  it('reads special folders from the server\'s special-use attributes', async () => {
    const facts = await session.facts();
    expect(facts.delimiter).toBe('/');
    expect(facts.specialUse).toEqual({ inbox: 'INBOX', sent: 'Sent', drafts: 'Drafts', junk: 'Junk', trash: 'Deleted', archive: 'Archive' });
    expect(facts.capabilities).toContain('UIDPLUS');
  });

  it('does not take a folder for special because of its name', async () => {
    const fake = {
      capabilities: new Map<string, unknown>([['IMAP4rev1', true]]),
      list: async () => [
        { path: 'Sent Items', delimiter: '/', specialUse: '\\Sent', specialUseSource: 'name' },
        { path: 'Papierkorb', delimiter: '/', specialUse: '\\Trash', specialUseSource: 'extension' },
      ],
    } as unknown as ImapFlow;
    const facts = await readServerFacts(fake, { counts: false });
    expect(facts.specialUse).toEqual({ inbox: 'INBOX', trash: 'Papierkorb' });
  });

  it('creates a folder with its parents, subscribed, once', async () => {
    await session.ensureMailbox('Projects/2019/受信トレイ');
    await session.ensureMailbox('Projects/2019/受信トレイ');
    const imap = await client('alice');
    const listed = await imap.list();
    await imap.logout();
    const byPath = new Map(listed.map((mailbox) => [mailbox.path, mailbox]));
    for (const path of ['Projects', 'Projects/2019', 'Projects/2019/受信トレイ']) {
      expect(byPath.get(path)).toBeDefined();
      expect(byPath.get(path)!.subscribed).toBe(true);
      expect(byPath.get(path)!.flags.has('\\NonExistent')).toBe(false);
    }
  });

  it('appends with flags and INTERNALDATE and returns the APPENDUID', async () => {
    await session.ensureMailbox('Projects');
    const internalDate = new Date('2019-04-01T09:30:00Z');
    const stored = await session.append({ mailbox: 'Projects', bytes: message('one@example.com'), flags: ['\\Seen', '\\Answered'], internalDate });
    expect(stored.uid).toEqual(expect.any(Number));
    expect(stored.uidValidity).toEqual(expect.any(Number));
    const imap = await client('alice');
    const lock = await imap.getMailboxLock('Projects');
    try {
      const fetched = await imap.fetchOne(String(stored.uid), { uid: true, flags: true, internalDate: true, source: true }, { uid: true });
      expect(fetched && fetched.flags && [...fetched.flags].filter((flag) => flag !== '\\Recent').sort()).toEqual(['\\Answered', '\\Seen']);
      expect(fetched && new Date(fetched.internalDate as Date).toISOString()).toBe(internalDate.toISOString());
      expect(fetched && fetched.source?.toString()).toBe(message('one@example.com').toString());
      expect(Number(imap.mailbox && imap.mailbox.uidValidity)).toBe(stored.uidValidity);
    } finally {
      lock.release();
      await imap.logout();
    }
  });

  it('looks messages up by Message-ID, exactly, and counts Message-IDs per folder in one query', async () => {
    await session.ensureMailbox('Lookup');
    const first = await session.append({ mailbox: 'Lookup', bytes: message('twice@example.com'), flags: [], internalDate: null });
    const second = await session.append({ mailbox: 'Lookup', bytes: message('twice@example.com'), flags: [], internalDate: null });
    await session.append({ mailbox: 'Lookup', bytes: message('x-twice@example.com.other'), flags: [], internalDate: null });
    const found = await session.lookUp('Lookup', '<twice@example.com>');
    expect(found.map((at) => at.uid).sort()).toEqual([first.uid, second.uid].sort());
    expect(await session.lookUp('Lookup', 'nowhere@example.com')).toEqual([]);
    expect(await session.lookUp('No such folder', 'twice@example.com')).toEqual([]);
    expect(await session.messageIds('Lookup')).toEqual(new Map([['twice@example.com', 2], ['x-twice@example.com.other', 1]]));
    expect(await session.messageIds('No such folder')).toEqual(new Map());
  });

  it('sets \\Flagged with STORE where the server drops it on APPEND (Outlook.com)', async () => {
    // The proxy drops \Flagged from every APPEND, as Outlook.com does.
    proxy.rewriteAppend = (line) => line.replace(/\\Flagged ?/g, '').replace(/\( \)|\(\)/, '()');
    const flags = async (storeFlaggedAfterAppend: boolean, id: string) => {
      const target = imapTarget(proxy.port, 'bob', async () => ({ password: PASSWORD }), { storeFlaggedAfterAppend });
      const bobSession = await target.open();
      try {
        await bobSession.ensureMailbox('Flagged');
        const stored = await bobSession.append({ mailbox: 'Flagged', bytes: message(id), flags: ['\\Seen', '\\Flagged'], internalDate: null });
        const imap = await client('bob');
        const lock = await imap.getMailboxLock('Flagged');
        try {
          const fetched = await imap.fetchOne(String(stored.uid), { uid: true, flags: true }, { uid: true });
          return fetched ? [...(fetched.flags ?? [])].filter((flag) => flag !== '\\Recent').sort() : null;
        } finally {
          lock.release();
          await imap.logout();
        }
      } finally {
        await bobSession.close();
      }
    };
    try {
      expect(await flags(false, 'dropped@example.com')).toEqual(['\\Seen']);
      expect(await flags(true, 'restored@example.com')).toEqual(['\\Flagged', '\\Seen']);
    } finally {
      proxy.rewriteAppend = null;
    }
  });

  it('a wrong password is a sign-in error, not something to retry', async () => {
    const error = await imapTarget(server.port, 'alice', async () => ({ password: 'wrong' }))
      .open()
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TargetFailure);
    expect((error as TargetFailure).kind).toBe('auth');
    expect(JSON.stringify(error) + String(error)).not.toContain('wrong');
  });
});

describe('classifyImapError', () => {
  const connection = { host: 'h', port: 993, secure: true, user: 'u', verifyCertificate: true, allowPlaintext: false, timeoutMs: 1 };
  it.each([
    [{ code: 'ETHROTTLE', throttleReset: 92415, throttleWaited: 10000, responseStatus: 'BAD', responseText: 'Request is throttled. Suggested Backoff Time: 92415 milliseconds' }, 'throttled', 82415],
    [{ responseStatus: 'BAD', responseText: 'Request is throttled. Suggested Backoff Time: 500 milliseconds' }, 'throttled', 500],
    [{ responseStatus: 'NO', responseText: 'User is authenticated but not connected.' }, 'connection', null],
    [{ responseStatus: 'BYE', code: 'NoConnection', message: 'Connection not available' }, 'connection', null],
    [{ code: 'ECONNRESET', message: 'read ECONNRESET' }, 'connection', null],
    [{ code: 'ETIMEOUT', message: 'Socket timeout' }, 'connection', null],
    [{ responseStatus: 'NO', responseText: '[LIMIT] Message too large' }, 'refused', null],
    [{ authenticationFailed: true, serverResponseCode: 'AUTHENTICATIONFAILED', responseText: 'Authentication failed.' }, 'auth', null],
  ])('%j is %s', (error, kind, retryAfterMs) => {
    const failure = classifyImapError(Object.assign(new Error('Command failed'), error), connection);
    expect(failure.kind).toBe(kind);
    if (retryAfterMs !== null) expect(failure.retryAfterMs).toBe(retryAfterMs);
  });
});

describe('MaildirTarget', () => {
  it('writes tmp/ then cur/ with flags in the name, and finds messages by Message-ID', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pst2imap-maildir-'));
    const target = new MaildirTarget(join(dir, 'mail'));
    expect(target.url).toBe(`maildir:${join(dir, 'mail')}`);
    const session = await target.open();
    await session.ensureMailbox('Archive/2019');
    for (const sub of ['cur', 'new', 'tmp']) expect(existsSync(join(dir, 'mail', 'Archive', '2019', sub))).toBe(true);
    await session.append({ mailbox: 'Archive/2019', bytes: message('m1@example.com'), flags: ['\\Seen', '\\Flagged', '\\Answered'], internalDate: new Date('2019-01-01T00:00:00Z') });
    await session.append({ mailbox: 'Archive/2019', bytes: message('m2@example.com'), flags: [], internalDate: null });
    const cur = readdirSync(join(dir, 'mail', 'Archive', '2019', 'cur')).sort();
    expect(cur).toHaveLength(2);
    expect(cur.filter((name) => name.endsWith(':2,FRS'))).toHaveLength(1);
    expect(cur.filter((name) => name.endsWith(':2,'))).toHaveLength(1);
    expect(cur.some((name) => name.startsWith('1546300800.'))).toBe(true);
    expect(readdirSync(join(dir, 'mail', 'Archive', '2019', 'tmp'))).toEqual([]);
    const file = cur.find((name) => name.endsWith(':2,FRS'))!;
    expect(readFileSync(join(dir, 'mail', 'Archive', '2019', 'cur', file))).toEqual(message('m1@example.com'));
    expect(file).toContain(`,S=${message('m1@example.com').length}:`);
    expect(await session.lookUp('Archive/2019', '<m2@example.com>')).toHaveLength(1);
    expect(await session.lookUp('Archive/2019', '<m3@example.com>')).toHaveLength(0);
    expect(await session.messageIds('Archive/2019')).toEqual(new Map([['m1@example.com', 1], ['m2@example.com', 1]]));
    expect(await session.messageIds('Nowhere')).toEqual(new Map());
  });
});
