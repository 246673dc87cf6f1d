/**
 * `pst2imap migrate <file.pst>`: sends the selected folders to the target, a batch at a time, with a
 * checkpoint per batch. Running it again on the same PST and account continues the same job; after a
 * finished job it sends only what is new. The work is src/engine's; this file parses, listens, prints.
 */
import cliProgress from 'cli-progress';
import type { Argv, CommandModule } from 'yargs';
import { migrate, type MigrateEvent, type MigrateSummary } from '../engine/index.js';
import { EXIT, UsageError } from '../errors.js';
import { t } from '../i18n/index.js';
import { PlanBuilder, type Plan } from '../plan/index.js';
import type { SelectionOptions } from '../plan/types.js';
import { isKnownCodepage } from '../pst/codepage.js';
import type { PstFolder } from '../pst/index.js';
import { ImapTarget } from '../target/imap.js';
import { MaildirTarget } from '../target/maildir.js';
import { parseTargetUrl } from '../target/probe.js';
import { PROVIDERS, type Provider, type ProviderName } from '../target/providers.js';
import type { Target } from '../target/target.js';
import { checkConnectionArgs, resolveCredentials, withConnectionOptions, withTargetOptions, type ConnectionArgs } from './connect.js';
import { parsePositive, parseSize, selectionFromArgs, withSelectionOptions, type SelectionArgs } from './options.js';
import type { CliIO } from './output.js';
import { pickFolders } from './pick.js';
import { formatBytes, formatCount, formatDuration } from './table.js';

export interface MigrateArgs extends SelectionArgs, ConnectionArgs {
  pst: string;
  provider: ProviderName;
  state?: string;
  connections?: number;
  pipeline?: number;
  rate?: number;
  bandwidth?: string;
  batch: number;
  limit?: number;
  'limit-bytes'?: string;
  'pause-between-batches': number;
  'skip-existing': boolean;
  'max-attempts': number;
  report?: string;
  json: boolean;
  quiet: boolean;
}

/** The options migrate, resume and verify share beyond selection and connection. */
export function withRunOptions<T>(yargs: Argv<T>) {
  return yargs
    .option('state', { type: 'string', describe: t('cli.opt.state') })
    .option('connections', { type: 'number', describe: t('cli.opt.connections') })
    .option('pipeline', { type: 'number', describe: t('cli.opt.pipeline') })
    .option('rate', { type: 'number', describe: t('cli.opt.sendRate') })
    .option('bandwidth', { type: 'string', describe: t('cli.opt.bandwidth') })
    .option('batch', { type: 'number', default: 50, describe: t('cli.opt.batch') })
    .option('limit', { type: 'number', describe: t('cli.opt.limit') })
    .option('limit-bytes', { type: 'string', describe: t('cli.opt.limitBytes') })
    .option('pause-between-batches', { type: 'number', default: 0, describe: t('cli.opt.pauseBetweenBatches') })
    .option('skip-existing', { type: 'boolean', default: false, describe: t('cli.opt.skipExisting') })
    .option('max-attempts', { type: 'number', default: 5, describe: t('cli.opt.maxAttempts') })
    .option('report', { type: 'string', describe: t('cli.opt.report') })
    .option('json', { type: 'boolean', default: false, describe: t('cli.opt.jsonEvents') })
    .option('quiet', { type: 'boolean', default: false, describe: t('cli.opt.quiet') });
}

export function migrateCommand(io: CliIO, setExitCode: (code: number) => void): CommandModule<object, MigrateArgs> {
  return {
    command: 'migrate <pst>',
    describe: t('cli.cmd.migrate'),
    builder: (yargs) =>
      withRunOptions(withConnectionOptions(withTargetOptions(withSelectionOptions(yargs)))).positional('pst', {
        type: 'string',
        demandOption: true,
        describe: t('cli.arg.pst'),
      }) as never,
    handler: async (args) => {
      setExitCode(await runMigrate(args, io));
    },
  };
}

/** The target URL: --to, else the provider's own server (Outlook.com, Microsoft 365). */
export function targetUrlOf(args: { to?: string; provider: ProviderName }): string {
  if (args.to !== undefined) return args.to;
  const provider = PROVIDERS[args.provider];
  if (!provider.host) throw new UsageError({ problem: t('usage.needTarget') });
  return `${provider.secure ? 'imaps' : 'imap'}://${provider.host}:${provider.port}`;
}

/** The Target of the command line, with credentials asked for as each connection needs them. */
export async function buildTarget(
  args: ConnectionArgs & { provider: ProviderName; pipeline?: number },
  provider: Provider,
  io: CliIO,
  commandTimeoutMs?: number,
): Promise<Target> {
  const target = checkConnectionArgs({ ...args, to: targetUrlOf(args) })!;
  if (target.kind === 'maildir') return new MaildirTarget(target.dir);
  const { connection, credentials } = await resolveCredentials(target, args, provider, io);
  return new ImapTarget({
    connection,
    credentials,
    url: target.url,
    storeFlaggedAfterAppend: provider.dropsFlaggedOnAppend,
    commandTimeoutMs,
    pipelineDepth: positiveInteger(args.pipeline, 'pipeline') ?? provider.pipeline,
  });
}

/** What is stored with the job for `resume`: the options as given, never a secret. */
export function jobOptionsOf(args: MigrateArgs): Record<string, unknown> {
  const keep = [
    'folder', 'exclude', 'target-root', 'map', 'special', 'since', 'before', 'max-size', 'codepage',
    'to', 'provider', 'user', 'auth', 'client-id', 'tenant', 'password-file', 'insecure', 'allow-plaintext',
    'connections', 'pipeline', 'rate', 'bandwidth', 'batch', 'limit', 'limit-bytes', 'pause-between-batches', 'skip-existing',
    'max-attempts', 'report',
  ] as const;
  const stored: Record<string, unknown> = {};
  for (const key of keep) if (args[key] !== undefined) stored[key] = args[key];
  return stored;
}

/** The plan the folder list of --pick shows: the provider's facts, the PST read here. */
async function planForPick(pstPath: string, selection: SelectionOptions, provider: Provider, codepage?: number): Promise<Plan> {
  // The engine reads the PST in its worker thread; the reader is loaded on this thread only for --pick.
  const { openPst } = await import('../pst/index.js');
  const reader = openPst(pstPath, { codepage });
  try {
    const builder = new PlanBuilder(reader.root, selection, provider.facts, { topFolderName: reader.store.displayName || 'PST' });
    const visit = (folder: PstFolder) => {
      for (const entry of reader.items(folder)) builder.add(folder.nid, entry);
      folder.children.forEach(visit);
    };
    visit(reader.root);
    return builder.finish();
  } finally {
    reader.close();
  }
}

function positiveInteger(value: number | undefined, option: string): number | null {
  if (value === undefined) return null;
  const number = parsePositive(value, option);
  return Math.max(1, Math.floor(number));
}

export async function runMigrate(args: MigrateArgs, io: CliIO): Promise<number> {
  if (args.codepage !== undefined && !isKnownCodepage(args.codepage)) {
    throw new UsageError({ problem: t('E_CODEPAGE', { codepage: args.codepage }) });
  }
  checkConnectionArgs({ ...args, to: targetUrlOf(args) });
  const provider = PROVIDERS[args.provider];
  let selection = selectionFromArgs(args);
  if (args.pick) {
    if (!(io.stdin.isTTY && io.stderr.isTTY)) throw new UsageError({ problem: t('usage.pickNeedsTty') });
    selection = await pickFolders(await planForPick(args.pst, selection, provider, args.codepage), selection);
  }
  const connections = positiveInteger(args.connections, 'connections') ?? provider.connections;
  const rate = args.rate === undefined ? (args.provider === 'generic' ? null : provider.messagesPerSecond) : parsePositive(args.rate, 'rate');
  const bandwidth = args.bandwidth === undefined ? null : parseSize(args.bandwidth, 'bandwidth');
  const batchSize = positiveInteger(args.batch, 'batch') ?? 50;
  const limit = positiveInteger(args.limit, 'limit');
  const limitBytes = args['limit-bytes'] === undefined ? null : parseSize(args['limit-bytes'], 'limit-bytes');
  const maxAttempts = positiveInteger(args['max-attempts'], 'max-attempts') ?? 5;
  if (args['pause-between-batches'] < 0 || !Number.isFinite(args['pause-between-batches'])) {
    throw new UsageError({ problem: t('usage.badRate', { option: 'pause-between-batches', value: String(args['pause-between-batches']) }) });
  }
  const target = await buildTarget(args, provider, io);

  // Ctrl-C once: finish what is being sent, record it, stop. Twice: stop at once (what was in flight is
  // looked up on the server by the next run).
  const controller = new AbortController();
  const view = new ProgressView(io, args.json ? 'json' : args.quiet ? 'quiet' : io.stderr.isTTY ? 'bars' : 'lines');
  let interrupts = 0;
  const onSignal = () => {
    interrupts += 1;
    if (interrupts === 1) {
      if (!args.quiet && !args.json) view.notice(t('migrate.stopping'));
      controller.abort();
    } else {
      io.stderr.write(`\n${t('E_INTERRUPTED')}\n`);
      process.exit(EXIT.interrupted);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const started = Date.now();
  let summary: MigrateSummary;
  try {
    summary = await migrate(
      {
        pstPath: args.pst,
        codepage: args.codepage,
        selection,
        target,
        provider: { messageLimit: provider.messageLimit, reservedNames: provider.facts.reservedNames, maxNameLength: provider.facts.maxNameLength },
        statePath: args.state,
        connections,
        rate,
        bandwidth,
        batchSize,
        limit,
        limitBytes,
        pauseBetweenBatchesMs: args['pause-between-batches'] * 1000,
        skipExisting: args['skip-existing'],
        maxAttempts,
        retryDelayMs: 1000,
        maxRetryDelayMs: 60_000,
        jobOptions: jobOptionsOf(args),
        reportDir: args.report,
        signal: controller.signal,
      },
      (event) => view.on(event),
    );
  } finally {
    // The handlers stay until the process ends: a second Ctrl-C while the summary is written still
    // means "stop now" (exit code 130), not a death by signal.
    view.stop();
  }
  if (!args.json) io.stdout.write(`${renderSummary(summary, (Date.now() - started) / 1000)}\n`);
  if (summary.status === 'interrupted' && controller.signal.aborted) {
    if (!args.json) io.stderr.write(`pst2imap: ${t('E_INTERRUPTED')}\n`);
    return EXIT.interrupted;
  }
  if (summary.failed > 0 || summary.totals.failed > 0) return EXIT.incomplete;
  return EXIT.ok;
}

function renderSummary(summary: MigrateSummary, seconds: number): string {
  const lines = [
    t('migrate.summary', {
      sent: formatCount(summary.sent),
      size: formatBytes(summary.sentBytes),
      duration: formatDuration(seconds),
      skipped: formatCount(summary.skipped),
      failed: formatCount(summary.failed),
      recovered: formatCount(summary.recovered),
    }),
    t('migrate.job', {
      id: summary.jobId,
      done: formatCount(summary.totals.done),
      pending: formatCount(summary.totals.pending + summary.totals.in_flight),
      skipped: formatCount(summary.totals.skipped),
      failed: formatCount(summary.totals.failed),
      total: formatCount(summary.totals.total),
    }),
  ];
  if (summary.status === 'finished') lines.push(t(summary.totals.failed > 0 ? 'migrate.failedHint' : 'migrate.finished'));
  else if (summary.status === 'limit') lines.push(t('migrate.limit', { remaining: formatCount(summary.remaining) }));
  if (summary.reportFiles.length > 0) lines.push(t('migrate.report', { files: summary.reportFiles.join(', ') }));
  return lines.join('\n');
}

/** Listens to the engine: bars on a terminal, a line per folder elsewhere, JSON lines with --json. */
class ProgressView {
  private bars: cliProgress.MultiBar | null = null;
  private overall: cliProgress.SingleBar | null = null;
  private folderBar: cliProgress.SingleBar | null = null;
  private total = 0;
  private done = 0;
  private bytes = 0;
  private folderDone = 0;
  /** The folder the folder bar counts (its path joined with /). */
  private folder = '';
  private readonly started = Date.now();
  private state = '';

  constructor(
    private readonly io: CliIO,
    private readonly mode: 'bars' | 'lines' | 'json' | 'quiet',
  ) {}

  on(event: MigrateEvent): void {
    if (this.mode === 'json') {
      this.io.stdout.write(`${JSON.stringify(event)}\n`);
      return;
    }
    if (this.mode === 'quiet') return;
    switch (event.type) {
      case 'planned':
        this.total = event.toSend;
        if (this.mode === 'bars' && this.total > 0) {
          this.bars = new cliProgress.MultiBar(
            { stream: this.io.stderr as NodeJS.WritableStream, clearOnComplete: true, hideCursor: true, format: '{label} [{bar}] {value}/{total} {info}' },
            cliProgress.Presets.shades_classic,
          );
          this.overall = this.bars.create(this.total, 0, { label: t('progress.overall'), info: '' });
        } else if (this.total === 0) {
          this.io.stderr.write(`${t('migrate.nothing')}\n`);
        }
        return;
      case 'recovered':
        this.log(t('migrate.recovered', { found: event.found, requeued: event.requeued }));
        return;
      case 'folder':
        this.folderDone = 0;
        this.folder = event.folder.join('/');
        if (this.bars) {
          this.folderBar?.stop();
          if (this.folderBar) this.bars.remove(this.folderBar);
          this.folderBar = this.bars.create(event.messages, 0, { label: event.folder.join('/') || '/', info: `-> ${event.mailbox}` });
        } else {
          this.log(t('migrate.folder', { folder: event.folder.join('/'), mailbox: event.mailbox, count: event.messages }));
        }
        return;
      case 'sent':
      case 'skipped':
      case 'failed':
        if (event.type === 'sent') this.bytes += event.size;
        if (event.type === 'failed') this.log(t('migrate.itemFailed', { folder: event.item.folder.join('/'), subject: event.item.subject, reason: event.reason }));
        this.done += 1;
        // The next folder's batch may already be out while the last answers of this one come in.
        if (event.item.folder.join('/') === this.folder) this.folderDone += 1;
        this.update();
        return;
      case 'backoff':
        this.state = event.state === 'normal' ? '' : t(`progress.state.${event.state}`, { seconds: Math.ceil(event.waitMs / 1000), connections: event.connections });
        if (!this.bars && event.state !== 'normal') this.log(this.state);
        this.update();
        return;
      default:
        return;
    }
  }

  private update(): void {
    if (!this.overall) return;
    const seconds = (Date.now() - this.started) / 1000;
    const rate = seconds > 0 ? this.done / seconds : 0;
    const eta = rate > 0 ? (this.total - this.done) / rate : 0;
    this.overall.update(this.done, {
      info: t('progress.info', { size: formatBytes(this.bytes), rate: rate.toFixed(1), eta: formatDuration(eta), state: this.state }),
    });
    this.folderBar?.update(this.folderDone);
  }

  private log(line: string): void {
    if (this.bars) this.bars.log(`${line}\n`);
    else this.io.stderr.write(`${line}\n`);
  }

  /** A line for the person at the terminal, above the bars when there are any. */
  notice(line: string): void {
    if (this.mode === 'json' || this.mode === 'quiet') return;
    this.log(line);
    // Drawn now: a logged line waits for the next redraw, and the bars may stop before it.
    this.bars?.update();
  }

  stop(): void {
    this.bars?.stop();
  }
}
