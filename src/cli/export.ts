/**
 * `pst2imap export <file.pst> --to DIR`: the offline mode. Writes the selected folders' mail as .eml
 * files or a Maildir tree, with the same selection and mapping as `plan` and `migrate`, and with
 * `--export-other DIR` the items IMAP cannot hold (contacts, appointments, tasks, notes) as vCard,
 * iCalendar and text files.
 *
 * Names are stable so that a second run overwrites what the first wrote instead of adding copies:
 * `<target folder>/<nid>.eml`, or in Maildir `cur/<date>.<nid>.<store>:2,<flags>`. Every file is written
 * beside its final name and renamed over it, so an interrupted run never leaves half a message.
 */
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import cliProgress from 'cli-progress';
import type { CommandModule } from 'yargs';
import { EXIT, Pst2ImapError, UsageError } from '../errors.js';
import { t } from '../i18n/index.js';
import { rebuildMessage, renderOtherItem } from '../mime/index.js';
import type { ImapFlag, RebuildWarning } from '../mime/types.js';
import { decideItem, isMailContainer, planFolders, PlanBuilder, type Plan, type SkipReason } from '../plan/index.js';
import type { SelectionOptions } from '../plan/types.js';
import { isKnownCodepage } from '../pst/codepage.js';
import { isReadProblem, openPst, type ItemKind, type PstFolder, type PstReader } from '../pst/index.js';
import { FOLDER_TREE_FACTS } from '../target/maildir.js';
import { selectionFromArgs, withSelectionOptions, type SelectionArgs } from './options.js';
import type { CliIO } from './output.js';
import { formatBytes, formatCount } from './table.js';

export type ExportFormat = 'eml' | 'maildir';

interface ExportArgs extends SelectionArgs {
  pst: string;
  to: string;
  format: ExportFormat;
  'export-other'?: string;
  quiet: boolean;
}

export interface ExportProblem {
  folder: string;
  nid: number | null;
  detail: string;
}

export interface ExportSummary {
  written: number;
  writtenBytes: number;
  folders: number;
  otherWritten: number;
  otherKinds: Partial<Record<ItemKind, number>>;
  skipped: Record<SkipReason, number>;
  nonMailKinds: Partial<Record<ItemKind, number>>;
  failed: ExportProblem[];
  warnings: Array<ExportProblem & { code: RebuildWarning['code'] }>;
  /** Why writing stopped before the end (disk full, read-only, no permission), or null. */
  stopped: string | null;
}

/** Errors of the output disk that every further file would meet too: writing stops at the first. */
const FATAL_WRITE_ERRORS = new Set(['ENOSPC', 'EDQUOT', 'EROFS', 'EACCES', 'EPERM', 'EIO']);

function isFatalWrite(error: unknown): boolean {
  return FATAL_WRITE_ERRORS.has((error as NodeJS.ErrnoException)?.code ?? '');
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
        .option('quiet', { type: 'boolean', default: false, describe: t('cli.opt.quiet') }) as never,
    handler: async (args) => {
      if (args.codepage !== undefined && !isKnownCodepage(args.codepage)) {
        throw new UsageError({ problem: t('E_CODEPAGE', { codepage: args.codepage }) });
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
        const summary = await exportPlan(reader, plan, { outputDir, otherDir, format: args.format, showProgress, io });
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

/**
 * A mailbox path as directories: each segment made safe for file systems ('/' and NUL cannot be in a
 * name; Windows refuses <>:"\|?*; '.' and '..' mean something else), and in Maildir never cur/new/tmp.
 */
export function folderDirectories(target: string, format: ExportFormat): string[] {
  return target.split('/').map((segment) => {
    let safe = segment.replace(/[\u0000-\u001f<>:"\\|?*]/g, '_').replace(/[. ]+$/, '');
    if (safe === '' || safe === '.' || safe === '..') safe = '_';
    // Names Windows keeps for devices, whatever the extension.
    if (/^(con|prn|aux|nul|com\d|lpt\d)(\..*)?$/i.test(safe)) safe = `${safe}_`;
    if (format === 'maildir' && /^(cur|new|tmp)$/i.test(safe)) safe = `${safe}_`;
    return safe;
  });
}

/** Maildir info flags (https://cr.yp.to/proto/maildir.html), in ASCII order. */
export function maildirInfo(flags: ImapFlag[]): string {
  const letters: Record<ImapFlag, string> = { '\\Draft': 'D', '\\Flagged': 'F', $Forwarded: 'P', '\\Answered': 'R', '\\Seen': 'S' };
  return `2,${flags.map((flag) => letters[flag]).sort().join('')}`;
}

/** Writes beside the final name and renames over it: a reader never sees half a file. */
function writeAtomically(path: string, bytes: Buffer): void {
  const temporary = `${path}.pst2imap-${process.pid}.tmp`;
  try {
    writeFileSync(temporary, bytes);
    renameSync(temporary, path);
  } catch (error) {
    // A disk that filled up mid-file leaves no part of it behind.
    rmSync(temporary, { force: true });
    throw error;
  }
}

interface ExportOptions {
  outputDir: string;
  otherDir: string | null;
  format: ExportFormat;
  showProgress: boolean;
  io: CliIO;
}

/** Follows the plan: each item the plan sends is rebuilt and written; items that are not mail go to `otherDir`. */
export async function exportPlan(reader: PstReader, plan: Plan, options: ExportOptions): Promise<ExportSummary> {
  const summary: ExportSummary = {
    written: 0,
    writtenBytes: 0,
    folders: 0,
    otherWritten: 0,
    otherKinds: {},
    skipped: { 'non-mail': 0, 'too-large': 0, 'outside-dates': 0 },
    nonMailKinds: {},
    failed: [],
    warnings: [],
    stopped: null,
  };
  const folders = new Map<number, PstFolder>();
  const index = (folder: PstFolder) => {
    folders.set(folder.nid, folder);
    folder.children.forEach(index);
  };
  index(reader.root);
  const selected = [...planFolders(plan.root)].filter((folder) => folder.selected);
  // Folders the plan did not read (scanPlan 'needed') count by the number of items they say they hold.
  const total = selected.reduce((sum, folder) => sum + (folder.itemsRead || folder.contentCount), 0);
  const bar = options.showProgress ? progressBar(options.io, t('export.writing')) : null;
  bar?.start(total, 0);
  let done = 0;
  folders: for (const planFolder of selected) {
    const folder = folders.get(planFolder.nid);
    if (!folder) continue;
    const where = folder.path.join('/') || t('plan.top');
    const mailDir = planFolder.target === null ? null : join(options.outputDir, ...folderDirectories(planFolder.target, options.format));
    let existing: Map<string, string> | null = null;
    if (mailDir) {
      try {
        // Empty mail folders are made too: they are the user's filing structure.
        mkdirSync(options.format === 'maildir' ? join(mailDir, 'cur') : mailDir, { recursive: true });
        if (options.format === 'maildir') {
          for (const sub of ['new', 'tmp']) mkdirSync(join(mailDir, sub), { recursive: true });
          existing = maildirNames(join(mailDir, 'cur'));
        }
        summary.folders++;
      } catch (error) {
        summary.failed.push({ folder: where, nid: null, detail: describe(error) });
        if (isFatalWrite(error)) {
          summary.stopped = describe(error);
          break;
        }
        continue;
      }
    }
    for (const entry of reader.items(folder)) {
      if (isReadProblem(entry)) {
        summary.failed.push({ folder: where, nid: entry.nid, detail: entry.detail });
        continue;
      }
      done++;
      if (done % 50 === 0) {
        bar?.update(done);
        await yieldToEventLoop();
      }
      const decision = decideItem(entry, plan.selection, plan.sizeLimit);
      if (decision.action === 'skip') {
        if (decision.reason === 'non-mail' && options.otherDir) {
          try {
            const message = reader.readMessage(entry.nid);
            const file = renderOtherItem(message);
            const dir = join(options.otherDir, ...folderDirectories(folder.path.join('/') || topName(reader), 'eml'));
            mkdirSync(dir, { recursive: true });
            writeAtomically(join(dir, `${entry.nid}.${file.extension}`), file.bytes);
            summary.otherWritten++;
            summary.otherKinds[entry.kind] = (summary.otherKinds[entry.kind] ?? 0) + 1;
          } catch (error) {
            summary.failed.push({ folder: where, nid: entry.nid, detail: describe(error) });
            if (isFatalWrite(error)) {
              summary.stopped = describe(error);
              break folders;
            }
          }
          continue;
        }
        summary.skipped[decision.reason]++;
        if (decision.reason === 'non-mail') summary.nonMailKinds[entry.kind] = (summary.nonMailKinds[entry.kind] ?? 0) + 1;
        continue;
      }
      if (!mailDir) continue;
      try {
        const message = reader.readMessage(entry.nid);
        const rebuilt = await rebuildMessage(message, { storeFingerprint: reader.store.fingerprint, folderRole: folder.role });
        for (const warning of rebuilt.warnings) summary.warnings.push({ folder: where, nid: entry.nid, code: warning.code, detail: warning.detail });
        if (options.format === 'eml') {
          writeAtomically(join(mailDir, `${entry.nid}.eml`), rebuilt.bytes);
        } else {
          writeMaildir(mailDir, existing!, maildirBase(rebuilt.internalDate, entry.nid, reader.store.fingerprint), rebuilt.bytes, rebuilt.flags);
        }
        summary.written++;
        summary.writtenBytes += rebuilt.bytes.length;
      } catch (error) {
        summary.failed.push({ folder: where, nid: entry.nid, detail: describe(error) });
        if (isFatalWrite(error)) {
          summary.stopped = describe(error);
          break folders;
        }
      }
    }
  }
  bar?.update(done);
  bar?.stop();
  return summary;
}

function topName(reader: PstReader): string {
  return reader.store.displayName || basename(reader.store.path).replace(/\.(pst|ost)$/i, '');
}

/**
 * The unique part of a Maildir file name: the message's date (readers sort by it), the item's node ID and
 * the store it came from. The same item gets the same name on every run.
 */
export function maildirBase(internalDate: Date | null, nid: number, fingerprint: string): string {
  const seconds = internalDate ? Math.max(0, Math.floor(internalDate.getTime() / 1000)) : 0;
  return `${seconds}.N${nid}.pst2imap-${fingerprint.slice(0, 12)}`;
}

/** File names in cur/ by their unique part (before ',S=' or ':2,'). */
function maildirNames(cur: string): Map<string, string> {
  const names = new Map<string, string>();
  for (const name of readdirSync(cur)) names.set(name.split(/[,:]/)[0], name);
  return names;
}

/**
 * Maildir delivery of an exported message: written in tmp/, renamed into cur/ with its flags. A file a
 * previous run wrote for the same item (same unique part) is replaced, whatever its flags were then.
 */
function writeMaildir(dir: string, existing: Map<string, string>, base: string, bytes: Buffer, flags: ImapFlag[]): void {
  const name = `${base},S=${bytes.length}:${maildirInfo(flags)}`;
  const temporary = join(dir, 'tmp', name);
  try {
    writeFileSync(temporary, bytes);
    renameSync(temporary, join(dir, 'cur', name));
  } catch (error) {
    rmSync(temporary, { force: true });
    throw error;
  }
  const previous = existing.get(base);
  if (previous && previous !== name) rmSync(join(dir, 'cur', previous), { force: true });
  existing.set(base, name);
}

function describe(error: unknown): string {
  if (error instanceof Pst2ImapError) return t(error.code, error.params);
  return error instanceof Error ? error.message.split('\n')[0] : String(error);
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
