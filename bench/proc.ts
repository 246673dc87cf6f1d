/**
 * Runs a program and measures it: wall time, and optionally the peak resident memory of its whole process
 * tree, sampled from /proc (the sum of VmRSS over the process and its descendants, every `rssEveryMs`).
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  seconds: number;
  /** Peak of the summed RSS of the tree, bytes; null when not sampled. */
  peakRssBytes: number | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
  /** Sample the tree's RSS this often (ms); 0 or absent: not sampled. */
  rssEveryMs?: number;
  /** Keep at most this much of stdout / stderr. */
  keepOutput?: number;
}

function parentsOf(): Map<number, number> {
  const parents = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'latin1');
      // pid (comm) state ppid ...: comm may hold spaces and parentheses, so read after the last ')'.
      const after = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parents.set(Number(name), Number(after[1]));
    } catch {
      // gone meanwhile
    }
  }
  return parents;
}

/** Summed VmRSS (bytes) of `root` and every descendant. */
export function treeRss(root: number): number {
  const parents = parentsOf();
  const tree = new Set<number>([root]);
  // Bounded: at most as many passes as there are processes.
  for (let pass = 0, grew = true; grew && pass < parents.size; pass++) {
    grew = false;
    for (const [pid, ppid] of parents) {
      if (!tree.has(pid) && tree.has(ppid)) {
        tree.add(pid);
        grew = true;
      }
    }
  }
  let total = 0;
  for (const pid of tree) {
    try {
      const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
      if (match) total += Number(match[1]) * 1024;
    } catch {
      // gone meanwhile
    }
  }
  return total;
}

export async function run(command: string, args: string[], options: RunOptions = {}): Promise<RunResult> {
  const keep = options.keepOutput ?? 64 * 1024;
  const started = performance.now();
  const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    if (stdout.length < keep) stdout += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    if (stderr.length < keep) stderr += chunk.toString();
  });
  let peak: number | null = null;
  let sampler: NodeJS.Timeout | null = null;
  if (options.rssEveryMs && child.pid) {
    const pid = child.pid;
    peak = 0;
    sampler = setInterval(() => {
      const rss = treeRss(pid);
      if (rss > (peak ?? 0)) peak = rss;
    }, options.rssEveryMs);
  }
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 3600_000);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (c, s) => resolve([c, s]));
  });
  clearTimeout(timer);
  if (sampler) clearInterval(sampler);
  return { code, signal, seconds: (performance.now() - started) / 1000, peakRssBytes: peak, stdout, stderr };
}

/** Runs, and throws with the program's own words when it fails. */
export async function runOk(command: string, args: string[], options: RunOptions = {}): Promise<RunResult> {
  const result = await run(command, args, options);
  if (result.code !== 0) {
    throw new Error(`${command} ${args.join(' ')} exited with ${result.code ?? result.signal}: ${(result.stderr || result.stdout).trim().slice(-2000)}`);
  }
  return result;
}

/** First line of `command --version`-like output, or 'not installed'. */
export async function versionOf(command: string, args: string[]): Promise<string> {
  try {
    const result = await run(command, args, { timeoutMs: 10_000 });
    return (result.stdout + result.stderr).trim().split('\n')[0] ?? '';
  } catch {
    return 'not installed';
  }
}
