import { decideItem, estimateSeconds, isMailContainer, PlanBuilder, planFolders, sanitizeSegment, type NameChange, type Plan, type PlanFolder } from '../../src/plan/plan.js';
import { isSelected, matchesFolder, parsePattern } from '../../src/plan/select.js';
import { planToJson, PLAN_SCHEMA } from '../../src/plan/json.js';
import { decodeModifiedUtf7, encodeModifiedUtf7 } from '../../src/plan/utf7.js';
import type { SelectionOptions, ServerFacts } from '../../src/plan/types.js';
import type { FolderRole, ItemKind, MessageSummary, PstFolder } from '../../src/pst/types.js';

const outlook: ServerFacts = {
  delimiter: '/',
  specialUse: { inbox: 'INBOX', sent: 'Sent', drafts: 'Drafts', trash: 'Deleted', junk: 'Junk', archive: 'Archive' },
  mailboxes: {},
  utf8Accept: false,
  appendLimit: 35 * 1024 * 1024,
  reservedNames: ['Files'],
  maxNameLength: 20,
  capabilities: [],
};

const everything: SelectionOptions = {
  folders: [],
  exclude: [],
  targetRoot: '',
  map: [],
  mergeSpecial: true,
  since: null,
  before: null,
  maxSize: null,
};

let nextNid = 100;
function folder(name: string, options: { role?: FolderRole; containerClass?: string; children?: PstFolder[] } = {}): PstFolder {
  return { nid: nextNid++, name, path: [name], role: options.role ?? null, containerClass: options.containerClass ?? 'IPF.Note', contentCount: 0, children: options.children ?? [] };
}

/** Fixes up paths below `top` so a tree can be written as nested calls. */
function tree(children: PstFolder[]): PstFolder {
  const top: PstFolder = { nid: 1, name: '', path: [], role: null, containerClass: '', contentCount: 0, children };
  const fix = (node: PstFolder, path: string[]) => {
    node.path = path;
    node.children.forEach((child) => fix(child, [...path, child.name]));
  };
  top.children.forEach((child) => fix(child, [child.name]));
  return top;
}

function item(nid: number, options: { kind?: ItemKind; size?: number; date?: Date | null } = {}): MessageSummary {
  const date = options.date === undefined ? new Date('2019-06-01T00:00:00Z') : options.date;
  return {
    nid,
    folderNid: 0,
    messageClass: 'IPM.Note',
    kind: options.kind ?? 'mail',
    subject: `item ${nid}`,
    size: options.size ?? 1000,
    messageDeliveryTime: date,
    clientSubmitTime: null,
    creationTime: null,
    lastModificationTime: null,
    internetMessageId: null,
    hasAttachments: false,
  };
}

function byPath(plan: Plan, path: string): PlanFolder {
  const found = [...planFolders(plan.root)].find((candidate) => candidate.path.join('/') === path);
  if (!found) throw new Error(`no folder ${path}`);
  return found;
}

function plan(top: PstFolder, selection: Partial<SelectionOptions> = {}, server: ServerFacts = outlook): Plan {
  return new PlanBuilder(top, { ...everything, ...selection }, server, { topFolderName: 'archive' }).finish();
}

describe('folder patterns', () => {
  it('a plain path takes the folder and its subfolders, ignoring case', () => {
    const pattern = parsePattern('inbox/Work');
    expect(matchesFolder(pattern, ['Inbox', 'Work'])).toBe(true);
    expect(matchesFolder(pattern, ['Inbox', 'work', 'Old'])).toBe(true);
    expect(matchesFolder(pattern, ['Inbox'])).toBe(false);
    expect(matchesFolder(pattern, ['Inbox', 'Workshop'])).toBe(false);
  });

  it('globs match segment by segment; ** is any depth, * stays within one name', () => {
    expect(matchesFolder(parsePattern('Inbox/*'), ['Inbox', 'A'])).toBe(true);
    expect(matchesFolder(parsePattern('Inbox/*'), ['Inbox', 'A', 'B'])).toBe(false);
    expect(matchesFolder(parsePattern('Inbox/**'), ['Inbox'])).toBe(true);
    expect(matchesFolder(parsePattern('Inbox/**'), ['Inbox', 'A', 'B'])).toBe(true);
    expect(matchesFolder(parsePattern('**/Old'), ['Archive', '2019', 'Old'])).toBe(true);
    expect(matchesFolder(parsePattern('受信トレイ/*'), ['受信トレイ', '仕事'])).toBe(true);
    expect(matchesFolder(parsePattern('Project ?'), ['Project B'])).toBe(true);
  });

  it("a '/' inside a folder name is written '\\/'", () => {
    const pattern = parsePattern('Clients\\/Suppliers');
    expect(pattern.segments).toEqual(['Clients/Suppliers']);
    expect(matchesFolder(pattern, ['Clients/Suppliers'])).toBe(true);
    expect(matchesFolder(pattern, ['Clients', 'Suppliers'])).toBe(false);
  });

  it('exclude wins over include; no include means everything', () => {
    const include = [parsePattern('Inbox')];
    const exclude = [parsePattern('Inbox/Spam')];
    expect(isSelected(['Inbox', 'A'], include, exclude)).toBe(true);
    expect(isSelected(['Inbox', 'Spam', 'x'], include, exclude)).toBe(false);
    expect(isSelected(['Sent'], include, exclude)).toBe(false);
    expect(isSelected(['Sent'], [], exclude)).toBe(true);
  });
});

describe('mapping to the server', () => {
  const top = () =>
    tree([
      folder('Inbox', { role: 'inbox', children: [folder('Work', { children: [folder('2019')] })] }),
      folder('Sent Items', { role: 'sent' }),
      folder('Deleted Items', { role: 'trash' }),
      folder('Outbox', { role: 'outbox' }),
      folder('Projects'),
      folder('受信トレイ', { children: [folder('仕事')] }),
    ]);

  it('merges special folders into the server special-use folders, subfolders under them', () => {
    const result = plan(top(), {}, { ...outlook, specialUse: { ...outlook.specialUse, sent: 'Sent Mail' } });
    expect(byPath(result, 'Inbox').target).toBe('INBOX');
    expect(byPath(result, 'Inbox').mergedSpecial).toBe(true);
    expect(byPath(result, 'Inbox/Work/2019').target).toBe('INBOX/Work/2019');
    expect(byPath(result, 'Sent Items').target).toBe('Sent Mail');
    expect(byPath(result, 'Deleted Items').target).toBe('Deleted');
    // The Outbox holds unsent mail: it is an ordinary folder, never the server's Sent.
    expect(byPath(result, 'Outbox').target).toBe('Outbox');
  });

  it('falls back to Outlook.com names when the server advertises no special-use', () => {
    const result = plan(top(), {}, { ...outlook, specialUse: {} });
    expect(byPath(result, 'Sent Items').target).toBe('Sent');
    expect(byPath(result, 'Deleted Items').target).toBe('Deleted');
  });

  it('--no-special keeps them as ordinary folders, under --target-root', () => {
    const result = plan(top(), { mergeSpecial: false, targetRoot: 'PST/2019' });
    expect(byPath(result, 'Inbox').target).toBe('PST/2019/Inbox');
    expect(byPath(result, 'Sent Items').target).toBe('PST/2019/Sent Items');
    expect(byPath(result, '受信トレイ/仕事').target).toBe('PST/2019/受信トレイ/仕事');
  });

  it('--target-root does not move merged special folders', () => {
    const result = plan(top(), { targetRoot: 'PST' });
    expect(byPath(result, 'Inbox').target).toBe('INBOX');
    expect(byPath(result, 'Projects').target).toBe('PST/Projects');
  });

  it('--map comes first, the longest matching path wins, and subfolders follow', () => {
    const result = plan(top(), {
      map: [
        { from: 'Inbox', to: 'Old Inbox' },
        { from: 'Inbox/Work', to: 'Archive/Work' },
      ],
    });
    expect(byPath(result, 'Inbox').target).toBe('Old Inbox');
    expect(byPath(result, 'Inbox/Work').target).toBe('Archive/Work');
    expect(byPath(result, 'Inbox/Work/2019').target).toBe('Archive/Work/2019');
  });

  it('folders left out are shown, without a target', () => {
    const result = plan(top(), { folders: ['Projects'] });
    expect(byPath(result, 'Projects').selected).toBe(true);
    expect(byPath(result, 'Inbox').selected).toBe(false);
    expect(byPath(result, 'Inbox').target).toBeNull();
  });

  it('joins with the server delimiter', () => {
    const result = plan(top(), {}, { ...outlook, delimiter: '.', specialUse: {} });
    expect(byPath(result, 'Inbox/Work/2019').target).toBe('INBOX.Work.2019');
  });

  it('shows whether targets exist and what they hold', () => {
    const result = plan(top(), {}, { ...outlook, mailboxes: { INBOX: 12, Projects: 3 } });
    expect(byPath(result, 'Inbox')).toMatchObject({ targetExists: true, targetMessages: 12 });
    expect(byPath(result, 'Projects')).toMatchObject({ targetExists: true, targetMessages: 3 });
    expect(byPath(result, 'Inbox/Work')).toMatchObject({ targetExists: false, targetMessages: null });
  });
});

describe('names the server can take', () => {
  function sanitize(name: string, server: ServerFacts = outlook): { name: string; changes: NameChange[] } {
    const changes: NameChange[] = [];
    return { name: sanitizeSegment(name, server, changes), changes };
  }

  it('replaces the delimiter inside a name by a look-alike', () => {
    expect(sanitize('Clients/Suppliers')).toEqual({
      name: 'Clients／Suppliers',
      changes: [{ kind: 'delimiter', from: 'Clients/Suppliers', to: 'Clients／Suppliers' }],
    });
    expect(sanitize('v1.2', { ...outlook, delimiter: '.' }).name).toBe('v1．2');
  });

  it('removes wildcards, control characters, and spaces or dots at the ends', () => {
    expect(sanitize('50% *done*').name).toBe('50％ ＊done＊');
    expect(sanitize('a\u0001b').name).toBe('ab');
    expect(sanitize('  Reports.. ').changes.map((change) => change.kind)).toEqual(['whitespace']);
    expect(sanitize('  Reports.. ').name).toBe('Reports');
    expect(sanitize('   ').name).toBe('_');
  });

  it('shortens names over the server limit', () => {
    const result = sanitize('A very long folder name indeed');
    expect([...result.name].length).toBeLessThanOrEqual(20);
    expect(result.changes[0].kind).toBe('too-long');
  });

  it('renames names the provider reserves, and folders that would land on one name', () => {
    const top = tree([folder('files'), folder('Inbox', { role: 'inbox' }), folder('INBOX'), folder('Work'), folder('work'), folder('Work')]);
    const result = plan(top);
    const targets = result.root.children.map((child) => child.target);
    expect(targets).toEqual(['files (PST)', 'INBOX', 'INBOX (2)', 'Work', 'work (2)', 'Work (3)']);
    expect(result.root.children[4].nameChanges).toEqual([{ kind: 'collision', from: 'work', to: 'work (2)' }]);
  });

  it('a renamed folder takes its subfolders along', () => {
    const top = tree([folder('Work'), folder('work', { children: [folder('Old')] })]);
    expect(byPath(plan(top), 'work/Old').target).toBe('work (2)/Old');
  });

  it('gives the modified UTF-7 wire name when the server takes no UTF-8 names', () => {
    const top = tree([folder('受信トレイ', { children: [folder('仕事')] })]);
    expect(byPath(plan(top), '受信トレイ/仕事').wireName).toBe('&U9dP4TDIMOwwpA-/&TtVOiw-');
    expect(byPath(plan(top, {}, { ...outlook, utf8Accept: true }), '受信トレイ/仕事').wireName).toBeNull();
  });
});

describe('modified UTF-7 (RFC 3501 5.1.3)', () => {
  it.each([
    ['INBOX', 'INBOX'],
    ['受信トレイ', '&U9dP4TDIMOwwpA-'],
    ['Tom & Jerry', 'Tom &- Jerry'],
    ['~peter/mail/台北/日本語', '~peter/mail/&U,BTFw-/&ZeVnLIqe-'],
  ])('%s <-> %s', (name, wire) => {
    expect(encodeModifiedUtf7(name)).toBe(wire);
    expect(decodeModifiedUtf7(wire)).toBe(name);
  });
});

describe('items', () => {
  const selection = { ...everything, since: new Date('2019-01-01T00:00:00Z'), before: new Date('2020-01-01T00:00:00Z') };

  it('skips what is not mail, too large, or outside the dates; keeps undated mail', () => {
    expect(decideItem(item(1), selection, 5000)).toEqual({ action: 'send' });
    expect(decideItem(item(2, { kind: 'contact' }), selection, 5000)).toEqual({ action: 'skip', reason: 'non-mail' });
    expect(decideItem(item(3, { size: 5001 }), selection, 5000)).toEqual({ action: 'skip', reason: 'too-large' });
    expect(decideItem(item(4, { date: new Date('2018-12-31T23:59:59Z') }), selection, null)).toEqual({ action: 'skip', reason: 'outside-dates' });
    expect(decideItem(item(5, { date: new Date('2020-01-01T00:00:00Z') }), selection, null)).toEqual({ action: 'skip', reason: 'outside-dates' });
    expect(decideItem(item(6, { date: null }), selection, null)).toEqual({ action: 'send' });
  });

  it('counts per folder and in total, and estimates the time', () => {
    const inbox = folder('Inbox', { role: 'inbox' });
    const calendar = folder('Calendar', { containerClass: 'IPF.Appointment' });
    const builder = new PlanBuilder(tree([inbox, calendar]), { ...everything, maxSize: 10_000 }, outlook, { topFolderName: 'archive' });
    builder.add(inbox.nid, item(1, { size: 2000, date: new Date('2019-03-01T00:00:00Z') }));
    builder.add(inbox.nid, item(2, { size: 3000, date: new Date('2018-03-01T00:00:00Z') }));
    builder.add(inbox.nid, item(3, { size: 20_000 }));
    builder.add(inbox.nid, item(4, { date: null }));
    builder.add(calendar.nid, item(5, { kind: 'appointment' }));
    builder.add(inbox.nid, { problem: true, folderPath: ['Inbox'], nid: 77, code: 'E_ITEM_UNREADABLE', detail: 'bad block' });
    const result = builder.finish();
    const planned = byPath(result, 'Inbox');
    expect(planned).toMatchObject({ send: 3, sendBytes: 6000, undated: 1, itemsRead: 4 });
    expect(planned.skipped).toEqual({ 'non-mail': 0, 'too-large': 1, 'outside-dates': 0 });
    expect(planned.oldest?.toISOString()).toBe('2018-03-01T00:00:00.000Z');
    expect(planned.newest?.toISOString()).toBe('2019-03-01T00:00:00.000Z');
    // A calendar with no mail gets no mailbox.
    expect(byPath(result, 'Calendar')).toMatchObject({ target: null, nonMail: { appointment: 1 } });
    expect(result.totals).toMatchObject({ send: 3, sendBytes: 6000, problems: 1, nonMail: { appointment: 1 } });
    expect(result.sizeLimit).toBe(10_000);
    expect(estimateSeconds(result, { messagesPerSecond: 2 })).toBe(1.5);
    expect(estimateSeconds(result, { messagesPerSecond: 100, bytesPerSecond: 1000 })).toBe(6);
  });

  it('tells mail folders from the others by container class', () => {
    expect(['', 'IPF.Note', 'IPF.Note.Custom', 'IPF.Post', 'IPF.Imap'].every(isMailContainer)).toBe(true);
    expect(['IPF.Appointment', 'IPF.Contact', 'IPF.Task', 'IPF.StickyNote', 'IPF.Journal', 'IPF.Note.OutlookHomepage'].some(isMailContainer)).toBe(false);
  });
});

describe('JSON for scripts', () => {
  it('has the schema name, the totals and every folder', () => {
    const inbox = folder('Inbox', { role: 'inbox' });
    const builder = new PlanBuilder(tree([inbox]), everything, outlook, { topFolderName: 'archive' });
    builder.add(inbox.nid, item(1));
    const json = planToJson(builder.finish(), { pst: { path: '/x.pst' }, estimateSeconds: 0.2 }) as Record<string, any>;
    expect(json.schema).toBe(PLAN_SCHEMA);
    expect(json.totals).toMatchObject({ send: 1, sendBytes: 1000, oldest: '2019-06-01T00:00:00.000Z' });
    expect(json.root.children[0]).toMatchObject({ path: ['Inbox'], target: 'INBOX', role: 'inbox', send: 1 });
    expect(JSON.parse(JSON.stringify(json))).toEqual(json);
  });
});
