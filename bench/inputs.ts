/**
 * The PST files the runs read. The fixture writer's cache (`ensureFixture(name)`, fixtures/.cache/) is
 * used when it is there; until then the bench writes the generated files itself with the writer's
 * `writePst` into its own cache (os tmpdir, pst2imap-bench-cache/, kept between runs), and falls back
 * to the real files in ../shared/fixtures/pst/ and fixtures/pst/.
 */
import { existsSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT } from './pst2imap.js';

export type GeneratedName = 'bulk-1k' | 'bulk-10k' | 'bulk-100k' | 'size-100MB' | 'size-1GB' | 'size-4GB';

/** The fixture writer's name for each input, where it has one (fixtures/writer/fixtures.ts). */
const WRITER_NAMES: Partial<Record<GeneratedName, string>> = {
  'bulk-1k': 'bulk-1k',
  'bulk-10k': 'bulk-10k',
  'bulk-100k': 'bulk-100k',
};

export interface BenchInput {
  name: string;
  path: string;
  bytes: number;
  /** Where it came from, for the report. */
  source: string;
}

/** Module paths where the fixture writer's cache function may live, tried in order. */
const ENSURE_FIXTURE_MODULES = ['fixtures/writer/fixtures.ts', 'fixtures/writer/index.ts', 'fixtures/writer/cache.ts', 'fixtures/index.ts'];

type EnsureFixture = (name: string) => Promise<string> | string;

async function findEnsureFixture(): Promise<EnsureFixture | null> {
  for (const relative of ENSURE_FIXTURE_MODULES) {
    const path = join(ROOT, relative);
    if (!existsSync(path)) continue;
    const module = (await import(pathToFileURL(path).href)) as { ensureFixture?: EnsureFixture };
    if (typeof module.ensureFixture === 'function') return module.ensureFixture;
  }
  return null;
}

export const BENCH_CACHE = join(tmpdir(), 'pst2imap-bench-cache');

const MB = 1024 * 1024;

/**
 * What the bench writes itself when the writer has no such fixture: the same shapes as the writer's
 * own (bulk: four folders, 10 % with attachments up to 256 KB; sized: one folder, one attachment each).
 */
function specFor(name: GeneratedName): unknown {
  const bulk = (count: number, seed: number) => {
    const folder = (folderName: string, role?: string) => ({ name: folderName, role, generate: { count: Math.ceil(count / 4), attachmentRate: 0.1, maxAttachmentSize: 256 * 1024 } });
    return { seed, displayName: `Bulk ${count}`, folders: [folder('Inbox', 'inbox'), folder('Sent Items', 'sent'), { ...folder('Archive'), folders: [folder('2019')] }] };
  };
  const sized = (count: number, bytes: number, seed: number) => ({
    seed,
    displayName: `Large ${Math.round(bytes / MB)} MB`,
    // The writer spreads 1 to 3 attachments per message log-evenly between 1 KB and the maximum: a mean
    // of about 2 * max / ln(max / 1 KB), so a maximum of four times the share gives the size asked for
    // (for shares around 1 MB).
    folders: [{ name: 'Inbox', role: 'inbox', generate: { count, attachmentRate: 1, maxAttachmentSize: Math.floor((4 * bytes) / count), japaneseRate: 0.5 } }],
  });
  switch (name) {
    case 'bulk-1k': return bulk(1_000, 1);
    case 'bulk-10k': return bulk(10_000, 10);
    case 'bulk-100k': return bulk(100_000, 100);
    case 'size-100MB': return sized(100, 100 * MB, 101);
    case 'size-1GB': return sized(1_000, 1024 * MB, 11);
    case 'size-4GB': return sized(4_000, 4096 * MB, 44);
  }
}

async function generateHere(name: GeneratedName): Promise<BenchInput> {
  const path = join(BENCH_CACHE, `${name}.pst`);
  if (!existsSync(path)) {
    const { writePst } = (await import(pathToFileURL(join(ROOT, 'fixtures', 'writer', 'pst-writer.ts')).href)) as {
      writePst: (spec: unknown, path: string) => unknown;
    };
    mkdirSync(BENCH_CACHE, { recursive: true });
    const partial = `${path}.partial`;
    writePst(specFor(name), partial);
    renameSync(partial, path);
  }
  return { name, path, bytes: statSync(path).size, source: `written by the bench with fixtures/writer writePst, cached in ${BENCH_CACHE}` };
}

/** A generated input, from the writer's cache or made here; null when it cannot be had. */
export async function generatedInput(name: GeneratedName): Promise<BenchInput> {
  const writerName = WRITER_NAMES[name];
  const ensure = writerName ? await findEnsureFixture() : null;
  if (ensure && writerName) {
    const path = await ensure(writerName);
    return { name, path, bytes: statSync(path).size, source: `ensureFixture('${writerName}')` };
  }
  return generateHere(name);
}

/** Real Outlook-written files, small: they measure start-up as much as reading. */
export function realInputs(): BenchInput[] {
  const candidates = [
    join(ROOT, '..', 'shared', 'fixtures', 'pst', 'aspose-chunks-part1.pst'),
    join(ROOT, '..', 'shared', 'fixtures', 'pst', 'aspose-Outlook.pst'),
    join(ROOT, 'fixtures', 'pst', 'sample.pst'),
  ];
  const found = candidates.filter((p) => existsSync(p));
  // aspose-Outlook.pst and the bundled sample.pst are the same file: keep one.
  const unique = found.filter((p, i) => !(p.endsWith('sample.pst') && found.some((q, j) => j !== i && q.endsWith('aspose-Outlook.pst'))));
  return unique.map((path) => ({ name: path.split('/').pop()!, path, bytes: statSync(path).size, source: 'real file' }));
}
