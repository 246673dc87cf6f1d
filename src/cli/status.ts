/** `pst2imap status`: where a migration job stands, per folder. Reads the checkpoint store only. */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { CommandModule } from 'yargs';
import { defaultStatePath, openJournal, STATE_FILE_NAME, type FolderCounts, type JobInfo } from '../checkpoint/index.js';
import { EXIT, UsageError } from '../errors.js';
import { t } from '../i18n/index.js';
import type { CliIO } from './output.js';
import { formatCount, renderTable } from './table.js';

interface StatusArgs {
  state?: string;
  job?: number;
  json: boolean;
}

export function statusCommand(io: CliIO, setExitCode: (code: number) => void): CommandModule<object, StatusArgs> {
  return {
    command: 'status',
    describe: t('cli.cmd.status'),
    builder: (yargs) =>
      yargs
        .option('state', { type: 'string', describe: t('cli.opt.state') })
        .option('job', { type: 'number', describe: t('cli.opt.job') })
        .option('json', { type: 'boolean', default: false, describe: t('cli.opt.json') }) as never,
    handler: (args) => {
      const storePath = resolveStorePath(args.state ?? defaultStatePath(io.env));
      // Looking must not create a store: no file, no job.
      if (!existsSync(storePath)) {
        io.stdout.write(args.json ? `${JSON.stringify({ schema: 'pst2imap.status/1', job: null })}\n` : `${t('status.none', { path: storePath })}\n`);
        setExitCode(EXIT.ok);
        return;
      }
      const journal = openJournal(storePath);
      try {
        const view = args.job === undefined ? journal.lastJob() : journal.job(args.job);
        if (!view) {
          if (args.job !== undefined) throw new UsageError({ problem: t('status.noSuchJob', { job: args.job, path: storePath }) });
          io.stdout.write(`${t('status.none', { path: storePath })}\n`);
          setExitCode(EXIT.ok);
          return;
        }
        const info = view.info();
        const folders = view.counts();
        const totals = view.totals();
        if (args.json) {
          io.stdout.write(`${JSON.stringify({ schema: 'pst2imap.status/1', job: jobJson(info), folders: folders.map(folderJson), totals })}\n`);
        } else {
          io.stdout.write(`${renderStatus(info, folders, totals)}\n`);
        }
        setExitCode(totals.failed > 0 ? EXIT.incomplete : EXIT.ok);
      } finally {
        journal.close();
      }
    },
  };
}

function resolveStorePath(path: string): string {
  return existsSync(path) && statSync(path).isDirectory() ? join(path, STATE_FILE_NAME) : path;
}

function jobJson(info: JobInfo) {
  return {
    id: info.id,
    pst: info.pstPath,
    target: info.target,
    status: info.status,
    createdAt: info.createdAt.toISOString(),
    updatedAt: info.updatedAt.toISOString(),
  };
}

function folderJson(folder: FolderCounts) {
  const { folderPath, targetMailbox, ...counts } = folder;
  return { folder: folderPath, target: targetMailbox, ...counts };
}

function renderStatus(info: JobInfo, folders: FolderCounts[], totals: Omit<FolderCounts, 'folderPath' | 'targetMailbox'>): string {
  const header = t('status.header', {
    id: info.id,
    pst: info.pstPath,
    target: info.target.user ? `${info.target.url} (${info.target.user})` : info.target.url,
    status: t(`status.job.${info.status}`),
    updated: info.updatedAt.toLocaleString(),
  });
  const row = (name: string, target: string, c: typeof totals) => [
    name,
    target,
    formatCount(c.done),
    formatCount(c.pending),
    formatCount(c.in_flight),
    formatCount(c.skipped),
    formatCount(c.failed),
  ];
  const table = renderTable(
    [
      { header: t('status.col.folder') },
      { header: t('status.col.target') },
      { header: t('status.col.done'), align: 'right' },
      { header: t('status.col.pending'), align: 'right' },
      { header: t('status.col.inFlight'), align: 'right' },
      { header: t('status.col.skipped'), align: 'right' },
      { header: t('status.col.failed'), align: 'right' },
    ],
    [
      ...folders.map((folder) => row(folder.folderPath.join('/'), folder.targetMailbox, folder)),
      row(t('status.total'), '', totals),
    ],
  );
  const next = totals.pending + totals.in_flight + totals.failed > 0 ? `\n${t('status.resumeHint')}` : '';
  return `${header}\n\n${table}${next}`;
}
