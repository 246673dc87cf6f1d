/**
 * `pst2imap verify [file.pst]`: per target folder, the selected PST messages against the server's, by
 * Message-ID: missing and doubled ones counted; exit code 6 on any gap. Without a PST, the last job's
 * PST, target and selection (from the checkpoint store).
 */
import type { CommandModule } from 'yargs';
import { defaultStatePath } from '../checkpoint/index.js';
import { verify, type VerifyResult } from '../engine/index.js';
import { EXIT } from '../errors.js';
import { t } from '../i18n/index.js';
import { PROVIDERS } from '../target/providers.js';
import { withConnectionOptions, withTargetOptions } from './connect.js';
import { buildTarget, type MigrateArgs } from './migrate.js';
import { selectionFromArgs, withSelectionOptions } from './options.js';
import type { CliIO } from './output.js';
import { argsOfJob, storedJob } from './resume.js';
import { formatCount, renderTable } from './table.js';

interface VerifyArgs extends Omit<MigrateArgs, 'pst'> {
  pst?: string;
  job?: number;
}

export function verifyCommand(io: CliIO, setExitCode: (code: number) => void): CommandModule<object, VerifyArgs> {
  return {
    command: 'verify [pst]',
    describe: t('cli.cmd.verify'),
    builder: (yargs) =>
      withConnectionOptions(withTargetOptions(withSelectionOptions(yargs)))
        .positional('pst', { type: 'string', describe: t('cli.arg.pst') })
        .option('state', { type: 'string', describe: t('cli.opt.state') })
        .option('job', { type: 'number', describe: t('cli.opt.job') })
        .option('json', { type: 'boolean', default: false, describe: t('cli.opt.json') }) as never,
    handler: async (given) => {
      const statePath = given.state ?? defaultStatePath(io.env);
      const args: MigrateArgs =
        given.pst === undefined
          ? argsOfJob(storedJob(statePath, given.job), { state: given.state, 'password-file': given['password-file'] })
          : ({ ...given, pst: given.pst } as MigrateArgs);
      const provider = PROVIDERS[args.provider];
      const target = await buildTarget(args, provider, io);
      const result = await verify({
        pstPath: args.pst,
        codepage: args.codepage,
        selection: selectionFromArgs(args),
        target,
        provider: { messageLimit: provider.messageLimit, reservedNames: provider.facts.reservedNames, maxNameLength: provider.facts.maxNameLength },
        statePath,
      });
      if (given.json) {
        io.stdout.write(`${JSON.stringify({ schema: 'pst2imap.verify/1', pst: args.pst, target: target.url, ...result })}\n`);
      } else {
        io.stdout.write(`${renderVerify(result)}\n`);
      }
      setExitCode(result.missing > 0 || result.duplicates > 0 ? EXIT.incomplete : EXIT.ok);
    },
  };
}

function renderVerify(result: VerifyResult): string {
  const table = renderTable(
    [
      { header: t('verify.col.folder') },
      { header: t('verify.col.target') },
      { header: t('verify.col.expected'), align: 'right' },
      { header: t('verify.col.onServer'), align: 'right' },
      { header: t('verify.col.missing'), align: 'right' },
      { header: t('verify.col.duplicates'), align: 'right' },
      { header: t('verify.col.others'), align: 'right' },
    ],
    [
      ...result.folders.map((folder) => [
        folder.folder.join('/'),
        folder.mailbox,
        formatCount(folder.expected),
        formatCount(folder.onServer),
        formatCount(folder.missing),
        formatCount(folder.duplicates),
        formatCount(folder.others),
      ]),
      [t('verify.total'), '', formatCount(result.expected), '', formatCount(result.missing), formatCount(result.duplicates), ''],
    ],
  );
  const lines = [table, ''];
  for (const folder of result.folders) {
    if (folder.missingIds.length > 0) lines.push(t('verify.missingIds', { mailbox: folder.mailbox, ids: folder.missingIds.map((id) => `<${id}>`).join(' ') }));
  }
  lines.push(result.missing + result.duplicates === 0 ? t('verify.ok') : t('verify.gaps', { missing: formatCount(result.missing), duplicates: formatCount(result.duplicates) }));
  return lines.join('\n');
}
