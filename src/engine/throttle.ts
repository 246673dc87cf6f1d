/**
 * Pace and back-off: how fast the engine sends, and how it slows down when the server says so.
 *
 * Pacer: `--rate` messages per second and `--bandwidth` bytes per second, as token buckets holding at
 * most a fifth of a second's worth (a short burst, then the steady rate).
 *
 * Backoff: what the server's signals do. A throttling answer (Outlook.com's "Request is throttled.
 * Suggested Backoff Time: N milliseconds", imapflow's ETHROTTLE) pauses every connection for the time
 * asked, plus jitter so that the connections do not all come back at the same instant, and halves the
 * number of connections; a lost connection (BYE, reset, time-out) pauses with an exponential delay.
 * After a run of successes without any signal, one connection is given back, up to what was asked: the
 * climb is slow on purpose, since a server that has just throttled will do it again if pressed.
 */
import { setTimeout as sleep } from 'node:timers/promises';

export interface ThrottleSettings {
  /** Messages per second; null: no limit. */
  rate: number | null;
  /** Bytes per second; null: no limit. */
  bandwidth: number | null;
  /** Connections asked for (the ceiling). */
  connections: number;
  /** First delay after a lost connection or a refusal; doubles each time, up to maxDelayMs. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** Successes in a row that give one connection back. */
  climbAfter: number;
}

/** Milliseconds since some fixed moment: Date.now, or a test's own clock. */
export type Clock = () => number;

class Bucket {
  private tokens: number;
  private last: number;
  private readonly capacity: number;

  /** `burst`: what may go at once, at most; a new run starts with that much, not a second's worth. */
  constructor(
    private readonly perSecond: number,
    burst: number,
    private readonly clock: Clock,
  ) {
    this.capacity = Math.max(burst, perSecond / 5);
    this.tokens = burst;
    this.last = clock();
  }

  /** Milliseconds to wait before `amount` may go; takes it. */
  take(amount: number): number {
    const now = this.clock();
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.last) / 1000) * this.perSecond);
    this.last = now;
    this.tokens -= amount;
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens / this.perSecond) * 1000);
  }
}

export class Pacer {
  private readonly messages: Bucket | null;
  private readonly bytes: Bucket | null;

  constructor(settings: Pick<ThrottleSettings, 'rate' | 'bandwidth'>, clock: Clock = Date.now) {
    this.messages = settings.rate ? new Bucket(settings.rate, 1, clock) : null;
    // A message bigger than the bucket still goes, after waiting for its bytes.
    this.bytes = settings.bandwidth ? new Bucket(settings.bandwidth, settings.bandwidth / 5, clock) : null;
  }

  /** Milliseconds to wait before one message of `size` bytes may be sent; counts it as sent. */
  reserve(size: number): number {
    return Math.max(this.messages?.take(1) ?? 0, this.bytes?.take(size) ?? 0);
  }

  /** Waits until one message of `size` bytes may be sent. */
  async take(size: number, signal?: AbortSignal): Promise<void> {
    const wait = this.reserve(size);
    if (wait > 0) await sleep(wait, undefined, { signal }).catch(() => {});
  }
}

export type BackoffState = 'normal' | 'throttled' | 'reconnecting';

export class Backoff {
  private pausedUntil = 0;
  private successes = 0;
  private connectionFailures = 0;
  private current: number;
  state: BackoffState = 'normal';

  constructor(
    private readonly settings: ThrottleSettings,
    private readonly onChange: (event: { state: BackoffState; connections: number; waitMs: number; words: string }) => void = () => {},
  ) {
    this.current = settings.connections;
  }

  /** Connections to use now. */
  get connections(): number {
    return this.current;
  }

  /** Waits out any pause in force. */
  async ready(signal?: AbortSignal): Promise<void> {
    for (;;) {
      const wait = this.pausedUntil - Date.now();
      if (wait <= 0 || signal?.aborted) return;
      await sleep(wait, undefined, { signal }).catch(() => {});
    }
  }

  private pause(ms: number): number {
    // Up to a fifth more, at random: connections waking together would be throttled together.
    const wait = Math.round(ms + Math.random() * Math.max(ms * 0.2, 50));
    this.pausedUntil = Math.max(this.pausedUntil, Date.now() + wait);
    return wait;
  }

  throttled(suggestedMs: number | null, words: string): void {
    this.successes = 0;
    this.current = Math.max(1, Math.floor(this.current / 2));
    const wait = this.pause(Math.min(Math.max(suggestedMs ?? this.settings.baseDelayMs, this.settings.baseDelayMs), this.settings.maxDelayMs * 10));
    this.state = 'throttled';
    this.onChange({ state: this.state, connections: this.current, waitMs: wait, words });
  }

  connectionLost(words: string): void {
    this.successes = 0;
    this.connectionFailures += 1;
    const delay = Math.min(this.settings.baseDelayMs * 2 ** (this.connectionFailures - 1), this.settings.maxDelayMs);
    // Several failures in a row: fewer connections too.
    if (this.connectionFailures >= 2) this.current = Math.max(1, this.current - 1);
    const wait = this.pause(delay);
    this.state = 'reconnecting';
    this.onChange({ state: this.state, connections: this.current, waitMs: wait, words });
  }

  /** A refusal (NO) of one message: that message waits; the others go on. */
  refusalDelay(attempt: number): number {
    return Math.min(this.settings.baseDelayMs * 2 ** attempt, this.settings.maxDelayMs);
  }

  success(): void {
    this.connectionFailures = 0;
    this.successes += 1;
    if (this.state !== 'normal' && this.pausedUntil <= Date.now()) {
      this.state = 'normal';
      this.onChange({ state: this.state, connections: this.current, waitMs: 0, words: '' });
    }
    if (this.current < this.settings.connections && this.successes >= this.settings.climbAfter) {
      this.successes = 0;
      this.current += 1;
      this.onChange({ state: this.state, connections: this.current, waitMs: 0, words: '' });
    }
  }
}
