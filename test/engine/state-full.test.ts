/**
 * The checkpoint store's disk fills up in the middle of a migration: the run stops cleanly with the
 * store's error (E_STATE, "the disk is full"), nothing sent is forgotten, and once there is room again
 * the next run finishes with every message once. With permission to mount (root, as in the project's
 * container and CI) the store is on a real 2 MiB tmpfs filled up by the test; elsewhere the store is
 * capped with SQLite's max_page_count just below what the whole job needs.
 */
import Database from 'better-sqlite3';
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { migrate } from '../../src/engine/migrate.js';
import { Pst2ImapError } from '../../src/errors.js';
import { sharedFixtures } from '../support/cli.js';
import { startDovecot, type DovecotServer } from '../support/dovecot.js';
import { duplicates, imapTarget, migrateOptions, serverContents } from '../support/migration.js';

const PST = join(sharedFixtures, 'aspose-chunks-part1.pst');
const PASSWORD = 'full-disk-test';
const password = async () => ({ password: PASSWORD });
let server: DovecotServer;
let dir: string;
let volume: string;
let mounted = false;

function tryMount(target: string): boolean {
  if (process.env.PST2IMAP_TEST_NO_MOUNT) return false;
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m,mode=0700', 'tmpfs', target], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Fills the file system holding `path` until it refuses more; returns the filler's path. */
function fillDisk(path: string): string {
  const filler = join(path, 'filler');
  const fd = openSync(filler, 'w');
  try {
    for (const size of [256 * 1024, 16 * 1024, 1024, 64]) {
      const chunk = Buffer.alloc(size, 1);
      for (;;) {
        try {
          writeSync(fd, chunk);
        } catch {
          break;
        }
      }
    }
  } finally {
    closeSync(fd);
  }
  return filler;
}

beforeAll(async () => {
  server = await startDovecot({ users: { alice: PASSWORD, reference: PASSWORD } });
  dir = mkdtempSync(join(tmpdir(), 'pst2imap-state-full-'));
  volume = join(dir, 'volume');
  mkdirSync(volume);
  mounted = tryMount(volume);
});
afterAll(async () => {
  if (mounted) execFileSync('umount', [volume]);
  rmSync(dir, { recursive: true, force: true });
  await server.stop();
});

test('a full disk stops the run cleanly; with room again the next run finishes, nothing lost or doubled', async () => {
  const reference = migrateOptions({ pstPath: PST, target: imapTarget(server.port, 'reference', password) });
  expect(await migrate(reference)).toMatchObject({ status: 'finished', sent: 31 });
  const expected = await serverContents(server.port, 'reference', PASSWORD);

  const statePath = join(volume, 'state.db');
  let maxPageCount: number | undefined;
  if (!mounted) {
    const store = new Database(reference.statePath!, { readonly: true });
    maxPageCount = (store.pragma('page_count', { simple: true }) as number) - 1;
    store.close();
  }
  const options = migrateOptions({ pstPath: PST, target: imapTarget(server.port, 'alice', password), statePath, stateMaxPageCount: maxPageCount, batchSize: 3 });
  let filler: string | null = null;
  const error = await migrate(options, (event) => {
    if (mounted && event.type === 'batch' && event.number === 2) filler = fillDisk(volume);
  }).catch((caught: unknown) => caught);
  expect(error).toBeInstanceOf(Pst2ImapError);
  expect((error as Pst2ImapError).code).toBe('E_STATE');
  expect((error as Pst2ImapError).params.reason).toBe('full');
  expect((error as Pst2ImapError).exitCode).toBe(7);
  const partial = await serverContents(server.port, 'alice', PASSWORD);
  const sentBefore = [...partial.values()].flat().length;
  expect(sentBefore).toBeGreaterThan(0);
  expect(sentBefore).toBeLessThan(31);

  // Room again.
  if (filler) unlinkSync(filler);
  const resumed = await migrate({ ...options, stateMaxPageCount: undefined });
  expect(resumed).toMatchObject({ status: 'finished', failed: 0 });
  expect(resumed.totals).toMatchObject({ done: 31, in_flight: 0, pending: 0 });
  const contents = await serverContents(server.port, 'alice', PASSWORD);
  expect(contents).toEqual(expected);
  for (const ids of contents.values()) expect(duplicates(ids)).toEqual([]);
});
