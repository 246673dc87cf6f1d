/** Runs test/checkpoint/support/journal-worker.ts in its own process (node --import tsx). */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const projectRoot = join(here, '..', '..', '..');
const worker = join(here, 'journal-worker.ts');

export interface Worker {
  child: ChildProcessWithoutNullStreams;
  /** Resolves with the first stdout line that matches. */
  waitFor(pattern: RegExp): Promise<string>;
  /** Resolves when the process has ended, with its exit code and signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
}

export function startWorker(args: string[], env: Record<string, string> = {}): Worker {
  const child = spawn(process.execPath, ['--import', 'tsx', worker, ...args], {
    cwd: projectRoot,
    env: { ...process.env, ...env },
  });
  let stdout = '';
  let stderr = '';
  let partialLine = '';
  const waiters: Array<{ pattern: RegExp; resolve: (line: string) => void }> = [];
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    const lines = (partialLine + chunk).split('\n');
    partialLine = lines.pop()!;
    for (const line of lines) {
      for (const waiter of [...waiters]) {
        if (waiter.pattern.test(line)) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve(line);
        }
      }
    }
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>(
    (resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return {
    child,
    exited,
    waitFor: (pattern) =>
      new Promise<string>((resolve, reject) => {
        waiters.push({ pattern, resolve });
        void exited.then(({ code, signal }) =>
          reject(new Error(`worker ended (${code ?? signal}) before ${pattern}: ${stderr}`)),
        );
      }),
  };
}
