/**
 * A TCP proxy on loopback that stands in for a server far away: every byte crossing it in either
 * direction is held for a one-way delay and, optionally, paced to a bandwidth, the way a network path
 * delays it, so a client sees the round-trip time it would see against Outlook.com from a distant home.
 *
 * Each direction of each connection is a delayed pipe: a chunk read at time t is serialised onto a
 * virtual link (free again at t + size / bandwidth, after the chunks before it) and delivered one-way
 * delay later, in order. Chunks in flight do not wait for one another's delay (a pipelining client gets
 * its pipelining), and the two directions are independent. The end of a stream (FIN) travels through the
 * pipe like data. A reader is paused while more than `highWaterBytes` are in flight in its direction,
 * which stands for the TCP window.
 *
 * Loopback only: it listens on 127.0.0.1 and connects to 127.0.0.1. It closes itself after
 * `lifetimeMs` (default 2 hours) whatever happens; its timers keep a process alive only while bytes are in
 * flight.
 *
 * Standalone: `npx tsx bench/latency-proxy.ts --target-port 143 --rtt 50 [--bandwidth-mbit 100]
 * [--port 0] [--lifetime-s 3600]` prints the listening port.
 */
import { spawn } from 'node:child_process';
import { createServer, connect, type Server, type Socket, type AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';

const LOOPBACK = '127.0.0.1';

export interface LatencyProxyOptions {
  /** Port of the real server on 127.0.0.1. */
  targetPort: number;
  /** Port to listen on (127.0.0.1); 0 for a free one. */
  listenPort?: number;
  /** Round-trip time added, split evenly between the two directions unless they are given. */
  rttMs?: number;
  /** Client to server delay, ms (overrides rttMs / 2). */
  upDelayMs?: number;
  /** Server to client delay, ms (overrides rttMs / 2). */
  downDelayMs?: number;
  /** Bytes per second per direction and per connection; null or 0: unlimited. */
  bandwidthBytesPerSecond?: number | null;
  /** Bytes in flight per direction before the reader is paused (the window). Default 4 MiB. */
  highWaterBytes?: number;
  /** The proxy closes itself after this long. Default 2 hours. */
  lifetimeMs?: number;
}

export interface LatencyProxyStats {
  connections: number;
  bytesUp: number;
  bytesDown: number;
  /** Largest lateness of a delivery against its due time, ms (timer granularity, event loop load). */
  maxLatenessMs: number;
}

export interface LatencyProxy {
  host: string;
  port: number;
  upDelayMs: number;
  downDelayMs: number;
  bandwidthBytesPerSecond: number | null;
  stats: LatencyProxyStats;
  close(): Promise<void>;
}

interface Pending {
  chunk: Buffer | null; // null: end of stream
  due: number;
}

const EARLY_MS = 1.0;
const TOLERANCE_MS = 1.0;

/** Most chunks delivered per timer turn, so that one turn never runs unbounded. */
const MAX_DELIVERIES_PER_TURN = 4096;

/** One direction of one connection. */
class DelayedPipe {
  private readonly queue: Pending[] = [];
  private head = 0;
  private inFlight = 0;
  private linkFreeAt = 0;
  private timer: NodeJS.Timeout | null = null;
  private waitingForDrain = false;
  private paused = false;
  private ended = false;

  constructor(
    private readonly from: Socket,
    private readonly to: Socket,
    private readonly delayMs: number,
    private readonly bytesPerMs: number | null,
    private readonly highWater: number,
    private readonly onBytes: (count: number) => void,
    private readonly onLateness: (ms: number) => void,
  ) {
    from.on('data', (chunk: Buffer) => this.accept(chunk));
    from.on('end', () => this.acceptEnd());
    to.on('drain', () => {
      this.waitingForDrain = false;
      this.deliver();
    });
  }

  private dueFor(size: number): number {
    const now = performance.now();
    const start = Math.max(now, this.linkFreeAt);
    const sent = this.bytesPerMs ? start + size / this.bytesPerMs : start;
    this.linkFreeAt = sent;
    return sent + this.delayMs;
  }

  private accept(chunk: Buffer): void {
    this.onBytes(chunk.length);
    const due = this.dueFor(chunk.length);
    // No delay, no pacing, nothing queued: straight through (the proxy's own cost, measured as such).
    if (this.delayMs === 0 && !this.bytesPerMs && this.head === this.queue.length && !this.waitingForDrain) {
      if (!this.to.write(chunk)) this.waitingForDrain = true;
      return;
    }
    this.queue.push({ chunk, due });
    this.inFlight += chunk.length;
    if (this.inFlight > this.highWater && !this.paused) {
      this.paused = true;
      this.from.pause();
    }
    this.schedule();
  }

  private acceptEnd(): void {
    if (this.ended) return;
    this.ended = true;
    this.queue.push({ chunk: null, due: this.dueFor(0) });
    this.schedule();
  }

  private schedule(): void {
    if (this.timer || this.waitingForDrain || this.head === this.queue.length) return;
    // Node's timers work in whole milliseconds from a cached loop time and fire late: aimed a
    // millisecond early, and a chunk delivered once within a millisecond of due, the measured round
    // trip lands within about a millisecond of the one asked for (bench/proxy-check.ts measures it in
    // every session; the report uses the measured figure).
    const wait = Math.max(0, this.queue[this.head].due - performance.now() - EARLY_MS);
    // Referenced while data is in flight: a paused idle socket does not keep the process alive, this does.
    this.timer = setTimeout(() => {
      this.timer = null;
      this.deliver();
    }, wait);
  }

  private deliver(): void {
    const now = performance.now();
    let delivered = 0;
    // Bounded: at most MAX_DELIVERIES_PER_TURN chunks, then the next turn is scheduled.
    while (this.head < this.queue.length && delivered < MAX_DELIVERIES_PER_TURN && !this.waitingForDrain) {
      const next = this.queue[this.head];
      if (next.due > now + TOLERANCE_MS) break;
      this.head++;
      delivered++;
      this.onLateness(now - next.due);
      if (next.chunk === null) {
        this.to.end();
        continue;
      }
      this.inFlight -= next.chunk.length;
      if (!this.to.write(next.chunk)) this.waitingForDrain = true;
    }
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    if (this.paused && this.inFlight <= this.highWater / 2) {
      this.paused = false;
      this.from.resume();
    }
    this.schedule();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.queue.length = 0;
    this.head = 0;
  }
}

export async function startLatencyProxy(options: LatencyProxyOptions): Promise<LatencyProxy> {
  const rtt = options.rttMs ?? 0;
  const upDelayMs = options.upDelayMs ?? rtt / 2;
  const downDelayMs = options.downDelayMs ?? rtt / 2;
  const bandwidth = options.bandwidthBytesPerSecond ? options.bandwidthBytesPerSecond : null;
  const bytesPerMs = bandwidth ? bandwidth / 1000 : null;
  const highWater = options.highWaterBytes ?? 4 * 1024 * 1024;
  if (![upDelayMs, downDelayMs].every((d) => Number.isFinite(d) && d >= 0 && d <= 60_000)) {
    throw new Error('latency proxy: delays must be between 0 and 60000 ms');
  }
  const stats: LatencyProxyStats = { connections: 0, bytesUp: 0, bytesDown: 0, maxLatenessMs: 0 };
  const sockets = new Set<Socket>();
  const pipes = new Set<DelayedPipe>();
  const lateness = (ms: number): void => {
    if (ms > stats.maxLatenessMs) stats.maxLatenessMs = ms;
  };

  const server: Server = createServer({ noDelay: true, allowHalfOpen: true }, (client) => {
    stats.connections++;
    const upstream = connect({ host: LOOPBACK, port: options.targetPort, noDelay: true, allowHalfOpen: true });
    client.setNoDelay(true);
    sockets.add(client);
    sockets.add(upstream);
    const up = new DelayedPipe(client, upstream, upDelayMs, bytesPerMs, highWater, (n) => (stats.bytesUp += n), lateness);
    const down = new DelayedPipe(upstream, client, downDelayMs, bytesPerMs, highWater, (n) => (stats.bytesDown += n), lateness);
    pipes.add(up);
    pipes.add(down);
    const finish = (): void => {
      up.stop();
      down.stop();
      pipes.delete(up);
      pipes.delete(down);
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    // A reset on either side ends both at once. An orderly end travels through the pipes like data,
    // and each socket closes by itself once both of its directions are done; the pair is forgotten when
    // both have.
    client.on('error', finish);
    upstream.on('error', finish);
    let open = 2;
    const closed = (): void => {
      if (--open === 0) finish();
    };
    client.once('close', closed);
    upstream.once('close', closed);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.listenPort ?? 0, LOOPBACK, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  let closed: Promise<void> | null = null;
  const close = (): Promise<void> => {
    if (closed) return closed;
    clearTimeout(lifetime);
    for (const pipe of pipes) pipe.stop();
    for (const socket of sockets) socket.destroy();
    closed = new Promise<void>((resolve) => server.close(() => resolve()));
    return closed;
  };
  const lifetime = setTimeout(() => void close(), options.lifetimeMs ?? 2 * 3600_000);
  lifetime.unref();

  return { host: LOOPBACK, port, upDelayMs, downDelayMs, bandwidthBytesPerSecond: bandwidth, stats, close };
}

/**
 * The proxy in a process of its own, so that the clients measured in the bench's process (imapflow)
 * cannot delay its timers, nor it theirs. Resolves once it listens; close() ends that child only.
 */
export async function startLatencyProxyProcess(options: LatencyProxyOptions): Promise<LatencyProxy> {
  const args = ['--import', 'tsx', fileURLToPath(import.meta.url), '--target-port', String(options.targetPort)];
  const rtt = options.rttMs ?? 0;
  args.push('--up', String(options.upDelayMs ?? rtt / 2), '--down', String(options.downDelayMs ?? rtt / 2));
  if (options.bandwidthBytesPerSecond) args.push('--bandwidth-mbit', String((options.bandwidthBytesPerSecond * 8) / 1e6));
  args.push('--lifetime-s', String(Math.ceil((options.lifetimeMs ?? 2 * 3600_000) / 1000)));
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new Error('latency proxy process did not start')), 30_000);
    child.stdout.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      const match = /latency proxy 127\.0\.0\.1:(\d+)/.exec(text);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`latency proxy process exited (${code})`));
    });
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    host: LOOPBACK,
    port,
    upDelayMs: options.upDelayMs ?? rtt / 2,
    downDelayMs: options.downDelayMs ?? rtt / 2,
    bandwidthBytesPerSecond: options.bandwidthBytesPerSecond ?? null,
    // Counted in the child; not reported across processes.
    stats: { connections: 0, bytesUp: 0, bytesDown: 0, maxLatenessMs: 0 },
    async close() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000))]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

async function standalone(argv: string[]): Promise<void> {
  const value = (name: string): string | undefined => {
    const at = argv.indexOf(name);
    return at >= 0 ? argv[at + 1] : undefined;
  };
  const targetPort = Number(value('--target-port'));
  if (!Number.isInteger(targetPort) || targetPort <= 0) {
    process.stderr.write('usage: latency-proxy --target-port N [--rtt MS] [--up MS] [--down MS] [--bandwidth-mbit N] [--port N] [--lifetime-s N]\n');
    process.exitCode = 2;
    return;
  }
  const mbit = value('--bandwidth-mbit');
  const proxy = await startLatencyProxy({
    targetPort,
    listenPort: Number(value('--port') ?? 0),
    rttMs: Number(value('--rtt') ?? 0),
    upDelayMs: value('--up') === undefined ? undefined : Number(value('--up')),
    downDelayMs: value('--down') === undefined ? undefined : Number(value('--down')),
    bandwidthBytesPerSecond: mbit ? (Number(mbit) * 1e6) / 8 : null,
    lifetimeMs: Number(value('--lifetime-s') ?? 3600) * 1000,
  });
  process.stdout.write(`latency proxy 127.0.0.1:${proxy.port} -> 127.0.0.1:${targetPort}, up ${proxy.upDelayMs} ms, down ${proxy.downDelayMs} ms\n`);
  // Keeps the process alive until the proxy's own lifetime ends or a signal arrives.
  const keepAlive = setInterval(() => undefined, 60_000);
  const stop = (): void => {
    clearInterval(keepAlive);
    void proxy.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  setTimeout(stop, Number(value('--lifetime-s') ?? 3600) * 1000).unref();
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  void standalone(process.argv.slice(2));
}
