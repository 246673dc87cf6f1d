/** The back-off rules on plain data: how connections go down on the server's signals and come back. */
import { Backoff, Pacer } from '../../src/engine/throttle.js';

const settings = { rate: null, bandwidth: null, connections: 4, baseDelayMs: 100, maxDelayMs: 1000, climbAfter: 5 };

test('throttling halves the connections, and each run of quiet successes gives one back, up to what was asked', () => {
  const changes: Array<{ state: string; connections: number; waitMs: number }> = [];
  const backoff = new Backoff(settings, (change) => changes.push(change));
  backoff.throttled(2000, 'Request is throttled. Suggested Backoff Time: 2000 milliseconds');
  expect(backoff.connections).toBe(2);
  expect(changes.at(-1)).toMatchObject({ state: 'throttled', connections: 2 });
  // As long as the server asked, plus at most a fifth more.
  expect(changes.at(-1)!.waitMs).toBeGreaterThanOrEqual(2000);
  expect(changes.at(-1)!.waitMs).toBeLessThanOrEqual(2400);
  backoff.throttled(null, 'again');
  expect(backoff.connections).toBe(1);
  backoff.throttled(null, 'and again');
  expect(backoff.connections).toBe(1);
  for (let i = 0; i < 4; i++) backoff.success();
  expect(backoff.connections).toBe(1);
  backoff.success();
  expect(backoff.connections).toBe(2);
  // A new signal resets the count of quiet successes.
  for (let i = 0; i < 4; i++) backoff.success();
  backoff.throttled(100, 'throttled');
  expect(backoff.connections).toBe(1);
  for (let i = 0; i < 5 * 10; i++) backoff.success();
  expect(backoff.connections).toBe(4);
});

test('lost connections wait longer each time in a row, and cost a connection from the second on', () => {
  const waits: number[] = [];
  const backoff = new Backoff(settings, (change) => change.state === 'reconnecting' && waits.push(change.waitMs));
  backoff.connectionLost('ECONNRESET');
  expect(backoff.connections).toBe(4);
  backoff.connectionLost('ECONNRESET');
  expect(backoff.connections).toBe(3);
  backoff.connectionLost('BYE');
  backoff.connectionLost('BYE');
  backoff.connectionLost('BYE');
  // 100, 200, 400, 800, then capped at 1000 (each plus jitter of at most a fifth, or 50 ms).
  const base = [100, 200, 400, 800, 1000];
  waits.forEach((wait, index) => {
    expect(wait).toBeGreaterThanOrEqual(base[index]!);
    expect(wait).toBeLessThanOrEqual(base[index]! + Math.max(base[index]! * 0.2, 50));
  });
  backoff.success();
  backoff.connectionLost('again');
  expect(waits.at(-1)).toBeLessThanOrEqual(150);
});

test('--rate spaces messages evenly from the first one, with no burst of a second\'s worth', () => {
  let now = 1_000_000;
  const pacer = new Pacer({ rate: 5, bandwidth: null }, () => now);
  // The first goes at once; then every 200 ms, the waits adding up as nothing was waited out.
  expect([pacer.reserve(10), pacer.reserve(10), pacer.reserve(10)]).toEqual([0, 200, 400]);
  now += 400;
  expect(pacer.reserve(10)).toBe(200);
  // After a long quiet spell at most a fifth of a second's worth (one message) goes at once.
  now += 60_000;
  expect([pacer.reserve(10), pacer.reserve(10)]).toEqual([0, 200]);
});

test('--bandwidth makes each message wait for its bytes, big ones included', () => {
  let now = 0;
  const pacer = new Pacer({ rate: null, bandwidth: 1000 }, () => now);
  // A fifth of a second's bytes may go at once.
  expect(pacer.reserve(200)).toBe(0);
  expect(pacer.reserve(500)).toBe(500);
  now += 500;
  // A message larger than the bucket still goes, after the time its bytes take.
  expect(pacer.reserve(3000)).toBe(3000);
  now += 3000;
  expect(pacer.reserve(0)).toBe(0);
});

test('with both limits, the longer wait counts', () => {
  let now = 0;
  const pacer = new Pacer({ rate: 2, bandwidth: 10_000 }, () => now);
  expect(pacer.reserve(100)).toBe(0);
  expect(pacer.reserve(100)).toBe(500);
  now += 500;
  // Messages: one owed, 500 ms; bytes: 18,000 beyond the 2,000 the bucket holds again, 1,800 ms.
  expect(pacer.reserve(20_000)).toBe(1800);
});
