import { copyFileSync, mkdtempSync, openSync, rmSync, writeSync, closeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pst2ImapError } from '../../src/errors.js';
import { classifyMessageClass, isReadProblem, openPst, type MessageSummary, type PstFolder, type PstReader, type ReadProblem } from '../../src/pst/index.js';
import { ansiCodepageOfInternetCodepage, ansiCodepageOfLocale, decodeCodepage } from '../../src/pst/codepage.js';
import { withoutTrailingNuls } from '../../src/pst/reader.js';
import { projectRoot, runCli, sharedFixtures } from '../support/cli.js';

const fixture = (name: string) => join(sharedFixtures, name);
const work = mkdtempSync(join(tmpdir(), 'pst2imap-reader-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function withReader<T>(file: string, use: (reader: PstReader) => T, options = {}): T {
  const reader = openPst(file, options);
  try {
    return use(reader);
  } finally {
    reader.close();
  }
}

function folders(root: PstFolder): PstFolder[] {
  return [root, ...root.children.flatMap(folders)];
}

function byPath(root: PstFolder, path: string): PstFolder {
  const found = folders(root).find((folder) => folder.path.join('/') === path);
  if (!found) throw new Error(`no folder ${path}: ${folders(root).map((f) => f.path.join('/')).join(', ')}`);
  return found;
}

describe('the folder tree', () => {
  it('starts at the IPM subtree, without Search Root, views or search folders', () => {
    const names = withReader(fixture('aspose-chunks-part1.pst'), (reader) => folders(reader.root).map((folder) => folder.path.join('/')));
    expect(names).toContain('Sent Items');
    expect(names).toContain('Deleted Items/SubInbox');
    expect(names.some((name) => /Search Root|SPAM Search Folder|IPM_COMMON_VIEWS|Freebusy|Reminders/.test(name))).toBe(false);
  });

  it('finds special folders by the store entry IDs', () => {
    const roles = withReader(fixture('aspose-Outlook.pst'), (reader) =>
      Object.fromEntries(folders(reader.root).filter((folder) => folder.role).map((folder) => [folder.role, folder.path.join('/')])),
    );
    expect(roles).toEqual({
      trash: 'Deleted Items',
      inbox: 'Inbox',
      outbox: 'Outbox',
      sent: 'Sent Items',
      drafts: 'Drafts',
      junk: 'Junk E-mail',
    });
  });

  it('knows a Japanese Deleted Items by its entry ID, not its name', () => {
    withReader(fixture('hh-threeItems.pst'), (reader) => {
      expect(byPath(reader.root, '削除済みアイテム').role).toBe('trash');
      expect(byPath(reader.root, 'first').role).toBeNull();
    });
  });

  it('reads the mailbox of an OST file (under Root - Mailbox, no subtree entry ID)', () => {
    withReader(fixture('aspose-sample.ost'), (reader) => {
      expect(reader.store.kind).toBe('ost');
      expect(byPath(reader.root, 'Inbox').role).toBe('inbox');
      expect(byPath(reader.root, 'Inbox/sub2').contentCount).toBe(29);
      expect(folders(reader.root).some((folder) => folder.path.includes('Root - Public'))).toBe(false);
    });
  });
});

describe('old ANSI (Outlook 97-2002) files', () => {
  it.each(['pstsdk-test_ansi.pst', 'gopst-ansi-32bit.pst', 'hh-contacts97-2002.pst', 'pstsdk-sample2.pst'])('%s opens and reads', (name) => {
    withReader(fixture(name), (reader) => {
      expect(reader.store.format).toBe('ansi');
      const items = folders(reader.root).flatMap((folder) => [...reader.items(folder)]);
      expect(items.length).toBeGreaterThan(0);
      expect(items.filter(isReadProblem)).toEqual([]);
    });
  });

  it('decodes 8-bit Japanese names in the code page found from the items (932)', () => {
    withReader(fixture('hh-contacts97-2002.pst'), (reader) => {
      expect(reader.store.codepage).toBe(932);
      expect(reader.root.children.map((folder) => folder.name)).toEqual(['削除済みアイテム', '連絡先 (Contact dedicated)']);
      expect(reader.root.children[0].role).toBe('trash');
    });
  });

  it('--codepage overrides it', () => {
    withReader(
      fixture('hh-contacts97-2002.pst'),
      (reader) => {
        expect(reader.store.codepage).toBe(1252);
        expect(reader.root.children[0].name).not.toBe('削除済みアイテム');
        expect(reader.root.children[0].name).toBe(decodeCodepage(iconvCp932('削除済みアイテム'), 1252));
      },
      { codepage: 1252 },
    );
  });
});

/** Shift_JIS bytes of a text, built without the code under test (a fixed table of the characters used). */
function iconvCp932(text: string): Buffer {
  const require = createRequire(import.meta.url);
  const iconv = require('iconv-lite') as { encode(text: string, encoding: string): Buffer };
  return iconv.encode(text, 'cp932');
}

describe('code pages', () => {
  const japanese = '日本語のメール、①と㈱も';
  it('decodes Shift_JIS (932), ISO-2022-JP (50220) and EUC-JP (51932) exactly', () => {
    expect(decodeCodepage(iconvCp932(japanese), 932)).toBe(japanese);
    const iso2022jp = Buffer.from('1b2442467c4b5c386c1b2842', 'hex'); // ESC $ B 日本語 ESC ( B
    expect(decodeCodepage(iso2022jp, 50220)).toBe('日本語');
    expect(decodeCodepage(Buffer.from('c6fccbdcb8ec', 'hex'), 51932)).toBe('日本語');
    expect(decodeCodepage(Buffer.from('e697a5e69cace8aa9e', 'hex'), 65001)).toBe('日本語');
    expect(decodeCodepage(Buffer.from([0x80, 0xe9]), 1252)).toBe('€é');
    expect(decodeCodepage(Buffer.from([0xb5]), 850)).toBe('Á');
  });

  it('drops the NULs a string property ends with, and only those', () => {
    for (const text of ['', 'abc', 'abc\0', 'abc\0\0\0', '\0', '\0\0', 'a\0b', '\0a', '日本語\0', 'x'.repeat(10_000) + '\0']) {
      expect(withoutTrailingNuls(text)).toBe(text.replace(/\0+$/, ''));
    }
  });

  it('an unknown code page is an error, never a silent UTF-8', () => {
    expect(() => decodeCodepage(Buffer.from('abc'), 12345)).toThrow(Pst2ImapError);
  });

  it('finds the Windows code page from a locale or an internet code page', () => {
    expect(ansiCodepageOfLocale(1041)).toBe(932);
    expect(ansiCodepageOfLocale(2052)).toBe(936);
    expect(ansiCodepageOfLocale(1028)).toBe(950);
    expect(ansiCodepageOfLocale(1049)).toBe(1251);
    expect(ansiCodepageOfLocale(1033)).toBe(1252);
    expect(ansiCodepageOfInternetCodepage(50220)).toBe(932);
    expect(ansiCodepageOfInternetCodepage(65001)).toBeNull();
  });
});

describe('items', () => {
  it.each([
    ['IPM.Note', 'mail'],
    ['IPM.Note.SMIME.MultipartSigned', 'mail'],
    ['REPORT.IPM.Note.NDR', 'mail'],
    ['REPORT.IPM.Note.IPNRN', 'mail'],
    ['IPM.Schedule.Meeting.Request', 'mail'],
    ['IPM.Post', 'mail'],
    ['', 'mail'],
    ['IPM.Contact', 'contact'],
    ['IPM.DistList', 'distlist'],
    ['IPM.Appointment', 'appointment'],
    ['IPM.Task', 'task'],
    ['IPM.TaskRequest.Accept', 'task'],
    ['IPM.StickyNote', 'note'],
    ['IPM.Activity', 'journal'],
    ['IPM.Microsoft.ScheduleData.FreeBusy', 'other'],
  ])('%j is %s', (messageClass, kind) => {
    expect(classifyMessageClass(messageClass)).toBe(kind);
  });

  it('delivery, read and non-delivery reports are mail', () => {
    const classes = withReader(fixture('aspose-password-protected.pst'), (reader) =>
      folders(reader.root).flatMap((folder) => [...reader.items(folder)].filter((entry): entry is MessageSummary => !isReadProblem(entry))),
    );
    const reports = classes.filter((item) => item.messageClass.startsWith('REPORT.'));
    expect(reports.length).toBeGreaterThan(0);
    expect(reports.every((item) => item.kind === 'mail')).toBe(true);
  });

  it('reads an item the same whether items() read its summary just before or not', () => {
    const plain = (message: object) => JSON.parse(JSON.stringify(message, (_key, value) => (typeof value === 'function' ? undefined : value)));
    for (const file of [join(projectRoot, 'fixtures', 'pst', 'sample.pst'), join(projectRoot, 'fixtures', 'pst', 'ansi-cp932.pst')]) {
      const afterItems = withReader(file, (reader) =>
        folders(reader.root).flatMap((folder) => [...reader.items(folder)].filter((entry): entry is MessageSummary => !isReadProblem(entry)).map((entry) => plain(reader.readMessage(entry.nid)))),
      );
      const nids = afterItems.map((message: { nid: number }) => message.nid);
      // Read again, each item on its own (the summary of another item read last).
      const alone = withReader(file, (reader) => [...nids].reverse().map((nid) => plain(reader.readMessage(nid))).reverse());
      expect(afterItems.length).toBeGreaterThan(5);
      expect(afterItems).toEqual(alone);
      expect(afterItems.every((message: { folderNid: number }) => message.folderNid === 0)).toBe(true);
    }
  });

  it('reads 200 recipients, with names and addresses', () => {
    withReader(fixture('hh-200recipients.pst'), (reader) => {
      const [summary] = [...reader.items(reader.root)] as MessageSummary[];
      const message = reader.readMessage(summary.nid);
      expect(message.recipients).toHaveLength(200);
      expect(new Set(message.recipients.map((recipient) => recipient.email)).size).toBe(200);
      expect(message.recipients.every((recipient) => recipient.type === 'to' && recipient.email.includes('@'))).toBe(true);
    });
  });
});

describe('damage', () => {
  /** Overwrites the data block of one item with garbage, as a bad sector or a broken copy would. */
  function damageFirstInboxItem(): { file: string; nid: number } {
    const file = join(work, 'damaged.pst');
    copyFileSync(fixture('aspose-Outlook.pst'), file);
    const { nid, offset } = withReader(file, (reader) => {
      const inbox = byPath(reader.root, 'Inbox');
      const first = [...reader.items(inbox)][0] as MessageSummary;
      // Where the block lies is the library's knowledge: asked here, in the test only.
      const require = createRequire(import.meta.url);
      const { PSTFile } = require('pst-extractor');
      const Long = require('long');
      const library = new PSTFile(file);
      const node = library.getDescriptorIndexNode(Long.fromNumber(first.nid));
      const block = library.getOffsetIndexNode(node.dataOffsetIndexIdentifier);
      const position = Number(block.fileOffset.toString());
      library.close();
      return { nid: first.nid, offset: position };
    });
    const fd = openSync(file, 'r+');
    writeSync(fd, Buffer.alloc(256, 0xa5), 0, 256, offset);
    closeSync(fd);
    return { file, nid };
  }

  it('a damaged item is reported by folder and item; the rest is read', () => {
    const { file, nid } = damageFirstInboxItem();
    withReader(file, (reader) => {
      const entries = [...reader.items(byPath(reader.root, 'Inbox'))];
      const problems = entries.filter(isReadProblem) as ReadProblem[];
      expect(problems).toEqual([expect.objectContaining({ nid, code: 'E_ITEM_UNREADABLE', folderPath: ['Inbox'] })]);
      expect(entries.filter((entry) => !isReadProblem(entry))).toHaveLength(7);
      expect([...reader.items(byPath(reader.root, 'Sent Items'))].filter(isReadProblem)).toEqual([]);
    });
  });

  it('plan shows it and ends with exit code 6', async () => {
    const { file, nid } = damageFirstInboxItem();
    const result = await runCli(['plan', file]);
    expect(result.code).toBe(6);
    expect(result.stdout).toMatch(/Could not be read \(1\):/);
    expect(result.stdout).toContain(`Inbox: item ${nid}:`);
    expect(result.stdout).toMatch(/To send: 13 messages/);
  });
});
