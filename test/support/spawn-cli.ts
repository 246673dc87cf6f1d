/**
 * The real `pst2imap` executable, started in the background with its output read line by line, so that
 * a test can act (kill -9, Ctrl-C) at a chosen moment of a run.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from './cli.js';

export interface RunningCli {
  child: ChildProcess;
  stdoutLines: string[];
  stderr: string;
  /** Resolves with the first stdout line matching `test` (already seen or to come); rejects at exit. */
  waitForLine(test: (line: string) => boolean): Promise<string>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function spawnCli(args: string[], env: Record<string, string> = {}): RunningCli {
  const home = mkdtempSync(join(tmpdir(), 'pst2imap-home-'));
  const child = spawn(process.execPath, [join(projectRoot, 'bin', 'pst2imap.js'), ...args], {
    cwd: projectRoot,
    env: { PATH: process.env.PATH, HOME: home, XDG_CONFIG_HOME: join(home, '.config'), XDG_STATE_HOME: join(home, '.local', 'state'), LANG: 'C.UTF-8', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const running: RunningCli = {
    child,
    stdoutLines: [],
    stderr: '',
    waitForLine: () => Promise.reject(new Error('not ready')),
    exited: new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal }))),
  };
  const waiters: Array<{ test: (line: string) => boolean; resolve: (line: string) => void }> = [];
  let partial = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    partial += chunk;
    const lines = partial.split('\n');
    partial = lines.pop()!;
    for (const line of lines) {
      running.stdoutLines.push(line);
      for (const waiter of [...waiters]) {
        if (waiter.test(line)) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve(line);
        }
      }
    }
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (running.stderr += chunk));
  running.waitForLine = (test) =>
    new Promise((resolve, reject) => {
      const seen = running.stdoutLines.find(test);
      if (seen !== undefined) return resolve(seen);
      waiters.push({ test, resolve });
      void running.exited.then(() => reject(new Error(`exited before the line came; stderr: ${running.stderr}`)));
    });
  child.stdin!.end();
  return running;
}
