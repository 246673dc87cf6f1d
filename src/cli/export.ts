/**
 * `pst2imap export <file.pst> --to DIR`: the offline mode. Writes the selected folders' mail as .eml
 * files or a Maildir tree, with the same selection and mapping as `plan` and `migrate`, and with
 * `--export-other DIR` the items IMAP cannot hold (contacts, appointments, tasks, notes) as vCard,
 * iCalendar and text files.
 *
 * Names are stable so that a second run overwrites what the first wrote instead of adding copies, and no
 * file is ever half written (src/target/files.ts). The items are read, rebuilt and written by the
 * engine's threads, one per core (src/engine/export.ts).
 */
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import cliProgress from 'cli-progress';
import type { CommandModule } from 'yargs';
import { describeFailure, EXPORT_THREADS_MAX, exportFolders, type ExportCounts, type ExportFolder, type ExportProblem } from '../engine/export.js';
import { EXIT, Pst2ImapError, UsageError } from '../errors.js';
import { t } from '../i18n/index.js';
import type { RebuildWarning } from '../mime/types.js';
import { isMailContainer, planFolders, PlanBuilder, type Plan } from '../plan/index.js';
import type { SelectionOptions } from '../plan/types.js';
import { isKnownCodepage } from '../pst/codepage.js';
import { openPst, type ItemKind, type PstFolder, type PstReader } from '../pst/index.js';
import { folderDirectories, isFatalWrite, type ExportFormat } from '../target/files.js';
import { FOLDER_TREE_FACTS } from '../target/maildir.js';
import { selectionFromArgs, withSelectionOptions, type SelectionArgs } from './options.js';
import type { CliIO } from './output.js';
import { formatBytes, formatCount } from './table.js';

interface ExportArgs extends SelectionArgs {
  pst: string;
  to: string;
  format: ExportFormat;
  'export-other'?: string;
  quiet: boolean;
  threads?: number;
}

export interface ExportSummary extends ExportCounts {
  /** Target folders made. */
  folders: number;
}

export function exportCommand(io: CliIO, setExitCode: (code: number) => void): CommandModule<object, ExportArgs> {
  return {
    command: 'export <pst>',
    describe: t('cli.cmd.export'),
    builder: (yargs) =>
      withSelectionOptions(yargs)
        .positional('pst', { type: 'string', demandOption: true, describe: t('cli.arg.pst') })
        .option('to', { type: 'string', demandOption: true, requiresArg: true, describe: t('cli.opt.exportTo') })
        .option('format', { choices: ['eml', 'maildir'], default: 'eml', describe: t('cli.opt.format') })
        .option('export-other', { type: 'string', requiresArg: true, describe: t('cli.opt.exportOther') })
        .option('quiet', { type: 'boolean', default: false, describe: t('cli.opt.quiet') })
        .option('threads', { type: 'number', requiresArg: true, describe: t('cli.opt.threads', { max: EXPORT_THREADS_MAX }) }) as never,
    handler: async (args) => {
      if (args.codepage !== undefined && !isKnownCodepage(args.codepage)) {
        throw new UsageError({ problem: t('E_CODEPAGE', { codepage: args.codepage }) });
      }
      if (args.threads !== undefined && !(Number.isInteger(args.threads) && args.threads >= 1 && args.threads <= EXPORT_THREADS_MAX)) {
        throw new UsageError({ problem: t('usage.threads', { value: String(args.threads), max: EXPORT_THREADS_MAX }) });
      }
      let selection = selectionFromArgs(args);
      if (args.pick && !(io.stdin.isTTY && io.stderr.isTTY)) throw new UsageError({ problem: t('usage.pickNeedsTty') });
      // The PST is checked first: a wrong file is reported before anything is created.
      const reader = openPst(args.pst, { codepage: args.codepage });
      try {
        const outputDir = checkOutputDir(args.to, 'to');
        const otherDir = args['export-other'] === undefined ? null : checkOutputDir(args['export-other'], 'export-other');
        const topFolderName = reader.store.displayName || basename(args.pst).replace(/\.(pst|ost)$/i, '');
        const showProgress = !args.quiet && Boolean(io.stderr.isTTY);
        // --pick shows each folder's counts, so it reads every item's summary first; otherwise only the
        // folders whose target depends on their items are read ahead (see scanPlan).
        let plan = await scanPlan(reader, selection, topFolderName, showProgress, io, args.pick ? 'all' : 'needed');
        if (args.pick) {
          // Loaded only here: the prompt library costs some 30 ms to load, on every run otherwise.
          const { pickFolders } = await import('./pick.js');
          selection = await pickFolders(plan, selection);
          plan = new PlanBuilder(reader.root, selection, FOLDER_TREE_FACTS, { topFolderName }).adopt(plan);
        }
        const summary = await exportPlan(reader, plan, { outputDir, otherDir, format: args.format, showProgress, io, codepage: args.codepage, threads: args.threads });
        io.stdout.write(`${renderSummary(summary, reader, outputDir, otherDir)}\n`);
        const problems = summary.failed.length + reader.problems.length;
        setExitCode(problems > 0 ? EXIT.incomplete : EXIT.ok);
      } finally {
        reader.close();
      }
    },
  };
}

/** The output folder must be a folder we can write to; it is created when missing. */
function checkOutputDir(dir: string, option: string): string {
  const path = resolve(dir);
  try {
    mkdirSync(path, { recursive: true });
    if (!statSync(path).isDirectory()) throw new Error('not a directory');
    const probe = join(path, `.pst2imap-probe-${process.pid}`);
    writeFileSync(probe, '');
    rmSync(probe);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const what = code === 'EEXIST' || code === 'ENOTDIR' || (error as Error).message === 'not a directory' ? t('export.notDir') : (error as Error).message;
    throw new Pst2ImapError('E_OUTPUT_DIR', { dir: path, option, what });
  }
  return path;
}

/**
 * Reads item summaries into a plan against a folder tree on disk, with a bar on a terminal: of every
 * folder (`all`), or (`needed`) only of the folders whose target depends on their items. That is the top
 * of the PST and folders not made for mail (contacts, calendar, ...), which get no target when they hold
 * no mail (PlanBuilder.finish); a mail folder's target is the same whatever it holds. exportPlan reads
 * every item it writes anyway, so with `needed` each item of a mail folder is read once, not twice; the
 * plan's counts of those folders stay at zero (exportPlan counts what it writes itself).
 */
export async function scanPlan(
  reader: PstReader,
  selection: SelectionOptions,
  topFolderName: string,
  showProgress: boolean,
  io: CliIO,
  read: 'all' | 'needed' = 'all',
): Promise<Plan> {
  const builder = new PlanBuilder(reader.root, selection, FOLDER_TREE_FACTS, { topFolderName });
  const folders: PstFolder[] = [];
  const collect = (folder: PstFolder) => {
    if (read === 'all' || folder.path.length === 0 || !isMailContainer(folder.containerClass)) folders.push(folder);
    folder.children.forEach(collect);
  };
  collect(reader.root);
  const bar = showProgress ? progressBar(io, t('plan.scanning')) : null;
  bar?.start(folders.reduce((sum, folder) => sum + folder.contentCount, 0), 0);
  let done = 0;
  for (const folder of folders) {
    for (const entry of reader.items(folder)) {
      builder.add(folder.nid, entry);
      if (++done % 200 === 0) {
        bar?.update(done);
        // Reading is synchronous: give the terminal (and Ctrl-C) a turn now and then.
        await yieldToEventLoop();
      }
    }
  }
  bar?.stop();
  return builder.finish();
}

function progressBar(io: CliIO, label: string): cliProgress.SingleBar {
  return new cliProgress.SingleBar(
    { stream: io.stderr as NodeJS.WritableStream, format: `${label} [{bar}] {value}/{total}`, clearOnComplete: true, hideCursor: true },
    cliProgress.Presets.shades_classic,
  );
}

interface ExportOptions {
  outputDir: string;
  otherDir: string | null;
  format: ExportFormat;
  showProgress: boolean;
  io: CliIO;
  codepage?: number;
  /** Threads reading and rebuilding (default: one per core; see exportThreads). */
  threads?: number;
}

/**
 * Follows the plan: each selected folder's directories are made here, in the plan's order; then its
 * items are read, rebuilt and written by the engine's threads (src/engine/export.ts), items that are not
 * mail to `otherDir`.
 */
export async function exportPlan(reader: PstReader, plan: Plan, options: ExportOptions): Promise<ExportSummary> {
  const folders = new Map<number, PstFolder>();
  const index = (folder: PstFolder) => {
    folders.set(folder.nid, folder);
    folder.children.forEach(index);
  };
  index(reader.root);
  const made: ExportFolder[] = [];
  const failed: ExportProblem[] = [];
  let stopped: string | null = null;
  let folderCount = 0;
  let total = 0;
  for (const planFolder of planFolders(plan.root)) {
    const folder = planFolder.selected ? folders.get(planFolder.nid) : undefined;
    if (!folder) continue;
    const where = folder.path.join('/') || t('plan.top');
    const mailDir = planFolder.target === null ? null : join(options.outputDir, ...folderDirectories(planFolder.target, options.format));
    if (mailDir) {
      try {
        // Empty mail folders are made too: they are the user's filing structure.
        mkdirSync(options.format === 'maildir' ? join(mailDir, 'cur') : mailDir, { recursive: true });
        if (options.format === 'maildir') for (const sub of ['new', 'tmp']) mkdirSync(join(mailDir, sub), { recursive: true });
        folderCount++;
      } catch (error) {
        failed.push({ folder: where, nid: null, detail: describeFailure(error) });
        // A disk that refuses this folder refuses the rest: the folders before it are still written.
        if (isFatalWrite(error)) {
          stopped = describeFailure(error);
          break;
        }
        continue;
      }
    }
    const otherDir = options.otherDir === null ? null : join(options.otherDir, ...folderDirectories(folder.path.join('/') || topName(reader), 'eml'));
    made.push({ nid: folder.nid, where, role: folder.role, mailDir, otherDir });
    // Folders the plan did not read (scanPlan 'needed') count by the number of items they say they hold.
    total += planFolder.itemsRead || folder.contentCount;
  }
  const bar = options.showProgress ? progressBar(options.io, t('export.writing')) : null;
  bar?.start(total, 0);
  const counts = await exportFolders(reader, {
    codepage: options.codepage,
    format: options.format,
    selection: plan.selection,
    sizeLimit: plan.sizeLimit,
    folders: made,
    items: total,
    threads: options.threads,
    onProgress: (done) => bar?.update(done),
  });
  bar?.stop();
  return { ...counts, folders: folderCount, failed: [...failed, ...counts.failed], stopped: stopped ?? counts.stopped };
}

function topName(reader: PstReader): string {
  return reader.store.displayName || basename(reader.store.path).replace(/\.(pst|ost)$/i, '');
}

function kindList(kinds: Partial<Record<ItemKind, number>>): string {
  return Object.entries(kinds)
    .map(([kind, count]) => t('plan.kindCount', { kind: t(`plan.kind.${kind as ItemKind}`), count: formatCount(count) }))
    .join(', ');
}

const WARNINGS_SHOWN = 10;

function renderSummary(summary: ExportSummary, reader: PstReader, outputDir: string, otherDir: string | null): string {
  const lines: string[] = [];
  lines.push(t('export.written', { count: formatCount(summary.written), size: formatBytes(summary.writtenBytes), folders: formatCount(summary.folders), dir: outputDir }));
  if (otherDir) {
    const kinds = kindList(summary.otherKinds);
    lines.push(t('export.otherWritten', { count: formatCount(summary.otherWritten), kinds: kinds ? ` (${kinds})` : '', dir: otherDir }));
  }
  const nonMail = kindList(summary.nonMailKinds);
  lines.push(
    t('export.skipped', {
      nonMail: formatCount(summary.skipped['non-mail']),
      kinds: nonMail ? ` (${nonMail})` : '',
      hint: summary.skipped['non-mail'] > 0 ? t('export.otherHint') : '',
      tooLarge: formatCount(summary.skipped['too-large']),
      outsideDates: formatCount(summary.skipped['outside-dates']),
    }),
  );
  if (summary.warnings.length > 0) {
    // Grouped by kind, a few items each: a mailbox of an Exchange account can have thousands alike.
    lines.push(t('export.warnings', { count: summary.warnings.length }));
    const byCode = new Map<string, ExportSummary['warnings']>();
    for (const warning of summary.warnings) byCode.set(warning.code, [...(byCode.get(warning.code) ?? []), warning]);
    for (const [code, warnings] of byCode) {
      lines.push(`  ${t(`export.warning.${code as RebuildWarning['code']}`)} (${formatCount(warnings.length)}):`);
      for (const warning of warnings.slice(0, WARNINGS_SHOWN)) lines.push(`    ${warning.folder}: ${t('plan.item')} ${warning.nid}: ${warning.detail}`);
      if (warnings.length > WARNINGS_SHOWN) lines.push(`    ${t('export.more', { count: formatCount(warnings.length - WARNINGS_SHOWN) })}`);
    }
  }
  const failed = [
    ...reader.problems.map((problem) => ({ folder: problem.folderPath.join('/') || t('plan.top'), nid: problem.nid, detail: problem.detail })),
    ...summary.failed,
  ];
  if (summary.stopped) lines.push(t('export.stopped', { what: summary.stopped }));
  if (failed.length > 0) {
    lines.push(t('export.failed', { count: failed.length }));
    for (const problem of failed) lines.push(`  ${problem.folder}: ${problem.nid === null ? '' : `${t('plan.item')} ${problem.nid}: `}${problem.detail}`);
  }
  return lines.join('\n');
}
