/** `pst2imap plan` as a user types it: text, JSON, languages, and the interactive folder list. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PLAN_SCHEMA } from '../../src/plan/json.js';
import { projectRoot, runCli, sharedFixtures } from '../support/cli.js';

const sample = join(projectRoot, 'fixtures', 'pst', 'sample.pst');
const work = mkdtempSync(join(tmpdir(), 'pst2imap-plan-cli-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

it('shows the tree, the targets, the skips and the totals of the bundled sample, and writes nothing', async () => {
  const result = await runCli(['plan', sample], { cwd: work });
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  expect(result.stdout).toMatch(/^Inbox\s+INBOX\s+inbox\s+8\b/m);
  expect(result.stdout).toMatch(/^ {2}SubInbox\s+INBOX\/SubInbox\s+0\b/m);
  expect(result.stdout).toMatch(/^Sent Items\s+Sent\s+sent\s+6\b/m);
  expect(result.stdout).toMatch(/^Calendar\s+\(no mail: no mailbox\)\s+0\s+1 appointments/m);
  expect(result.stdout).toContain('To send: 14 messages');
  expect(result.stdout).toContain('Skipped: 2 not mail (1 appointments, 1 contacts)');
  expect(readdirSync(work)).toEqual([]);
});

it('--json follows the documented schema', async () => {
  const result = await runCli(['plan', sample, '--json', '--folder', 'Inbox/**', '--since', '2011-01-01']);
  expect(result.code).toBe(0);
  const plan = JSON.parse(result.stdout);
  expect(plan.schema).toBe(PLAN_SCHEMA);
  expect(plan.pst).toMatchObject({ format: 'unicode', kind: 'pst', encryption: 'compressible', codepage: 1252 });
  expect(plan.totals).toMatchObject({ send: 8, foldersSelected: 2 });
  expect(plan.selection.folders).toEqual(['Inbox/**']);
  const inbox = plan.root.children.find((folder: { path: string[] }) => folder.path.join('/') === 'Inbox');
  expect(inbox).toMatchObject({ selected: true, target: 'INBOX', role: 'inbox', send: 8 });
  expect(plan.root.children.find((folder: { path: string[] }) => folder.path[0] === 'Sent Items').selected).toBe(false);
});

it('speaks Japanese: decoded ANSI names, roles and help', async () => {
  const result = await runCli(['plan', join(sharedFixtures, 'hh-contacts97-2002.pst')], { env: { LANG: 'ja_JP.UTF-8' } });
  expect(result.code).toBe(0);
  expect(result.stdout).toMatch(/^削除済みアイテム\s+Deleted\s+ごみ箱/m);
  expect(result.stdout).toContain('コード ページ 932');
  const help = await runCli(['plan', '--help'], { env: { LANG: 'ja_JP.UTF-8' } });
  expect(help.stdout).toContain('オプション:');
  expect(help.stdout).toContain('予行演習');
});

describe('--pick on a terminal', () => {
  const session = `pst2imap-pick-${process.pid}`;
  const tmux = (...args: string[]) => execFileSync('tmux', args, { encoding: 'utf8' });
  afterAll(() => {
    try {
      tmux('kill-session', '-t', session);
    } catch {
      // already gone
    }
  });

  async function screenShows(text: string): Promise<string> {
    for (let i = 0; i < 100; i++) {
      const screen = tmux('capture-pane', '-p', '-t', session, '-S', '-60');
      if (screen.includes(text)) return screen;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`the terminal never showed "${text}":\n${tmux('capture-pane', '-p', '-t', session)}`);
  }

  it('ticks folders in a list with counts and sizes, and plans only those', async () => {
    const command = `cd ${projectRoot} && LANG=C.UTF-8 node bin/pst2imap.js plan ${sample} --pick; echo "exit=$?"; sleep 30`;
    tmux('new-session', '-d', '-s', session, '-x', '160', '-y', '50', command);
    const list = await screenShows('Sent Items  (6, 393 KB)');
    expect(list).toContain('Folders to migrate');
    expect(list).toMatch(/◉ Inbox\s+\(8, 400 KB\)/);
    // The first row is Deleted Items: untick it, then confirm.
    tmux('send-keys', '-t', session, ' ');
    tmux('send-keys', '-t', session, 'Enter');
    const screen = await screenShows('exit=');
    expect(screen).toMatch(/Deleted Items\s+\(not selected\)/);
    expect(screen).toMatch(/Inbox\s+INBOX\s+inbox\s+8/);
    expect(screen).toContain('exit=0');
  });

  it('refuses without a terminal, saying what to use instead', async () => {
    const result = await runCli(['plan', sample, '--pick']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--folder and --exclude');
  });
});
