/**
 * The proxy measured on its own: the round trip it adds against the one asked for (small pings through
 * it to a loopback echo server, one at a time), its loopback throughput against a direct connection, and
 * the bandwidth it paces to.
 */
import { createServer, connect, type Server, type Socket, type AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { startLatencyProxy, startLatencyProxyProcess } from './latency-proxy.js';

export interface PingResult {
  rttMs: number;
  samples: number;
  medianMs: number;
  p95Ms: number;
  minMs: number;
  maxMs: number;
  /** Median measured minus configured. */
  addedErrorMs: number;
}

export interface ThroughputResult {
  label: string;
  bytes: number;
  seconds: number;
  mbPerSecond: number;
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return (server.address() as AddressInfo).port;
}

async function closeServer(server: Server, sockets: Set<Socket>): Promise<void> {
  for (const socket of sockets) socket.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

function startEcho(): { server: Server; sockets: Set<Socket> } {
  const sockets = new Set<Socket>();
  const server = createServer({ noDelay: true }, (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    socket.pipe(socket);
  });
  return { server, sockets };
}

function startSink(): { server: Server; sockets: Set<Socket>; received: () => number } {
  const sockets = new Set<Socket>();
  let total = 0;
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => (total += chunk.length));
    socket.on('end', () => socket.end('done'));
  });
  return { server, sockets, received: () => total };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length - 1) * p))];
}

/** Pings of 64 bytes through a proxy with the given RTT, one at a time. */
export async function measurePing(rttMs: number, samples = 40, inProcess = false): Promise<PingResult> {
  const echo = startEcho();
  const echoPort = await listen(echo.server);
  const start = inProcess ? startLatencyProxy : startLatencyProxyProcess;
  const proxy = await start({ targetPort: echoPort, rttMs, lifetimeMs: 120_000 });
  const times: number[] = [];
  try {
    const socket = connect({ host: '127.0.0.1', port: proxy.port, noDelay: true });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('error', reject);
    });
    const payload = Buffer.alloc(64, 0x61);
    let failure: Error | null = null;
    socket.on('error', (error) => (failure = error));
    for (let i = 0; i < samples; i++) {
      const started = performance.now();
      if (failure) throw failure;
      await new Promise<void>((resolve) => {
        let got = 0;
        const onData = (chunk: Buffer): void => {
          got += chunk.length;
          if (got >= payload.length) {
            socket.off('data', onData);
            resolve();
          }
        };
        socket.on('data', onData);
        socket.write(payload);
      });
      times.push(performance.now() - started);
    }
    socket.destroy();
  } finally {
    await proxy.close();
    await closeServer(echo.server, echo.sockets);
  }
  const sorted = [...times].sort((a, b) => a - b);
  const median = percentile(sorted, 0.5);
  return {
    rttMs,
    samples,
    medianMs: median,
    p95Ms: percentile(sorted, 0.95),
    minMs: sorted[0],
    maxMs: sorted[sorted.length - 1],
    addedErrorMs: median - rttMs,
  };
}

/** Sends `megabytes` of data to a sink, directly or through a proxy, and times it until the sink answers. */
export async function measureThroughput(
  megabytes: number,
  via: { rttMs: number; bandwidthBytesPerSecond?: number | null } | null,
): Promise<ThroughputResult> {
  const sink = startSink();
  const sinkPort = await listen(sink.server);
  const proxy = via
    ? await startLatencyProxyProcess({ targetPort: sinkPort, rttMs: via.rttMs, bandwidthBytesPerSecond: via.bandwidthBytesPerSecond ?? null, lifetimeMs: 600_000 })
    : null;
  const bytes = megabytes * 1024 * 1024;
  const block = Buffer.alloc(64 * 1024, 0x62);
  let seconds = 0;
  try {
    const socket = connect({ host: '127.0.0.1', port: proxy ? proxy.port : sinkPort });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('error', reject);
    });
    const started = performance.now();
    const answered = new Promise<void>((resolve, reject) => {
      socket.on('data', () => resolve());
      socket.once('error', reject);
    });
    let sent = 0;
    // Bounded: bytes / block writes.
    while (sent < bytes) {
      sent += block.length;
      if (!socket.write(block)) await new Promise((resolve) => socket.once('drain', resolve));
    }
    socket.end();
    await answered;
    seconds = (performance.now() - started) / 1000;
    socket.destroy();
  } finally {
    if (proxy) await proxy.close();
    await closeServer(sink.server, sink.sockets);
  }
  const label = via
    ? `proxy rtt ${via.rttMs} ms${via.bandwidthBytesPerSecond ? `, ${((via.bandwidthBytesPerSecond * 8) / 1e6).toFixed(0)} Mbit/s` : ''}`
    : 'direct';
  return { label, bytes, seconds, mbPerSecond: bytes / 1024 / 1024 / seconds };
}
