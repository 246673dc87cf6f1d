/**
 * The baseline's upload half: mbsync (isync) pushing a Maildir to an IMAP server. The configuration is
 * generated in a temporary folder: a Maildir store (SubFolders Verbatim), an IMAP store without TLS on
 * loopback, one push-only channel per connection. Everything else is left at mbsync's defaults, among
 * them PipelineDepth (unlimited: every APPEND of a folder goes out without waiting for the one before,
 * with LITERAL+ when the server offers it).
 *
 * mbsync opens one IMAP connection per channel and runs the channels of one invocation one after the
 * other, so N connections are N mbsync processes at once, each with its own share of the folders.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { run, type RunResult } from './proc.js';

export interface MbsyncTarget {
  host: '127.0.0.1';
  port: number;
  user: string;
  password: string;
}

export interface MbsyncJob {
  /** Maildir root. */
  maildir: string;
  /** Folders under the root (Verbatim), each pushed to a mailbox of the same name. */
  folders: string[];
}

function configText(target: MbsyncTarget, job: MbsyncJob, stateDir: string): string {
  const patterns = job.folders.map((f) => `"${f.replace(/"/g, '\\"')}"`).join(' ');
  return [
    'IMAPAccount far',
    `Host ${target.host}`,
    `Port ${target.port}`,
    `User ${target.user}`,
    `Pass ${target.password}`,
    'SSLType None',
    'AuthMechs LOGIN',
    '',
    'IMAPStore far',
    'Account far',
    '',
    'MaildirStore near',
    `Path ${job.maildir}/`,
    'SubFolders Verbatim',
    '',
    'Channel push',
    'Far :far:',
    'Near :near:',
    `Patterns ${patterns}`,
    'Create Far',
    'Sync Push',
    'Expunge None',
    'CopyArrivalDate yes',
    `SyncState ${stateDir}/`,
    '',
  ].join('\n');
}

export interface MbsyncRun {
  seconds: number;
  results: RunResult[];
  /** Runs repeated after a spurious "CREATE ... ALREADYEXISTS" (see below). */
  retries: number;
}

/** Runs one mbsync per job at once (one connection each) and waits for all of them. */
export async function pushWithMbsync(target: MbsyncTarget, jobs: MbsyncJob[], workDir: string): Promise<MbsyncRun> {
  const configs = jobs.map((job, i) => {
    const dir = join(workDir, `mbsync-${i}`);
    mkdirSync(join(dir, 'state'), { recursive: true });
    const config = join(dir, 'mbsyncrc');
    writeFileSync(config, configText(target, job, join(dir, 'state')), { mode: 0o600 });
    return config;
  });
  const started = performance.now();
  let retries = 0;
  // With several mbsync processes on one Dovecot account, a LIST now and then misses a mailbox another
  // session just created (Dovecot's mailbox list index), and mbsync then fails on its own CREATE with
  // ALREADYEXISTS. The same command again carries on from its sync state; the retry stays in the time.
  const once = async (config: string): Promise<RunResult> => {
    for (let attempt = 1; ; attempt++) {
      const result = await run('mbsync', ['-c', config, '-q', 'push'], { timeoutMs: 3 * 3600_000 });
      if (result.code === 0 || attempt >= 3 || !/ALREADYEXISTS/.test(result.stderr)) return result;
      retries++;
    }
  };
  const results = await Promise.all(configs.map(once));
  const seconds = (performance.now() - started) / 1000;
  for (const result of results) {
    if (result.code !== 0) throw new Error(`mbsync failed (${result.code}): ${(result.stderr || result.stdout).trim().slice(-1500)}`);
  }
  return { seconds, results, retries };
}
