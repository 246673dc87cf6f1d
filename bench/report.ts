/**
 * Markdown tables from result files of `npm run bench`, for BENCHMARKS.md:
 *   npx tsx bench/report.ts bench/results/<file>.json [...]
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { ResultFile } from './results.js';

const f = (n: number | null | undefined, digits = 1): string => (n === null || n === undefined || !Number.isFinite(n) ? '–' : n.toFixed(digits));
const mb = (bytes: number): string => (bytes / 1024 / 1024).toFixed(bytes < 10 * 1024 * 1024 ? 1 : 0);

for (const file of process.argv.slice(2)) {
  const r = JSON.parse(readFileSync(file, 'utf8')) as ResultFile;
  const out: string[] = [];
  const loads = r.load.map((l) => l.loadavg[0]);
  out.push(`From \`bench/results/${basename(file)}\` (started ${r.startedAt}, commit ${r.machine.commit}); load average (1 min) ${Math.min(...loads)} to ${Math.max(...loads)} on ${r.machine.nproc} cores.`, '');
  if (r.proxy) {
    out.push('| RTT asked (ms) | measured median | min | p95 | max |', '|---:|---:|---:|---:|---:|');
    for (const p of r.proxy.pings) out.push(`| ${p.rttMs} | ${f(p.medianMs, 2)} | ${f(p.minMs, 2)} | ${f(p.p95Ms, 2)} | ${f(p.maxMs, 2)} |`);
    out.push('', '| path | MB sent | s | MB/s |', '|---|---:|---:|---:|');
    for (const t of r.proxy.throughput) out.push(`| ${t.label} | ${mb(t.bytes)} | ${f(t.seconds, 2)} | ${f(t.mbPerSecond)} |`);
    out.push('');
  }
  if (r.upload) {
    out.push('| RTT (ms) | conn. | client | whole run (s) | msg/s (whole) | msg/s (appends) | MB/s | vs mbsync | bound (msg/s) | vs bound |', '|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|');
    for (const u of r.upload) {
      out.push(`| ${u.rttMs} | ${u.connections} | ${u.client} | ${f(u.wholeSeconds, 2)} | ${f(u.wholeMessagesPerSecond)} | ${f(u.messagesPerSecond)} | ${f(u.mbPerSecond, 2)} | ${f(u.vsMbsync, 2)} | ${f(u.boundMessagesPerSecond, 0)} | ${f(u.vsBound, 2)} |`);
    }
    out.push('');
  }
  if (r.read) {
    out.push('| file | PST MB | tool | messages | s (median) | msg/s | PST MB/s | peak RSS MB | export / readpst | turns, lowest to highest | note |', '|---|---:|---|---:|---:|---:|---:|---:|---:|---|---|');
    for (const x of r.read) {
      const turns = x.pairRatios ? `${f(Math.min(...x.pairRatios), 2)} to ${f(Math.max(...x.pairRatios), 2)}` : '–';
      out.push(`| ${x.input} | ${mb(x.inputBytes)} | ${x.tool} | ${x.messages ?? '–'} | ${f(x.seconds, 2)} | ${f(x.messagesPerSecond)} | ${f(x.pstMbPerSecond)} | ${f(x.peakRssMb, 0)} | ${f(x.ratio, 2)} | ${turns} | ${x.note} |`);
    }
    out.push('');
  }
  if (r.pipeline) {
    out.push('| file | RTT (ms) | messages | readpst (s) | Maildir (s) | mbsync (s) | readpst+mbsync (s) | msg/s | migrate (s) | stored by migrate | migrate peak RSS MB | baseline / migrate | note |', '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|');
    for (const p of r.pipeline) {
      // Result files written before the 1 % rule: the ratio is recomputed the same way here.
      if (p.ratio === null && p.migrateSeconds && typeof p.migrateStored === 'number' && !/exit/.test(p.note) && Math.abs(p.migrateStored - p.messages) <= Math.max(1, p.messages * 0.01)) {
        p.ratio = p.baselineSeconds / p.migrateSeconds;
        p.note = p.note.replace(': no ratio', ' (within 1 %)');
      }
      out.push(`| ${p.input} | ${p.rttMs} | ${p.messages} | ${f(p.readpstSeconds, 2)} | ${f(p.maildirSeconds, 2)} | ${f(p.mbsyncSeconds, 2)} | ${f(p.baselineSeconds, 2)} | ${f(p.baselineMessagesPerSecond)} | ${f(p.migrateSeconds, 2)} | ${p.migrateStored ?? '–'} | ${f(p.migratePeakRssMb, 0)} | ${f(p.ratio, 2)} | ${p.note.replace(/\|/g, '/')} |`);
    }
    out.push('');
  }
  if (r.rss) {
    out.push('| file | size MB | tool | peak RSS MB | note |', '|---|---:|---|---:|---|');
    for (const x of r.rss) out.push(`| ${x.input} | ${mb(x.inputBytes)} | ${x.tool} | ${f(x.peakRssMb, 0)} | ${x.note.replace(/\|/g, '/')} |`);
    out.push('');
  }
  for (const note of r.notes) out.push(`- ${note}`);
  process.stdout.write(out.join('\n') + '\n\n');
}
