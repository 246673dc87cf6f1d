/**
 * The engine's read-ahead (Prefetcher in src/engine/migrate.ts): everything read and not yet let go
 * counts against one byte budget, read-ahead, batches and messages out alike, so that large messages
 * are never held more than the budget and one message at a time.
 */
import { Prefetcher } from '../../src/engine/migrate.js';

type Outcome = { ok: true; bytes: Buffer } | { ok: false };
const MB = 1024 * 1024;

function setUp(sizes: number[], budget: number, unreadable = new Set<number>()) {
  const items = sizes.map((size, index) => ({ index, size }));
  const started: number[] = [];
  const prefetcher = new Prefetcher<{ index: number; size: number }, Outcome>(
    items,
    async (item) => {
      started.push(item.index);
      return unreadable.has(item.index) ? { ok: false } : { ok: true, bytes: Buffer.alloc(item.size) };
    },
    100,
    budget,
    (item) => item.size,
  );
  return { prefetcher, started };
}

test('messages taken count until they are let go: reading ahead waits for room, one is read anyway when the caller waits', async () => {
  const { prefetcher, started } = setUp([10 * MB, 10 * MB, 10 * MB, 10 * MB, 10 * MB, 10 * MB], 32 * MB);
  const taken = [];
  taken.push((await prefetcher.take())!);
  // Three fit in 32 MB; the fourth waits.
  expect(started).toEqual([0, 1, 2]);
  taken.push((await prefetcher.take())!, (await prefetcher.take())!);
  expect(started).toEqual([0, 1, 2]);
  expect(prefetcher.held).toBe(30 * MB);
  // Nothing let go, nothing ahead: the one the caller waits for is read all the same, and only that one.
  taken.push((await prefetcher.take())!);
  expect(started).toEqual([0, 1, 2, 3]);
  expect(prefetcher.held).toBe(40 * MB);
  // Two delivered: room for one more ahead (20 + 10 <= 32), not two.
  prefetcher.release(taken[0]!.outcome.ok ? taken[0]!.outcome.bytes.length : 0);
  prefetcher.release(10 * MB);
  expect(started).toEqual([0, 1, 2, 3, 4]);
  expect(prefetcher.held).toBe(30 * MB);
});

test('a message that could not be read counts as nothing once its outcome is in', async () => {
  const { prefetcher, started } = setUp([10 * MB, 10 * MB, 10 * MB], 12 * MB, new Set([0]));
  const first = (await prefetcher.take())!;
  expect(first.outcome.ok).toBe(false);
  // Counted at its estimate until read, then at 0: the next one fits.
  await new Promise((resolve) => setImmediate(resolve));
  prefetcher.release(0);
  expect(started).toEqual([0, 1]);
  expect((await prefetcher.take())!.item.index).toBe(1);
  expect(prefetcher.held).toBe(10 * MB);
  expect(await prefetcher.take()).not.toBeNull();
  expect(await prefetcher.take()).toBeNull();
});
