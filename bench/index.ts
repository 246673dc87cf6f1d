/**
 * `npm run bench`: pst2imap against the best alternative pipeline, readpst -> Maildir -> mbsync, on
 * loopback against a private Dovecot set up like Outlook.com, behind a latency proxy (issue 7).
 *
 *   npm run bench                       quick: every run, small inputs, a few minutes
 *   npm run bench -- --full             1k and 10k generated files, 300 messages per upload run
 *   npm run bench -- --runs proxy,upload --rtt 0,50 --connections 1,4 --messages 200
 *
 * Options: --runs proxy,upload,read,pipeline,rss (default all) · --rtt list (ms, default 0,20,50,100)
 * · --connections list (default 1,4) · --messages N (synthetic messages per upload run) · --size-kb N
 * (their size, default 20) · --repeat N (read runs per tool, median kept) · --upload-repeat N (upload
 * runs side by side per RTT and connection count, median kept; quick 1, full 3) · --rss-sizes
 * 100MB,1GB,4GB,100k (100k: bulk-100k, 100,000 small messages) · --rss-node-options FLAGS (NODE_OPTIONS for migrate in the RSS run) · --read-out DIR (where the read runs write, e.g. /dev/shm) · --built (pst2imap from
 * dist/ instead of the sources) · --out FILE (JSON results; default bench/results/<time>.json).
 *
 * Nothing is made up: a run whose pst2imap part does not exist yet says so in the output and in the
 * JSON ("not available"), and measures only the baseline.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { startDovecot, type DovecotServer } from '../test/support/dovecot.js';
import { appendWithImapflow, appendWithTarget, countMessages, listMailboxes, type AppendRun, type ImapAccount } from './append.js';
import { DEFAULT_PIPELINE_DEPTH } from '../src/target/imap.js';
import { generatedInput, realInputs, type BenchInput } from './inputs.js';
import { startLatencyProxyProcess, type LatencyProxy } from './latency-proxy.js';
import { readpstOutputToMaildir, splitSet, syntheticSet, writeMaildir } from './mail.js';
import { pushWithMbsync } from './mbsync.js';
import { run, versionOf } from './proc.js';
import { measurePing, measureThroughput, type PingResult, type ThroughputResult } from './proxy-check.js';
import type { PipelineRow, ReadRow, ResultFile, RssRow, UploadRow } from './results.js';
import { ROOT, cli, cliEnv, exportArgs, hasCommand, migrateArgs, type Pst2imapCli } from './pst2imap.js';

type RunName = 'proxy' | 'upload' | 'read' | 'pipeline' | 'rss';
const ALL_RUNS: RunName[] = ['proxy', 'upload', 'read', 'pipeline', 'rss'];

interface Options {
  full: boolean;
  runs: Set<RunName>;
  rtts: number[];
  connections: number[];
  messages: number;
  sizeKb: number;
  repeat: number;
  uploadRepeat: number;
  /** NODE_OPTIONS for migrate in the RSS run (e.g. --max-old-space-size=96), to tell retained memory
   * from a heap V8 lets grow. */
  rssNodeOptions: string | null;
  /** RSS run on these sizes only. */
  rssSizes: string[] | null;
  /** Where the read runs write (default: the bench's work folder, on disk); e.g. /dev/shm, to time
   * reading and rebuilding without this disk's swings. */
  readOut: string | null;
  built: boolean;
  out: string;
}

function parseOptions(argv: string[]): Options {
  const value = (name: string): string | undefined => {
    const at = argv.indexOf(name);
    return at >= 0 ? argv[at + 1] : undefined;
  };
  const list = (name: string, fallback: number[]): number[] => {
    const text = value(name);
    return text ? text.split(',').map(Number).filter((n) => Number.isFinite(n) && n >= 0) : fallback;
  };
  const full = argv.includes('--full');
  const runs = value('--runs')?.split(',') ?? ALL_RUNS;
  for (const r of runs) if (!ALL_RUNS.includes(r as RunName)) throw new Error(`unknown run ${r}: one of ${ALL_RUNS.join(', ')}`);
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  return {
    full,
    runs: new Set(runs as RunName[]),
    rtts: list('--rtt', [0, 20, 50, 100]),
    connections: list('--connections', [1, 4]).filter((c) => c >= 1),
    messages: Number(value('--messages') ?? (full ? 300 : 100)),
    sizeKb: Number(value('--size-kb') ?? 20),
    repeat: Number(value('--repeat') ?? (full ? 5 : 3)),
    uploadRepeat: Number(value('--upload-repeat') ?? (full ? 3 : 1)),
    rssNodeOptions: value('--rss-node-options') ?? null,
    rssSizes: value('--rss-sizes')?.split(',') ?? null,
    readOut: value('--read-out') ?? null,
    built: argv.includes('--built'),
    out: value('--out') ?? join(ROOT, 'bench', 'results', `${stamp}.json`),
  };
}

const NOT_AVAILABLE = 'not available yet';

interface Results extends ResultFile {
  options: Omit<Options, 'runs'> & { runs: string[] };
}

const results: Results = {
  startedAt: new Date().toISOString(),
  options: {} as Results['options'],
  machine: {},
  load: [],
  notes: [],
};

function log(line: string): void {
  process.stdout.write(`${line}\n`);
}

function noteLoad(at: string): void {
  results.load.push({ at, loadavg: loadavg().map((l) => Number(l.toFixed(2))) });
}

function fmt(n: number | null | undefined, digits = 1): string {
  return n === null || n === undefined || !Number.isFinite(n) ? '-' : n.toFixed(digits);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)];
}

function filesUnder(dir: string): { count: number; bytes: number } {
  let count = 0;
  let bytes = 0;
  const walk = (d: string, depth: number): void => {
    if (depth > 64) return;
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, entry.name);
      if (entry.isDirectory()) walk(path, depth + 1);
      else if (entry.isFile()) {
        count++;
        bytes += statSync(path).size;
      }
    }
  };
  walk(dir, 0);
  return { count, bytes };
}

async function machine(program: Pst2imapCli): Promise<void> {
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT }).toString().trim();
  } catch {
    // not a checkout
  }
  results.machine = {
    nproc: cpus().length,
    cpu: cpus()[0]?.model ?? 'unknown',
    memoryGb: Number((totalmem() / 1024 ** 3).toFixed(1)),
    node: process.version,
    dovecot: await versionOf('dovecot', ['--version']),
    readpst: (await versionOf('readpst', ['-V'])).replace(/\s+/g, ' '),
    mbsync: await versionOf('mbsync', ['--version']),
    imapflow: (JSON.parse(execFileSync(process.execPath, ['-p', "JSON.stringify(require('./node_modules/imapflow/package.json').version)"], { cwd: ROOT }).toString()) as string),
    commit,
    pst2imap: program.label,
  };
  log(`machine: ${JSON.stringify(results.machine)}`);
}

async function proxyRun(options: Options): Promise<void> {
  log('\n## proxy: added round trip and throughput');
  noteLoad('proxy');
  const pings: PingResult[] = [];
  for (const rtt of options.rtts) pings.push(await measurePing(rtt, options.full ? 60 : 30));
  const throughput: ThroughputResult[] = [];
  const mb = options.full ? 512 : 128;
  throughput.push(await measureThroughput(mb, null));
  throughput.push(await measureThroughput(mb, { rttMs: 0 }));
  throughput.push(await measureThroughput(mb, { rttMs: 50 }));
  throughput.push(await measureThroughput(16, { rttMs: 20, bandwidthBytesPerSecond: 100e6 / 8 }));
  results.proxy = { pings, throughput };
  log('| RTT asked (ms) | median (ms) | min | p95 | max |');
  log('|---|---|---|---|---|');
  for (const p of pings) log(`| ${p.rttMs} | ${fmt(p.medianMs, 2)} | ${fmt(p.minMs, 2)} | ${fmt(p.p95Ms, 2)} | ${fmt(p.maxMs, 2)} |`);
  log('\n| path | MB | s | MB/s |');
  log('|---|---|---|---|');
  for (const t of throughput) log(`| ${t.label} | ${(t.bytes / 1024 / 1024).toFixed(0)} | ${fmt(t.seconds, 2)} | ${fmt(t.mbPerSecond, 1)} |`);
}

async function withProxy<T>(dovecot: DovecotServer, rttMs: number, body: (account: ImapAccount, proxy: LatencyProxy) => Promise<T>): Promise<T> {
  const proxy = await startLatencyProxyProcess({ targetPort: dovecot.port, rttMs, lifetimeMs: 3 * 3600_000 });
  try {
    return await body({ host: '127.0.0.1', port: proxy.port, user: 'bench', password: 'bench-password' }, proxy);
  } finally {
    await proxy.close();
  }
}

async function uploadRun(options: Options, dovecot: DovecotServer, work: string): Promise<void> {
  log(`\n## upload: ${options.messages} synthetic messages of ${options.sizeKb} KB, one mailbox per connection`);
  const rows: UploadRow[] = [];
  const set = syntheticSet(options.messages, options.sizeKb * 1024, 'upload');
  const pings = new Map(results.proxy?.pings.map((p) => [p.rttMs, p.medianMs]) ?? []);
  for (const rtt of options.rtts) {
    noteLoad(`upload rtt ${rtt}`);
    const measured = pings.get(rtt) ?? (await measurePing(rtt, 20)).medianMs;
    for (const connections of options.connections) {
      const sets = splitSet(set, connections);
      const bound = rtt > 0 ? (connections * 1000) / rtt : null;
      const perRep: UploadRow[][] = [];
      for (let rep = 0; rep < options.uploadRepeat; rep++) {
        const tag = `r${rtt}-c${connections}-${rep}`;
        const found: UploadRow[] = [];
        await withProxy(dovecot, rtt, async (account) => {
          // mbsync: one process per connection, then once more with nothing to push (its connect,
          // login, LIST, SELECT and compare), reported for information.
          const maildir = join(work, `upload-${tag}`);
          const jobs = sets.map((part, i) => ({ maildir, folders: writeMaildir(part, maildir, `mb-${tag}-${i}-`) }));
          const first = await pushWithMbsync(account, jobs, join(work, `mbsync-${tag}`));
          const again = await pushWithMbsync(account, jobs, join(work, `mbsync-${tag}`));
          const stored = await countMessages(account, jobs.flatMap((j) => j.folders));
          if (stored !== set.count) throw new Error(`mbsync stored ${stored} of ${set.count} messages`);
          const mb = set.bytes / 1024 / 1024;
          // mbsync's figures are its whole run; its no-op second run (connect, login, LIST, SELECT,
          // compare) is kept apart as information, not subtracted: the two runs are too noisy for that.
          found.push({ client: 'mbsync', connections, messages: set.count, bytes: set.bytes, seconds: first.seconds, messagesPerSecond: set.count / first.seconds, mbPerSecond: mb / first.seconds, wholeSeconds: first.seconds, wholeMessagesPerSecond: set.count / first.seconds, rttMs: rtt, measuredRttMs: measured, vsMbsync: 1, boundMessagesPerSecond: bound, vsBound: null, mbsyncNoopSeconds: again.seconds, mbsyncRetries: first.retries });
          const others: AppendRun[] = [];
          others.push(await appendWithImapflow(account, sets, `if-${tag}-`, 'sequential'));
          others.push(await appendWithTarget(account, sets, `pt-${tag}-`, DEFAULT_PIPELINE_DEPTH));
          for (const [prefix, label] of [['if', 'sequential'], ['pt', 'pst2imap target']] as const) {
            const boxes = await listMailboxes(account, `${prefix}-${tag}-`);
            const count = await countMessages(account, boxes);
            if (count !== set.count) throw new Error(`${label} stored ${count} of ${set.count} messages`);
          }
          for (const o of others) found.push({ ...o, rttMs: rtt, measuredRttMs: measured, vsMbsync: first.seconds / o.wholeSeconds, boundMessagesPerSecond: bound, vsBound: null });
        });
        perRep.push(found);
      }
      // Side by side in each repetition; the row kept per client is the median by whole time, and its
      // ratio to mbsync the median of the per-repetition ratios.
      const found: UploadRow[] = perRep[0].map((first) => {
        const same = perRep.map((rows) => rows.find((r) => r.client === first.client)!).sort((a, b) => a.wholeSeconds - b.wholeSeconds);
        const kept = { ...same[Math.floor((same.length - 1) / 2)] };
        kept.vsMbsync = median(same.map((r) => r.vsMbsync ?? NaN));
        kept.repetitions = same.length;
        return kept;
      });
      // Against the bound: the steady rate (first APPEND to last answer; mbsync: its whole run).
      for (const row of found) row.vsBound = row.boundMessagesPerSecond ? row.messagesPerSecond / row.boundMessagesPerSecond : null;
      rows.push(...found);
      for (const row of found) {
        log(`rtt ${rtt} ms (measured ${fmt(measured, 1)}), ${connections} conn: ${row.client.padEnd(36)} whole ${fmt(row.wholeSeconds, 2).padStart(6)} s ${fmt(row.wholeMessagesPerSecond).padStart(6)} msg/s | appends ${fmt(row.seconds, 2).padStart(6)} s ${fmt(row.messagesPerSecond).padStart(6)} msg/s ${fmt(row.mbPerSecond, 2).padStart(5)} MB/s | vs mbsync ${fmt(row.vsMbsync, 2)} vs bound ${fmt(row.vsBound, 2)}${row.mbsyncNoopSeconds !== undefined ? ` (no-op mbsync run ${fmt(row.mbsyncNoopSeconds, 2)} s${row.mbsyncRetries ? `, ${row.mbsyncRetries} retried after ALREADYEXISTS` : ''})` : ''}`);
      }
    }
  }
  results.upload = rows;
  results.notes.push(`upload: pst2imap's own upload (migrate) is measured in the pipeline run on a PST; here the clients push the same ${options.sizeKb} KB messages.`);
}

/** One timed run of a tool that writes one file per message. */
interface ReadOnce {
  seconds: number;
  messages: number;
  bytes: number;
  rss: number | null;
  code: number | null;
}

/** The row of a tool's runs on one input: median time, the first run's counts, the highest peak RSS. */
function readRowOf(input: BenchInput, tool: string, runs: ReadOnce[]): ReadRow {
  const seconds = median(runs.map((r) => r.seconds));
  return {
    input: input.name,
    inputBytes: input.bytes,
    tool,
    messages: runs[0].messages,
    outputBytes: runs[0].bytes,
    seconds,
    messagesPerSecond: runs[0].messages / seconds,
    pstMbPerSecond: input.bytes / 1024 / 1024 / seconds,
    peakRssMb: Math.max(...runs.map((r) => r.rss ?? 0)) / 1024 / 1024,
    exitCode: runs[0].code,
    ratio: null,
    note: '',
  };
}

/**
 * Before a timed read run (not timed): the previous run's output deleted, and then `sync`, so that the
 * run neither waits for files left to be written back nor for the deletion's discards (this disk is
 * mounted with `discard`); each run then writes into a folder that does not exist yet.
 */
async function clearForRead(out: string): Promise<void> {
  rmSync(out, { recursive: true, force: true });
  await settleDisk();
}

async function readpstOnce(input: BenchInput, out: string): Promise<ReadOnce> {
  await clearForRead(out);
  mkdirSync(out, { recursive: true });
  const result = await run('readpst', ['-e', '-q', '-te', '-o', out, input.path], { rssEveryMs: 20 });
  const files = filesUnder(out);
  return { seconds: result.seconds, messages: files.count, bytes: files.bytes, rss: result.peakRssBytes, code: result.code };
}

async function exportOnce(program: Pst2imapCli, input: BenchInput, out: string): Promise<ReadOnce & { stderr: string }> {
  await clearForRead(out);
  const result = await run(program.command, [...program.prefix, ...exportArgs(input.path, out)], { cwd: ROOT, rssEveryMs: 50, env: cliEnv('') });
  const files = filesUnder(out);
  return { seconds: result.seconds, messages: files.count, bytes: files.bytes, rss: result.peakRssBytes, code: result.code, stderr: result.stderr };
}

async function readRun(options: Options, program: Pst2imapCli, hasExport: boolean, work: string, inputs: BenchInput[]): Promise<void> {
  log(`\n## read and rebuild: pst2imap export vs readpst -e (median of ${options.repeat}, in turns)`);
  const rows: ReadRow[] = [];
  // pst2imap's start-up (node, module loading), reported apart: it dominates on small files.
  const startups: number[] = [];
  for (let i = 0; i < options.repeat; i++) startups.push((await run(program.command, [...program.prefix, '--version'], { cwd: ROOT })).seconds);
  const startup = median(startups);
  results.notes.push(`pst2imap start-up (\`--version\`, ${program.label}): ${startup.toFixed(2)} s median; included in every export time below.`);
  log(`pst2imap start-up: ${startup.toFixed(2)} s`);
  const out = options.readOut ?? work;
  if (options.readOut) results.notes.push(`read runs write into ${options.readOut}`);
  for (const input of inputs) {
    noteLoad(`read ${input.name}`);
    // The two tools run in turns (readpst, export, readpst, ...), and the ratio is the median of each
    // turn's: the speed of this machine and its disk drifts over minutes, which a block of runs of one
    // tool and then a block of the other would put down to one of them.
    const rp: ReadOnce[] = [];
    const ex: Array<ReadOnce & { stderr: string }> = [];
    for (let i = 0; i < options.repeat; i++) {
      rp.push(await readpstOnce(input, join(out, 'read-readpst')));
      if (hasExport) ex.push(await exportOnce(program, input, join(out, 'read-export')));
    }
    const rpRow = readRowOf(input, 'readpst -e', rp);
    rows.push(rpRow);
    if (!hasExport) {
      rows.push({ input: input.name, inputBytes: input.bytes, tool: 'pst2imap export', messages: null, outputBytes: null, seconds: null, messagesPerSecond: null, pstMbPerSecond: null, peakRssMb: null, exitCode: null, ratio: null, note: NOT_AVAILABLE });
      continue;
    }
    const failed = /Failed \((\d+)\)/.exec(ex[0].stderr + '')?.[1];
    const same = Math.abs(ex[0].messages - rp[0].messages) <= Math.max(1, rp[0].messages * 0.01);
    const exported = readRowOf(input, 'pst2imap export', ex);
    const pairRatios = rp.map((r, i) => ex[i].messages / ex[i].seconds / (r.messages / r.seconds));
    const exRow: ReadRow = {
      ...exported,
      ratio: same ? median(pairRatios) : null,
      pairRatios,
      note: [
        ex[0].code !== 0 ? `exit ${ex[0].code}` : '',
        failed ? `${failed} items failed` : '',
        same ? '' : `wrote ${ex[0].messages} messages where readpst wrote ${rp[0].messages}: no ratio`,
      ].filter(Boolean).join('; '),
    };
    rows.push(exRow);
    for (const row of [rpRow, exRow]) {
      log(`${row.input} (${(row.inputBytes / 1024 / 1024).toFixed(1)} MB) ${row.tool.padEnd(16)} ${String(row.messages).padStart(6)} msgs ${fmt(row.seconds, 2).padStart(7)} s ${fmt(row.messagesPerSecond).padStart(8)} msg/s ${fmt(row.pstMbPerSecond).padStart(7)} MB/s  RSS ${fmt(row.peakRssMb, 0)} MB  ratio ${fmt(row.ratio, 2)} ${row.note}`);
    }
  }
  results.read = rows;
}

/**
 * Writes out what earlier runs left dirty in the page cache (`sync`, not timed), so that each timed run
 * starts on a quiet disk: at 0 ms both pipelines wait on Dovecot's fsyncs, and the one timed second would
 * otherwise also wait for the first one's files being written back.
 */
async function settleDisk(): Promise<void> {
  await run('sync', []);
}

async function pipelineRun(options: Options, dovecot: DovecotServer, program: Pst2imapCli, hasMigrate: boolean, work: string, inputs: BenchInput[], rtts: number[]): Promise<void> {
  log('\n## end to end: readpst -e -> Maildir -> mbsync (one connection) vs pst2imap migrate');
  const rows: PipelineRow[] = [];
  for (const input of inputs) {
    for (const rtt of rtts) {
      noteLoad(`pipeline ${input.name} rtt ${rtt}`);
      const tag = `p${rtt}-${input.name.replace(/[^A-Za-z0-9]+/g, '')}`;
      const row = await withProxy(dovecot, rtt, async (account) => {
        const root = join(work, `pipeline-${tag}`);
        const top = join(root, tag);
        mkdirSync(top, { recursive: true });
        await settleDisk();
        const rp = await run('readpst', ['-e', '-q', '-te', '-o', top, input.path]);
        if (rp.code !== 0) throw new Error(`readpst failed: ${rp.stderr.slice(-500)}`);
        const convertStarted = performance.now();
        const maildir = readpstOutputToMaildir(root);
        const maildirSeconds = (performance.now() - convertStarted) / 1000;
        const jobs = [{ maildir: root, folders: maildir.folders }];
        const push = await pushWithMbsync(account, jobs, join(work, `mbsync-${tag}`));
        const again = await pushWithMbsync(account, jobs, join(work, `mbsync-${tag}`));
        const stored = await countMessages(account, maildir.folders);
        if (stored !== maildir.count) throw new Error(`mbsync stored ${stored} of ${maildir.count} messages`);
        const baselineSeconds = rp.seconds + maildirSeconds + push.seconds;
        let migrateSeconds: number | null = null;
        let migrateRss: number | null = null;
        let migrateStored: number | null = null;
        let comparable = true;
        let note = '';
        if (hasMigrate) {
          const state = mkdtempSync(join(work, 'state-'));
          const targetRoot = `mig-${tag}`;
          await settleDisk();
          const m = await run(program.command, [...program.prefix, ...migrateArgs(input.path, { port: account.port, user: account.user, password: account.password }, state, 1, targetRoot)], { cwd: ROOT, env: cliEnv(account.password), rssEveryMs: 100, timeoutMs: 6 * 3600_000 });
          migrateSeconds = m.seconds;
          migrateRss = m.peakRssBytes === null ? null : m.peakRssBytes / 1024 / 1024;
          migrateStored = await countMessages(account, await listMailboxes(account, `${targetRoot}/`));
          if (m.code !== 0) note = `migrate exit ${m.code}: ${(m.stderr || m.stdout).trim().split('\n').slice(-3).join(' / ').slice(0, 400)}`;
          // readpst -e now and then writes a message or a few fewer than the PST holds (998 to 1000 of
          // 1000 on the same file): within 1 % the times still compare; beyond, no ratio.
          if (migrateStored !== maildir.count) {
            const close = Math.abs(migrateStored - maildir.count) <= Math.max(1, maildir.count * 0.01);
            note = [note, `migrate stored ${migrateStored} messages, mbsync ${maildir.count}${close ? '' : ': no ratio'}`].filter(Boolean).join('; ');
            comparable = close;
          }
        } else {
          note = `migrate ${NOT_AVAILABLE}`;
        }
        return {
          input: input.name,
          rttMs: rtt,
          messages: maildir.count,
          readpstSeconds: rp.seconds,
          maildirSeconds,
          mbsyncSeconds: push.seconds,
          mbsyncOverheadSeconds: again.seconds,
          baselineSeconds,
          baselineMessagesPerSecond: maildir.count / baselineSeconds,
          migrateSeconds,
          migratePeakRssMb: migrateRss,
          migrateStored,
          ratio: migrateSeconds && comparable && !note.includes('exit') ? baselineSeconds / migrateSeconds : null,
          note,
        } satisfies PipelineRow;
      });
      rows.push(row);
      log(`${row.input} rtt ${rtt} ms: ${row.messages} msgs; readpst ${fmt(row.readpstSeconds, 2)} s + Maildir ${fmt(row.maildirSeconds, 2)} s + mbsync ${fmt(row.mbsyncSeconds, 2)} s (of which connect/login ~${fmt(row.mbsyncOverheadSeconds, 2)} s) = ${fmt(row.baselineSeconds, 2)} s, ${fmt(row.baselineMessagesPerSecond)} msg/s; migrate ${row.migrateSeconds === null ? '-' : `${fmt(row.migrateSeconds, 2)} s, ${row.migrateStored} stored, peak RSS ${fmt(row.migratePeakRssMb, 0)} MB`}; ratio ${fmt(row.ratio, 2)} ${row.note}`);
    }
  }
  results.pipeline = [...(results.pipeline ?? []), ...rows];
}

async function rssRun(options: Options, dovecot: DovecotServer | null, program: Pst2imapCli, hasExport: boolean, hasMigrate: boolean, work: string): Promise<void> {
  // The size-named files, and on request the 100k-message one (many small items: what the engine keeps
  // per item, not per byte).
  const all = ['size-100MB', 'size-1GB', 'size-4GB', 'bulk-100k'] as const;
  const sizes = options.rssSizes
    ? all.filter((s) => options.rssSizes!.includes(s.replace(/^(size|bulk)-/, '')))
    : options.full
      ? all.filter((s) => s.startsWith('size-'))
      : (['size-100MB'] as const);
  log(`\n## peak RSS (process tree, /proc every 100 ms) on ${sizes.join(', ')}`);
  const rows: RssRow[] = [];
  for (const name of sizes) {
    log(`input ${name}: preparing (generated once, then cached)`);
    const input = await generatedInput(name);
    noteLoad(`rss ${name}`);
    if (hasMigrate && dovecot) {
      const m = await withProxy(dovecot, 0, async (account) => {
        const state = mkdtempSync(join(work, 'state-'));
        const env = { ...cliEnv(account.password), ...(options.rssNodeOptions ? { NODE_OPTIONS: options.rssNodeOptions } : {}) };
        return run(program.command, [...program.prefix, ...migrateArgs(input.path, { port: account.port, user: account.user, password: account.password }, state, 1, `rss-${name}`)], { cwd: ROOT, env, rssEveryMs: 100, timeoutMs: 6 * 3600_000 });
      });
      rows.push({ input: name, inputBytes: input.bytes, tool: 'pst2imap migrate', peakRssMb: m.peakRssBytes === null ? null : m.peakRssBytes / 1024 / 1024, note: `${m.seconds.toFixed(1)} s${m.code === 0 ? '' : `, exit ${m.code}`}${options.rssNodeOptions ? `, NODE_OPTIONS=${options.rssNodeOptions}` : ''}` });
    } else {
      rows.push({ input: name, inputBytes: input.bytes, tool: 'pst2imap migrate', peakRssMb: null, note: `migrate ${NOT_AVAILABLE}` });
    }
    // References, not the target: the same file through export (the same reader and rebuild, no upload)
    // and through readpst.
    if (hasExport) {
      const out = join(work, 'rss-export');
      rmSync(out, { recursive: true, force: true });
      const e = await run(program.command, [...program.prefix, ...exportArgs(input.path, out)], { cwd: ROOT, rssEveryMs: 100, env: cliEnv(''), timeoutMs: 6 * 3600_000 });
      const written = filesUnder(out).count;
      rmSync(out, { recursive: true, force: true });
      rows.push({ input: name, inputBytes: input.bytes, tool: 'pst2imap export (reference)', peakRssMb: (e.peakRssBytes ?? 0) / 1024 / 1024, note: `${written} files, ${e.seconds.toFixed(1)} s${e.code === 0 ? '' : `, exit ${e.code}`}` });
    }
    const r = await readpstOnce(input, join(work, 'rss-readpst'));
    rmSync(join(work, 'rss-readpst'), { recursive: true, force: true });
    rows.push({ input: name, inputBytes: input.bytes, tool: 'readpst -e (reference)', peakRssMb: (r.rss ?? 0) / 1024 / 1024, note: `${r.messages} files, ${r.seconds.toFixed(1)} s` });
    for (const row of rows.filter((x) => x.input === name)) {
      log(`${name} (${(input.bytes / 1024 / 1024).toFixed(0)} MB) ${row.tool.padEnd(28)} peak RSS ${fmt(row.peakRssMb, 0)} MB ${row.note}`);
    }
  }
  results.rss = rows;
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  results.options = { ...options, runs: [...options.runs] };
  const program = cli(options.built);
  await machine(program);
  noteLoad('start');
  const hasExport = await hasCommand(program, 'export');
  const hasMigrate = await hasCommand(program, 'migrate');
  log(`pst2imap export: ${hasExport ? 'available' : NOT_AVAILABLE}; migrate: ${hasMigrate ? 'available' : NOT_AVAILABLE}`);
  if (!hasExport) results.notes.push(`pst2imap export ${NOT_AVAILABLE}: run 1 measures readpst only.`);
  if (!hasMigrate) results.notes.push(`pst2imap migrate ${NOT_AVAILABLE}: runs 2 to 4 measure the baseline and the clients only.`);

  const work = mkdtempSync(join(tmpdir(), 'pst2imap-bench-'));
  let dovecot: DovecotServer | null = null;
  // Interrupted: the private Dovecot and the work folder go too (test/support stops Dovecot on 'exit').
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      rmSync(work, { recursive: true, force: true });
      void (dovecot ? dovecot.stop() : Promise.resolve()).finally(() => process.exit(130));
    });
  }
  try {
    if (options.runs.has('proxy')) await proxyRun(options);
    const needsServer = options.runs.has('upload') || options.runs.has('pipeline') || (options.runs.has('rss') && hasMigrate);
    if (needsServer) {
      dovecot = await startDovecot({ users: { bench: 'bench-password' } });
    }
    if (options.runs.has('upload') && dovecot) await uploadRun(options, dovecot, work);

    const generated: BenchInput[] = [];
    if (options.runs.has('read') || options.runs.has('pipeline')) {
      for (const name of options.full ? (['bulk-1k', 'bulk-10k'] as const) : (['bulk-1k'] as const)) {
        log(`input ${name}: preparing (generated once, then cached)`);
        generated.push(await generatedInput(name));
      }
    }
    if (options.runs.has('read')) await readRun(options, program, hasExport, work, [...realInputs(), ...generated]);
    if (options.runs.has('pipeline') && dovecot) {
      // Runs 2 and 3 on PST files: a real one and bulk-1k at each RTT (quick: 0 and 50 ms); in full mode
      // bulk-10k end to end at each RTT too.
      const small = [...realInputs().slice(0, 1), ...generated.filter((g) => g.name === 'bulk-1k')];
      await pipelineRun(options, dovecot, program, hasMigrate, work, small, options.full ? options.rtts : options.rtts.filter((r) => r === 0 || r === 50));
      const tenK = generated.filter((g) => g.name === 'bulk-10k');
      if (tenK.length) await pipelineRun(options, dovecot, program, hasMigrate, work, tenK, options.rtts);
    }
    if (options.runs.has('rss')) await rssRun(options, dovecot, program, hasExport, hasMigrate, work);
  } finally {
    if (dovecot) await dovecot.stop();
    rmSync(work, { recursive: true, force: true });
    noteLoad('end');
    results.finishedAt = new Date().toISOString();
    mkdirSync(join(options.out, '..'), { recursive: true });
    writeFileSync(options.out, JSON.stringify(results, null, 2) + '\n');
    log(`\nresults: ${options.out}`);
    for (const note of results.notes) log(`note: ${note}`);
    log(`load average along the way: ${results.load.map((l) => `${l.at} ${l.loadavg[0]}`).join(', ')}`);
  }
}

await main();
