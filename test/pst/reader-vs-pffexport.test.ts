/**
 * The PST layer against an independent reader: libpff's pffexport (Debian pff-tools) exports every item
 * of every folder into a directory of its own. For every real-world file of the shared corpus, the
 * folders and the number of items in each must agree; where they do not, the difference is stated and
 * explained below, file by file.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openPst, isReadProblem, type PstFolder, type PstReader } from '../../src/pst/index.js';
import { sharedFixtures } from '../support/cli.js';

const ITEM_DIRECTORY = /^(Message|Contact|Appointment|Meeting|Task|Note|Activity|DistributionList|Document|Item)\d{5}$/;
/** Names libpff gives the top of the mailbox (the IPM subtree), in the languages of the corpus. */
const TOP_NAMES = new Set(['Top of Personal Folders', 'Top of Outlook data file', 'Outlook データ ファイルのトップ', 'IPM_SUBTREE']);

/** Item count per folder path ('' for the top), as pffexport sees it. */
function pffexportCounts(file: string, codepage: number): Map<string, number> {
  const work = mkdtempSync(join(tmpdir(), 'pst2imap-pffexport-'));
  try {
    // ANSI files: libpff decodes 8-bit names in windows-1252 unless told the code page, as pst2imap is.
    execFileSync('pffexport', ['-q', '-c', `windows-${codepage}`, '-m', 'all', '-f', 'text', '-t', join(work, 'out'), file], { stdio: 'ignore' });
    const counts = new Map<string, number>();
    const walk = (dir: string, path: string[] | null) => {
      for (const name of readdirSync(dir)) {
        const full = join(dir, name);
        if (!statSync(full).isDirectory()) continue;
        if (ITEM_DIRECTORY.test(name)) {
          if (path) counts.set(path.join('/'), (counts.get(path.join('/')) ?? 0) + 1);
          continue; // attachments and embedded messages live below an item
        }
        walk(full, path ? [...path, name] : TOP_NAMES.has(name) ? [] : null);
      }
    };
    walk(join(work, 'out.export'), null);
    return counts;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function ourCounts(reader: PstReader): { counts: Map<string, number>; problems: number } {
  const counts = new Map<string, number>();
  let problems = 0;
  const walk = (folder: PstFolder) => {
    let read = 0;
    for (const entry of reader.items(folder)) {
      if (isReadProblem(entry)) problems++;
      else read++;
    }
    const key = folder.path.join('/');
    if (read > 0) counts.set(key, (counts.get(key) ?? 0) + read);
    folder.children.forEach(walk);
  };
  walk(reader.root);
  return { counts, problems };
}

/**
 * Where the two readers differ, and why. pffexport walks the node B-tree and so also exports items that
 * are no longer in any folder's contents table (soft-deleted items kept for recovery); pst2imap follows
 * the contents tables, as Outlook shows them, and compares them with PR_CONTENT_COUNT.
 */
const KNOWN_DIFFERENCES: Record<string, Record<string, { pffexport: number; ours: number; why: string }>> = {
  'aspose-chunks-part1.pst': {
    Contacts: {
      pffexport: 9,
      ours: 21,
      why:
        'PR_CONTENT_COUNT is 21 and readpst exports 21 (19 contacts and 2 skipped distribution lists); ' +
        'libpff stops at item 10 ("Unable to retrieve type of item 10 out of 21": it cannot read a table entry) and exports 9',
    },
  },
  'pstsdk-test_ansi.pst': {
    Folder: { pffexport: 0, ours: 1, why: 'an IPM.Post item: neither libpff nor readpst ("1 items skipped") export posts; pst2imap migrates them as mail' },
  },
  'pstsdk-test_unicode.pst': {
    '': { pffexport: 0, ours: 1, why: 'an IPM.Post item at the top of the store, as above' },
    Folder: { pffexport: 0, ours: 1, why: 'an IPM.Post item, as above' },
  },
};

/** The items libpff leaves out are what the explanations say they are. */
const POSTS = ['pstsdk-test_ansi.pst', 'pstsdk-test_unicode.pst'];

function allItems(reader: PstReader) {
  const items: Array<{ messageClass: string }> = [];
  const walk = (folder: PstFolder) => {
    for (const entry of reader.items(folder)) if (!isReadProblem(entry)) items.push(entry);
    folder.children.forEach(walk);
  };
  walk(reader.root);
  return items;
}

const files = readdirSync(sharedFixtures).filter((name) => /\.(pst|ost)$/i.test(name)).sort();

describe.each(files)('%s', (name) => {
  it('has the folders and item counts libpff sees', () => {
    const file = join(sharedFixtures, name);
    const reader = openPst(file);
    let ours: ReturnType<typeof ourCounts>;
    let postClasses: string[] = [];
    try {
      ours = ourCounts(reader);
      if (POSTS.includes(name)) postClasses = allItems(reader).map((item) => item.messageClass);
    } finally {
      reader.close();
    }
    if (POSTS.includes(name)) expect(new Set(postClasses)).toEqual(new Set(['IPM.Post']));
    const theirs = pffexportCounts(file, reader.store.codepage);
    const known = KNOWN_DIFFERENCES[name] ?? {};
    const paths = new Set([...ours.counts.keys(), ...theirs.keys()]);
    const differences: Record<string, { pffexport: number; ours: number }> = {};
    for (const path of paths) {
      const a = theirs.get(path) ?? 0;
      const b = ours.counts.get(path) ?? 0;
      if (a !== b) differences[path] = { pffexport: a, ours: b };
    }
    const expected = Object.fromEntries(Object.entries(known).map(([path, { pffexport, ours: mine }]) => [path, { pffexport, ours: mine }]));
    expect(differences).toEqual(expected);
    expect(ours.problems).toBe(0);
  });
});
