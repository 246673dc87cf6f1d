/**
 * `pst2imap resume`: continues the last migration job (or --job N) with the options it was started
 * with, as stored in the checkpoint store. Secrets were never stored: the password comes again from
 * PST2IMAP_PASSWORD, --password-file or the prompt; an OAuth2 token from the token cache.
 */
import { existsSync } from 'node:fs';
import type { CommandModule } from 'yargs';
import { defaultStatePath, openJournal, type JobInfo } from '../checkpoint/index.js';
import { UsageError } from '../errors.js';
import { t } from '../i18n/index.js';
import type { ProviderName } from '../target/providers.js';
import { runMigrate, type MigrateArgs } from './migrate.js';
import type { CliIO } from './output.js';

interface ResumeArgs {
  state?: string;
  job?: number;
  json: boolean;
  quiet: boolean;
  'password-file'?: string;
}

export function resumeCommand(io: CliIO, setExitCode: (code: number) => void): CommandModule<object, ResumeArgs> {
  return {
    command: 'resume',
    describe: t('cli.cmd.resume'),
    builder: (yargs) =>
      yargs
        .option('state', { type: 'string', describe: t('cli.opt.state') })
        .option('job', { type: 'number', describe: t('cli.opt.job') })
        .option('password-file', { type: 'string', describe: t('cli.opt.passwordFile2') })
        .option('json', { type: 'boolean', default: false, describe: t('cli.opt.jsonEvents') })
        .option('quiet', { type: 'boolean', default: false, describe: t('cli.opt.quiet') }) as never,
    handler: async (args) => {
      const info = storedJob(args.state ?? defaultStatePath(io.env), args.job);
      setExitCode(await runMigrate(argsOfJob(info, args), io));
    },
  };
}

/** The job to continue: --job N, else the last one used. Reading only: the store is not created. */
export function storedJob(statePath: string, jobId: number | undefined): JobInfo {
  if (!existsSync(statePath)) throw new UsageError({ problem: t('resume.none', { path: statePath }) });
  const journal = openJournal(statePath);
  try {
    const view = jobId === undefined ? journal.lastJob() : journal.job(jobId);
    if (!view) {
      throw new UsageError({
        problem: jobId === undefined ? t('resume.none', { path: journal.path }) : t('status.noSuchJob', { job: jobId, path: journal.path }),
      });
    }
    return view.info();
  } finally {
    journal.close();
  }
}

/** The migrate command line a job was started with, and what this command adds. */
export function argsOfJob(info: JobInfo, overrides: { state?: string; json?: boolean; quiet?: boolean; 'password-file'?: string }): MigrateArgs {
  const stored = info.options as Partial<MigrateArgs>;
  const to = stored.to ?? info.target.url;
  return {
    ...stored,
    pst: info.pstPath,
    to,
    user: stored.user ?? (info.target.user || undefined),
    provider: (stored.provider ?? 'generic') as ProviderName,
    state: overrides.state,
    batch: stored.batch ?? 50,
    'pause-between-batches': stored['pause-between-batches'] ?? 0,
    'skip-existing': stored['skip-existing'] ?? false,
    'max-attempts': stored['max-attempts'] ?? 5,
    'password-file': overrides['password-file'] ?? stored['password-file'],
    insecure: stored.insecure ?? false,
    'allow-plaintext': stored['allow-plaintext'] ?? false,
    pick: false,
    json: overrides.json ?? false,
    quiet: overrides.quiet ?? false,
  };
}
