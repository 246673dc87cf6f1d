/**
 * The plan `export` follows (src/cli/export.ts scanPlan): without --pick, only the folders whose target
 * depends on their items are read ahead, so that each item of a mail folder is read once (by exportPlan),
 * not twice; the targets are those of the plan that reads everything.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { scanPlan } from '../../src/cli/export.js';
import { isMailContainer, planFolders, type SelectionOptions } from '../../src/plan/index.js';
import { openPst, type PstFolder } from '../../src/pst/index.js';
import { projectRoot } from '../support/cli.js';

const io = { stdout: new PassThrough(), stderr: new PassThrough(), stdin: new PassThrough(), env: {} };
const selection = (overrides: Partial<SelectionOptions> = {}): SelectionOptions => ({
  folders: [],
  exclude: [],
  map: [],
  targetRoot: '',
  mergeSpecial: true,
  since: null,
  before: null,
  maxSize: null,
  ...overrides,
});

describe.each(['sample.pst', 'edge-cases.pst', 'japanese.pst', 'ansi-cp932.pst'])('%s', (name) => {
  it.each([
    ['every folder', selection()],
    ['--no-special, --target-root', selection({ mergeSpecial: false, targetRoot: 'PST' })],
  ])("reads only the top and the folders not made for mail, and gives every folder the target of the full plan (%s)", async (_label, options) => {
    const reader = openPst(join(projectRoot, 'fixtures', 'pst', name));
    try {
      const full = await scanPlan(reader, options, 'Top', false, io, 'all');
      const read: PstFolder[] = [];
      const items = reader.items.bind(reader);
      reader.items = (folder) => {
        read.push(folder);
        return items(folder);
      };
      const needed = await scanPlan(reader, options, 'Top', false, io, 'needed');
      const expectedRead: PstFolder[] = [];
      const visit = (folder: PstFolder) => {
        if (folder.path.length === 0 || !isMailContainer(folder.containerClass)) expectedRead.push(folder);
        folder.children.forEach(visit);
      };
      visit(reader.root);
      expect(read.map((folder) => folder.nid)).toEqual(expectedRead.map((folder) => folder.nid));
      // Mail folders are not read ahead.
      expect(read.length).toBeLessThan([...planFolders(full.root)].length);
      const targets = (plan: typeof full) => [...planFolders(plan.root)].map((folder) => [folder.path.join('/'), folder.selected, folder.target]);
      expect(targets(needed)).toEqual(targets(full));
      // Some folder of contacts or appointments lost its target for holding no mail, in both.
      expect([...planFolders(full.root)].some((folder) => folder.selected && folder.target === null && folder.path.length > 0)).toBe(true);
    } finally {
      reader.close();
    }
  });
});

describe('export --pick on a terminal', () => {
  const session = `pst2imap-export-pick-${process.pid}`;
  const work = mkdtempSync(join(tmpdir(), 'pst2imap-export-pick-'));
  const tmux = (...args: string[]) => execFileSync('tmux', args, { encoding: 'utf8' });
  afterAll(() => {
    try {
      tmux('kill-session', '-t', session);
    } catch {
      // already gone
    }
    rmSync(work, { recursive: true, force: true });
  });

  /** The screen once it shows `text`: read every 100 ms, for 10 s at most. */
  async function screenWith(text: string): Promise<string> {
    const deadline = Date.now() + 10_000;
    let screen = '';
    while (!(screen = tmux('capture-pane', '-p', '-t', session, '-S', '-60')).includes(text)) {
      if (Date.now() > deadline) throw new Error(`the terminal never showed "${text}":\n${screen}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return screen;
  }

  it('shows every folder with its counts (all items read first), and writes only the folders ticked', async () => {
    const sample = join(projectRoot, 'fixtures', 'pst', 'sample.pst');
    const out = join(work, 'out');
    const command = `cd ${projectRoot} && LANG=C.UTF-8 node bin/pst2imap.js export ${sample} --to ${out} --pick; echo "exit=$?"; sleep 30`;
    tmux('new-session', '-d', '-s', session, '-x', '160', '-y', '50', command);
    const list = await screenWith('Sent Items  (6, 393 KB)');
    expect(list).toMatch(/◉ Inbox\s+\(8, 400 KB\)/);
    // The first row is Deleted Items: untick it, then confirm.
    tmux('send-keys', '-t', session, ' ');
    tmux('send-keys', '-t', session, 'Enter');
    const screen = await screenWith('exit=');
    expect(screen).toContain('exit=0');
    expect(screen).toMatch(/Written: 14 messages/);
    expect(readdirSync(out).sort()).not.toContain('Deleted');
    expect(readdirSync(join(out, 'INBOX')).filter((name) => name.endsWith('.eml'))).toHaveLength(8);
  }, 30_000);
});
