/**
 * `pst2imap plan <file.pst>`: the dry run. Reads the PST, builds the plan and prints it; writes
 * nothing, and touches no network unless `--to` names a server to look at (read-only).
 */
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { basename } from 'node:path';
import cliProgress from 'cli-progress';
import type { Argv, CommandModule } from 'yargs';
import { EXIT, UsageError } from '../errors.js';
import { t } from '../i18n/index.js';
import { estimateSeconds, planFolders, planToJson, PlanBuilder, type Plan, type PlanFolder } from '../plan/index.js';
import type { SelectionOptions, ServerFacts } from '../plan/types.js';
import { isKnownCodepage } from '../pst/codepage.js';
import { openPst, type PstFolder, type PstReader } from '../pst/index.js';
import { PROVIDERS, type Provider, type ProviderName } from '../target/providers.js';
import { parsePositive, selectionFromArgs, withSelectionOptions, type SelectionArgs } from './options.js';
import type { CliIO } from './output.js';
import { formatBytes, formatCount, formatDay, formatDuration, renderTable } from './table.js';
import { pickFolders } from './pick.js';

interface PlanArgs extends SelectionArgs {
  pst: string;
  to?: string;
  provider: ProviderName;
  user?: string;
  password?: string;
  rate?: number;
  json: boolean;
  quiet: boolean;
}

export function withTargetOptions<T>(yargs: Argv<T>) {
  return yargs
    .option('to', { type: 'string', describe: t('cli.opt.to') })
    .option('provider', {
      type: 'string',
      choices: ['outlook', 'office365', 'generic'] as const,
      default: 'outlook' as const,
      describe: t('cli.opt.provider'),
    })
    .option('user', { type: 'string', describe: t('cli.opt.user') })
    // Declared only to refuse it with a reason: a password in argv shows in every user's `ps`.
    .option('password', { type: 'string', hidden: true, describe: t('cli.opt.password') });
}

export function planCommand(io: CliIO, setExitCode: (code: number) => void): CommandModule<object, PlanArgs> {
  return {
    command: 'plan <pst>',
    describe: t('cli.cmd.plan'),
    builder: (yargs) =>
      withTargetOptions(withSelectionOptions(yargs))
        .positional('pst', { type: 'string', demandOption: true, describe: t('cli.arg.pst') })
        .option('rate', { type: 'number', describe: t('cli.opt.rate') })
        .option('json', { type: 'boolean', default: false, describe: t('cli.opt.json') })
        .option('quiet', { type: 'boolean', default: false, describe: t('cli.opt.quiet') }) as never,
    handler: async (args) => {
      if (args.password !== undefined) throw new UsageError({ problem: t('usage.passwordArgument') });
      if (args.codepage !== undefined && !isKnownCodepage(args.codepage)) {
        throw new UsageError({ problem: t('E_CODEPAGE', { codepage: args.codepage }) });
      }
      const provider = PROVIDERS[args.provider];
      const messagesPerSecond = args.rate === undefined ? provider.messagesPerSecond : parsePositive(args.rate, 'rate');
      let selection = selectionFromArgs(args);
      if (args.pick && !(io.stdin.isTTY && io.stderr.isTTY)) throw new UsageError({ problem: t('usage.pickNeedsTty') });
      if (args.to !== undefined) throw new UsageError({ problem: t('usage.toNotYet', { target: args.to }) });
      const server: ServerFacts = provider.facts;

      const reader = openPst(args.pst, { codepage: args.codepage });
      try {
        const topFolderName = reader.store.displayName || basename(args.pst).replace(/\.(pst|ost)$/i, '');
        const showProgress = !args.json && !args.quiet && Boolean(io.stderr.isTTY);
        let plan = await scan(reader, selection, server, topFolderName, showProgress, io);
        if (args.pick) {
          selection = await pickFolders(plan, selection);
          plan = new PlanBuilder(reader.root, selection, server, { topFolderName }).adopt(plan);
        }
        const seconds = estimateSeconds(plan, { messagesPerSecond });
        if (args.json) {
          const pst = {
            path: reader.store.path,
            kind: reader.store.kind,
            format: reader.store.format,
            encryption: reader.store.encryption,
            displayName: reader.store.displayName,
            fileSize: reader.store.fileSize,
            codepage: reader.store.codepage,
            problems: reader.problems.map(({ folderPath, nid, code, detail }) => ({ folderPath, nid, code, detail })),
          };
          io.stdout.write(`${JSON.stringify(planToJson(plan, { pst, estimateSeconds: seconds }), null, 2)}\n`);
        } else {
          io.stdout.write(`${renderPlan(plan, reader, provider, seconds, messagesPerSecond)}\n`);
        }
        const unreadable = plan.totals.problems + reader.problems.length;
        setExitCode(unreadable > 0 ? EXIT.incomplete : EXIT.ok);
      } finally {
        reader.close();
      }
    },
  };
}

/** Reads every folder's items into the plan, with a progress bar on a terminal. */
async function scan(
  reader: PstReader,
  selection: SelectionOptions,
  server: ServerFacts,
  topFolderName: string,
  showProgress: boolean,
  io: CliIO,
): Promise<Plan> {
  const builder = new PlanBuilder(reader.root, selection, server, { topFolderName });
  const folders: PstFolder[] = [];
  const collect = (folder: PstFolder) => {
    folders.push(folder);
    folder.children.forEach(collect);
  };
  collect(reader.root);
  const total = folders.reduce((sum, folder) => sum + folder.contentCount, 0);
  const bar = showProgress
    ? new cliProgress.SingleBar(
        { stream: io.stderr as NodeJS.WritableStream, format: `${t('plan.scanning')} [{bar}] {value}/{total}`, clearOnComplete: true, hideCursor: true },
        cliProgress.Presets.shades_classic,
      )
    : null;
  bar?.start(total, 0);
  let done = 0;
  for (const folder of folders) {
    for (const entry of reader.items(folder)) {
      builder.add(folder.nid, entry);
      if (!('problem' in entry) && ++done % 200 === 0) {
        bar?.update(done);
        // Reading is synchronous: give the terminal (and Ctrl-C) a turn now and then.
        await yieldToEventLoop();
      }
    }
  }
  bar?.update(done);
  bar?.stop();
  return builder.finish();
}

function kindCount(kind: string, count: number): string {
  return t('plan.kindCount', { kind: t(`plan.kind.${kind as 'contact'}`), count: formatCount(count) });
}

function roleLabel(folder: PlanFolder): string {
  return folder.role ? t(`plan.role.${folder.role}`) : '';
}

function skippedLabel(folder: PlanFolder): string {
  const parts: string[] = [];
  const nonMail = Object.entries(folder.nonMail);
  if (nonMail.length > 0) {
    parts.push(nonMail.map(([kind, count]) => kindCount(kind, count)).join(', '));
  }
  if (folder.skipped['too-large'] > 0) parts.push(t('plan.skip.tooLarge', { count: formatCount(folder.skipped['too-large']) }));
  if (folder.skipped['outside-dates'] > 0) parts.push(t('plan.skip.outsideDates', { count: formatCount(folder.skipped['outside-dates']) }));
  return parts.join(', ');
}

function renderPlan(plan: Plan, reader: PstReader, provider: Provider, seconds: number, rate: number): string {
  const store = reader.store;
  const lines: string[] = [];
  lines.push(
    t('plan.header', {
      file: store.path,
      format: t(`plan.format.${store.format}`),
      kind: store.kind.toUpperCase(),
      size: formatBytes(store.fileSize),
      encryption: t(`plan.encryption.${store.encryption}`),
      codepage: store.codepage,
    }),
  );
  lines.push(t('plan.target', { provider: provider.label, delimiter: plan.server.delimiter }));
  lines.push('');

  const rows: string[][] = [];
  for (const folder of planFolders(plan.root)) {
    const depth = folder.path.length;
    const name = depth === 0 ? t('plan.top') : `${'  '.repeat(depth - 1)}${folder.path[depth - 1]}`;
    rows.push([
      name,
      folder.selected ? (folder.target ?? t('plan.noMailbox')) : t('plan.notSelected'),
      roleLabel(folder),
      folder.selected ? formatCount(folder.send) : '',
      folder.selected && folder.send > 0 ? formatBytes(folder.sendBytes) : '',
      folder.selected ? skippedLabel(folder) : '',
      folder.selected ? formatDay(folder.oldest) : '',
      folder.selected ? formatDay(folder.newest) : '',
    ]);
  }
  lines.push(
    renderTable(
      [
        { header: t('plan.col.folder') },
        { header: t('plan.col.target') },
        { header: t('plan.col.role') },
        { header: t('plan.col.send'), align: 'right' },
        { header: t('plan.col.size'), align: 'right' },
        { header: t('plan.col.skipped') },
        { header: t('plan.col.oldest') },
        { header: t('plan.col.newest') },
      ],
      rows,
    ),
  );

  const changes = [...planFolders(plan.root)].flatMap((folder) =>
    folder.nameChanges.map((change) => `  ${folder.path.join('/') || t('plan.top')}: "${change.from}" -> "${change.to}" (${t(`plan.change.${change.kind}`)})`),
  );
  if (changes.length > 0) lines.push('', t('plan.nameChanges'), ...changes);

  const problems = [
    ...reader.problems,
    ...[...planFolders(plan.root)].flatMap((folder) => folder.problems),
  ].map((problem) => `  ${problem.folderPath.join('/') || t('plan.top')}: ${problem.nid === null ? '' : `${t('plan.item')} ${problem.nid}: `}${problem.detail}`);
  if (problems.length > 0) lines.push('', t('plan.problems', { count: problems.length }), ...problems);

  const totals = plan.totals;
  const nonMail = Object.entries(totals.nonMail)
    .map(([kind, count]) => kindCount(kind, count))
    .join(', ');
  lines.push(
    '',
    t('plan.skippedTotals', {
      nonMail: formatCount(totals.skipped['non-mail']),
      kinds: nonMail ? ` (${nonMail})` : '',
      tooLarge: formatCount(totals.skipped['too-large']),
      limit: plan.sizeLimit === null ? t('plan.noLimit') : formatBytes(plan.sizeLimit),
      outsideDates: formatCount(totals.skipped['outside-dates']),
    }),
    t('plan.totals', {
      send: formatCount(totals.send),
      size: formatBytes(totals.sendBytes),
      folders: formatCount(totals.foldersSelected),
      oldest: formatDay(totals.oldest) || '-',
      newest: formatDay(totals.newest) || '-',
    }),
    t('plan.estimate', { duration: formatDuration(seconds), rate: formatCount(rate) }),
    t('plan.nothingWritten'),
  );
  return lines.join('\n');
}
