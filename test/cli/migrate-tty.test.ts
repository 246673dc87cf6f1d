/**
 * migrate on a real terminal (tmux): progress bars for the whole run and the current folder with
 * messages, MB, rate and time left; the server's throttling shown as it happens; Ctrl-C saying what it
 * does, then how to carry on.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../support/cli.js';
import { startDovecot, type DovecotServer } from '../support/dovecot.js';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.js';

const session = `pst2imap-migrate-${process.pid}`;
const tmux = (...args: string[]) => execFileSync('tmux', args, { encoding: 'utf8' });
let server: DovecotServer;
let proxy: FaultProxy;

beforeAll(async () => {
  server = await startDovecot({ users: { alice: 'tty-test' } });
  proxy = await startFaultProxy(server.port, { throttleMs: 400 });
});
afterAll(async () => {
  try {
    tmux('kill-session', '-t', session);
  } catch {
    // already gone
  }
  await proxy.close();
  await server.stop();
});

async function screenShows(test: RegExp): Promise<string> {
  for (let i = 0; i < 150; i++) {
    const screen = tmux('capture-pane', '-p', '-t', session, '-S', '-60');
    if (test.test(screen)) return screen;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`the terminal never showed ${test}:\n${tmux('capture-pane', '-p', '-t', session)}`);
}

test('progress bars, the throttling state, and Ctrl-C on a terminal', async () => {
  const state = join(mkdtempSync(join(tmpdir(), 'pst2imap-tty-')), 'state.db');
  // The fourth APPEND is answered with Outlook.com's throttling words.
  proxy.faults.set(4, 'throttle');
  const command = [
    `cd ${projectRoot} &&`,
    `LANG=C.UTF-8 PST2IMAP_PASSWORD=tty-test node bin/pst2imap.js migrate fixtures/pst/sample.pst`,
    `--to imap://127.0.0.1:${proxy.port} --user alice --provider generic --state ${state} --rate 3 --batch 2 --connections 2;`,
    'echo "exit=$?"; sleep 30',
  ].join(' ');
  tmux('new-session', '-d', '-s', session, '-x', '160', '-y', '40', command);

  const bars = await screenShows(/All \[.*\] \d+\/14 .*msg\/s ETA/);
  expect(bars).toMatch(/Inbox \[.*\] \d+\/8 -> INBOX/);
  expect(bars).toMatch(/All \[.*\] \d+\/14 [\d.]+ (KB|MB) [\d.]+ msg\/s ETA \d+/);
  await screenShows(/throttled by the server: waiting \d+ s, 1 connections/);

  await screenShows(/All \[.*\] [3-9]\/14/);
  tmux('send-keys', '-t', session, 'C-c');
  const stopped = await screenShows(/exit=\d+/);
  expect(stopped).toContain('Stopping: the messages being sent are finished and recorded.');
  expect(stopped).toMatch(/^Sent \d+ messages/m);
  expect(stopped).toContain('Run "pst2imap resume" to carry on where it stopped.');
  expect(stopped).toContain('exit=130');
});
