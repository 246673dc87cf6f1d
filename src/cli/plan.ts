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
import { checkConnectionArgs, resolveConnection, withConnectionOptions, withTargetOptions, type ConnectionArgs } from './connect.js';
import { probeServer } from '../target/probe.js';

interface PlanArgs extends SelectionArgs, ConnectionArgs {
  pst: string;
  provider: ProviderName;
  rate?: number;
  json: boolean;
  quiet: boolean;
}

export function planCommand(io: CliIO, setExitCode: (code: number) => void): CommandModule<object, PlanArgs> {
  return {
    command: 'plan <pst>',
    describe: t('cli.cmd.plan'),
    builder: (yargs) =>
      withConnectionOptions(withTargetOptions(withSelectionOptions(yargs)))
        .positional('pst', { type: 'string', demandOption: true, describe: t('cli.arg.pst') })
        .option('rate', { type: 'number', describe: t('cli.opt.rate') })
        .option('json', { type: 'boolean', default: false, describe: t('cli.opt.json') })
        .option('quiet', { type: 'boolean', default: false, describe: t('cli.opt.quiet') }) as never,
    handler: async (args) => {
      const target = checkConnectionArgs(args);
      if (args.codepage !== undefined && !isKnownCodepage(args.codepage)) {
        throw new UsageError({ problem: t('E_CODEPAGE', { codepage: args.codepage }) });
      }
      const provider = PROVIDERS[args.provider];
      const messagesPerSecond = args.rate === undefined ? provider.messagesPerSecond : parsePositive(args.rate, 'rate');
      let selection = selectionFromArgs(args);
      if (args.pick && !(io.stdin.isTTY && io.stderr.isTTY)) throw new UsageError({ problem: t('usage.pickNeedsTty') });
      const reader = openPst(args.pst, { codepage: args.codepage });
      let server: ServerFacts = provider.facts;
      let serverLine: string | null = null;
      if (target?.kind === 'imap') {
        // Looked at only after the PST opened: a wrong file is reported before any sign-in.
        const connection = await resolveConnection(target, args, provider, io);
        const advertised = await probeServer(connection);
        server = {
          ...advertised,
          appendLimit: advertised.appendLimit ?? provider.messageLimit,
          reservedNames: provider.facts.reservedNames,
          maxNameLength: provider.facts.maxNameLength,
        };
        serverLine = t('plan.server', {
          url: target.url,
          user: connection.user,
          delimiter: advertised.delimiter,
          special: Object.entries(advertised.specialUse).map(([role, path]) => `${role}=${path}`).join(', ') || t('plan.none'),
          utf8: advertised.utf8Accept ? t('plan.yes') : t('plan.no'),
          limit: advertised.appendLimit === null ? t('plan.none') : formatBytes(advertised.appendLimit),
        });
      } else if (target?.kind === 'maildir') {
        // A Maildir tree takes any UTF-8 name and has no special-use folders of its own.
        server = { ...PROVIDERS.generic.facts, utf8Accept: true };
      }

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
          io.stdout.write(`${renderPlan(plan, reader, provider, serverLine, seconds, messagesPerSecond)}\n`);
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

function renderPlan(plan: Plan, reader: PstReader, provider: Provider, serverLine: string | null, seconds: number, rate: number): string {
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
  if (serverLine) {
    lines.push(serverLine);
    if (provider.name !== 'generic') {
      lines.push(
        t('plan.serverPreset', {
          provider: provider.label,
          delimiter: provider.facts.delimiter,
          limit: provider.messageLimit === null ? t('plan.none') : formatBytes(provider.messageLimit),
        }),
      );
    }
  } else {
    lines.push(t('plan.target', { provider: provider.label, delimiter: plan.server.delimiter }));
  }
  const probed = serverLine !== null;
  lines.push('');

  const rows: string[][] = [];
  for (const folder of planFolders(plan.root)) {
    const depth = folder.path.length;
    const name = depth === 0 ? t('plan.top') : `${'  '.repeat(depth - 1)}${folder.path[depth - 1]}`;
    const onServer = !probed || !folder.selected || folder.target === null ? '' : folder.targetExists ? formatCount(folder.targetMessages ?? 0) : t('plan.newMailbox');
    rows.push([
      name,
      folder.selected ? (folder.target ?? t('plan.noMailbox')) : t('plan.notSelected'),
      onServer,
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
        { header: probed ? t('plan.col.onServer') : '', align: 'right' },
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
