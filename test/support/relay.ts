/**
 * A loopback relay that passes IMAP traffic through unchanged and records it, in order, with its
 * direction: to see on the wire what a client sent and when the server answered.
 */
import { createServer, connect, type AddressInfo, type Server } from 'node:net';

export interface Relay {
  port: number;
  /** Everything that passed, in order, with its direction. */
  traffic: Array<{ toServer: boolean; data: Buffer }>;
  close(): Promise<void>;
}

export interface RelayOptions {
  /** Changes what the server says before the client sees it (it is recorded as sent). */
  fromServer?: (chunk: Buffer) => Buffer;
  /**
   * What the server says reaches the client that much later, and is recorded when it does, so that the
   * order of the traffic is the order in which the client saw it (a round trip of at least that: what
   * the client sent before an answer is recorded before it).
   */
  answerDelayMs?: number;
  /** A slow line towards the server: what the client sends is read at about this many bytes a second. */
  toServerBytesPerSecond?: number;
  /** From the first chunk from the client for which this is true, nothing more is read from it: a server that stops reading. */
  stopReading?: (chunk: Buffer) => boolean;
}

export function startRelay(upstreamPort: number, options: RelayOptions = {}): Promise<Relay> {
  const traffic: Relay['traffic'] = [];
  const relay: Server = createServer((client) => {
    const upstream = connect(upstreamPort, '127.0.0.1');
    client.on('data', (chunk: Buffer) => {
      if (options.stopReading?.(chunk)) {
        client.pause();
        client.removeAllListeners('data');
        return;
      }
      traffic.push({ toServer: true, data: chunk });
      upstream.write(chunk);
      if (options.toServerBytesPerSecond) {
        client.pause();
        setTimeout(() => client.resume(), (chunk.length / options.toServerBytesPerSecond) * 1000);
      }
    });
    upstream.on('data', (chunk: Buffer) => {
      const deliver = () => {
        traffic.push({ toServer: false, data: chunk });
        if (!client.destroyed) client.write(options.fromServer ? options.fromServer(chunk) : chunk);
      };
      if (options.answerDelayMs) setTimeout(deliver, options.answerDelayMs);
      else deliver();
    });
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  return new Promise((resolve) =>
    relay.listen(0, '127.0.0.1', () =>
      resolve({
        port: (relay.address() as AddressInfo).port,
        traffic,
        close: () => new Promise<void>((done) => relay.close(() => done())),
      }),
    ),
  );
}

/**
 * What the server said with MULTIAPPEND (RFC 3502) taken out of any capability list in it: a server like
 * Outlook.com, which does not offer it. For a relay's `fromServer`, or a line.
 */
export function withoutMultiappend(chunk: Buffer): Buffer {
  const text = chunk.toString('latin1');
  return /CAPABILITY/i.test(text) ? Buffer.from(text.replace(/ MULTIAPPEND\b/gi, ''), 'latin1') : chunk;
}
