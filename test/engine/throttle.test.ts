/** The back-off rules on plain data: how connections go down on the server's signals and come back. */
import { Backoff } from '../../src/engine/throttle.js';

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
