/**
 * Not part of the suite (slow): the "done when" check. A generated 10,000-message PST
 * (fixtures/writer, bulk-10k) migrated into the local Dovecot through the real executable, interrupted
 * twice (kill -9, then Ctrl-C), resumed, then verified. Prints the figures.
 *
 *   npm run build && npx tsx test/engine/bulk-10k.bench.ts
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureFixture } from '../../fixtures/writer/fixtures.js';
import { runCli } from '../support/cli.js';
import { startDovecot } from '../support/dovecot.js';
import { duplicates, serverContents } from '../support/migration.js';
import { spawnCli } from '../support/spawn-cli.js';

const PASSWORD = 'bulk-bench';
const pst = ensureFixture(process.argv[2] ?? 'bulk-10k');
const server = await startDovecot({ users: { alice: PASSWORD } });
const state = join(mkdtempSync(join(tmpdir(), 'pst2imap-bulk-')), 'state.db');
const env = { PST2IMAP_PASSWORD: PASSWORD };
const args = ['migrate', pst, '--to', `imap://127.0.0.1:${server.port}`, '--user', 'alice', '--provider', 'generic', '--state', state, '--json', '--batch', '50', '--connections', '2'];
/** Highest resident memory of a running process, sampled every 200 ms (Linux /proc). */
function watchMemory(pid: number): { peakMb: () => number; stop: () => void } {
  let peak = 0;
  const timer = setInterval(() => {
    try {
      const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (rss) peak = Math.max(peak, Number(rss[1]) / 1024);
    } catch {
      // gone
    }
  }, 200);
  return { peakMb: () => Math.round(peak), stop: () => clearInterval(timer) };
}
const sentCount = (lines: string[]) => lines.filter((line) => line.includes('"type":"sent"')).length;
const figures: string[] = [];
const started = Date.now();
try {
  // Run 1: kill -9 after 3,000 messages recorded sent.
  let t = Date.now();
  const first = spawnCli(args, env);
  await first.waitForLine(() => sentCount(first.stdoutLines) >= 3000);
  first.child.kill('SIGKILL');
  await first.exited;
  figures.push(`run 1: killed -9 after ${sentCount(first.stdoutLines)} sent, ${((Date.now() - t) / 1000).toFixed(1)} s`);

  // Run 2 (migrate again: resumes by itself): Ctrl-C after 3,000 more.
  t = Date.now();
  const second = spawnCli(args, env);
  await second.waitForLine(() => sentCount(second.stdoutLines) >= 3000);
  second.child.kill('SIGINT');
  const secondExit = await second.exited;
  const recovered = second.stdoutLines.find((line) => line.includes('"type":"recovered"'));
  figures.push(`run 2: Ctrl-C after ${sentCount(second.stdoutLines)} sent, exit ${secondExit.code}, ${((Date.now() - t) / 1000).toFixed(1)} s; recovery: ${recovered ?? 'none'}`);

  // Run 3: resume to the end.
  t = Date.now();
  const third = spawnCli(['resume', '--state', state, '--json'], env);
  const memory = watchMemory(third.child.pid!);
  const thirdExit = await third.exited;
  memory.stop();
  const finished = JSON.parse(third.stdoutLines.at(-1)!) as { result: { status: string; sent: number; totals: Record<string, number> } };
  figures.push(`run 3: resume exit ${thirdExit.code}, sent ${finished.result.sent}, status ${finished.result.status}, totals ${JSON.stringify(finished.result.totals)}, ${((Date.now() - t) / 1000).toFixed(1)} s, ${(finished.result.sent / ((Date.now() - t) / 1000)).toFixed(0)} msg/s, peak memory ${memory.peakMb()} MB`);

  t = Date.now();
  const verified = await runCli(['verify', '--state', state, '--json'], { env });
  const result = JSON.parse(verified.stdout) as { expected: number; missing: number; duplicates: number; folders: Array<{ mailbox: string; expected: number; onServer: number; missing: number; duplicates: number }> };
  figures.push(`verify: exit ${verified.code}, expected ${result.expected}, missing ${result.missing}, duplicates ${result.duplicates}, ${((Date.now() - t) / 1000).toFixed(1)} s`);
  for (const folder of result.folders) figures.push(`  ${folder.mailbox}: ${folder.expected} expected, ${folder.onServer} on server, ${folder.missing} missing, ${folder.duplicates} doubled`);
  const contents = await serverContents(server.port, 'alice', PASSWORD);
  figures.push(`server (own count): ${[...contents.values()].flat().length} messages, ${[...contents.values()].reduce((sum, ids) => sum + duplicates(ids).length, 0)} duplicate Message-IDs`);
  figures.push(`total ${((Date.now() - started) / 1000).toFixed(1)} s`);
} finally {
  console.log(figures.join('\n'));
  await server.stop();
}
