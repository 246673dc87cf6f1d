/**
 * A TCP proxy between pst2imap and the test Dovecot, on loopback only, that misbehaves on purpose at
 * chosen APPEND commands: the way Outlook.com and real networks do. Each APPEND the client sends is
 * counted (across connections) and read whole before anything is decided; then, by the test's plan:
 *
 * - `cut`:           half the message reaches the server, then both connections are cut (nothing stored)
 * - `lose-answer`:   the server stores it, its tagged OK is dropped and the connections cut
 * - `stall`:         the server stores it, its answer (and everything after) is held back for good
 * - `throttle`:      answered `BAD Request is throttled. Suggested Backoff Time: N milliseconds`
 * - `bye`:           answered `* BYE` and cut, without sending it on
 * - `not-connected`: answered `NO User is authenticated but not connected.`
 * - `refuse`:        answered `NO [LIMIT] ...`
 *
 * Other commands go through, unless `refuseCommand` picks them: those are answered `NO [UNAVAILABLE]`.
 *
 * A fault is chosen by the APPEND's number or by a predicate on the message itself (`refuseWhen`).
 * Synchronizing literals are answered by the proxy itself and sent on as LITERAL+ (Dovecot has it).
 *
 * Like Outlook.com, the proxy does not offer MULTIAPPEND (RFC 3502): it strips it from the capabilities
 * unless started with `multiappend`. Then an APPEND of several messages is one APPEND here, read whole
 * (every message) before its fault is decided, and `refuseWhen` refuses it when any of them matches.
 */
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { withoutMultiappend } from './relay.js';

export type Fault = 'cut' | 'lose-answer' | 'stall' | 'throttle' | 'bye' | 'not-connected' | 'refuse';

export interface FaultProxy {
  port: number;
  /** Faults by APPEND number (1-based, counted across all connections). */
  faults: Map<number, Fault>;
  /** Messages (the literal) that are always refused with NO, whatever their number. */
  refuseWhen: ((message: Buffer) => boolean) | null;
  throttleMs: number;
  /** Commands other than APPEND (their line) that are answered NO here instead of being sent on. */
  refuseCommand: ((line: string) => boolean) | null;
  /** Rewrites each APPEND command line sent on (e.g. to drop flags, as Outlook.com does). */
  rewriteAppend: ((line: string) => string) | null;
  appends: number;
  /** What was done, in order: [APPEND number, fault]. */
  log: Array<[number, Fault | 'pass']>;
  connections: number;
  /** Messages per APPEND command, in order (more than one with MULTIAPPEND). */
  appendSizes: number[];
  close(): Promise<void>;
}

/** Splits an IMAP stream into lines and literals (RFC 3501 4.3), whatever the chunking. */
class Framer {
  private buffer: Buffer = Buffer.alloc(0);
  private literalLeft = 0;

  constructor(
    private readonly onLine: (line: Buffer, literal: { size: number; plus: boolean } | null) => void,
    private readonly onLiteral: (chunk: Buffer) => void,
  ) {}

  push(data: Buffer): void {
    this.buffer = this.buffer.length === 0 ? data : Buffer.concat([this.buffer, data]);
    for (;;) {
      if (this.literalLeft > 0) {
        if (this.buffer.length === 0) return;
        const size = Math.min(this.literalLeft, this.buffer.length);
        const chunk = this.buffer.subarray(0, size);
        this.buffer = this.buffer.subarray(size);
        this.literalLeft -= size;
        this.onLiteral(chunk);
        continue;
      }
      const end = this.buffer.indexOf('\r\n');
      if (end === -1) return;
      const line = this.buffer.subarray(0, end + 2);
      this.buffer = this.buffer.subarray(end + 2);
      const match = /\{(\d+)(\+?)\}\r\n$/.exec(line.toString('latin1'));
      const literal = match ? { size: Number(match[1]), plus: match[2] === '+' } : null;
      if (literal) this.literalLeft = literal.size;
      this.onLine(line, literal);
    }
  }
}

export async function startFaultProxy(upstreamPort: number, options: { throttleMs?: number; multiappend?: boolean } = {}): Promise<FaultProxy> {
  const sockets = new Set<Socket>();
  const proxy: FaultProxy = {
    port: 0,
    faults: new Map(),
    refuseWhen: null,
    refuseCommand: null,
    throttleMs: options.throttleMs ?? 150,
    rewriteAppend: null,
    appends: 0,
    log: [],
    connections: 0,
    appendSizes: [],
    close: async () => {},
  };

  const server: Server = createServer((client) => {
    proxy.connections += 1;
    const upstream = connect(upstreamPort, '127.0.0.1');
    sockets.add(client);
    sockets.add(upstream);
    const cut = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', cut);
    upstream.on('error', cut);
    client.on('close', () => {
      sockets.delete(client);
      upstream.destroy();
    });
    upstream.on('close', () => {
      sockets.delete(upstream);
      client.end();
    });

    // Server -> client: passed on, except the answer to a command whose answer is to be lost or held.
    let watchTag: { tag: string; fault: 'lose-answer' | 'stall' } | null = null;
    let holding = false;
    const fromServer = new Framer(
      (line) => {
        if (holding) return;
        if (watchTag && line.toString('latin1').startsWith(`${watchTag.tag} `)) {
          if (watchTag.fault === 'lose-answer') {
            cut();
            return;
          }
          holding = true;
          return;
        }
        client.write(options.multiappend ? line : withoutMultiappend(line));
      },
      (chunk) => {
        if (!holding) client.write(chunk);
      },
    );
    upstream.on('data', (data: Buffer) => fromServer.push(data));

    // Client -> server: APPENDs are gathered whole, then passed on or answered here.
    let severed = false;
    // One APPEND command: its lines (each ending with a literal's size) and the messages after them.
    let append: { tag: string; lines: string[]; messages: Buffer[]; size: number; parts: Buffer[]; stage: 'literal' | 'rest' } | null = null;
    const decide = (rest: Buffer) => {
      const { tag, lines, messages } = append!;
      append = null;
      proxy.appends += 1;
      proxy.appendSizes.push(messages.length);
      const number = proxy.appends;
      let fault = proxy.faults.get(number) ?? null;
      if (!fault && proxy.refuseWhen && messages.some((message) => proxy.refuseWhen!(message))) fault = 'refuse';
      proxy.log.push([number, fault ?? 'pass']);
      // Sent on as LITERAL+: the proxy already told the client to go ahead.
      const forwardedLines = lines.map((line, index) => {
        const plusLine = line.replace(/\{(\d+)\+?\}\r\n$/, '{$1+}\r\n');
        return Buffer.from(index === 0 && proxy.rewriteAppend ? proxy.rewriteAppend(plusLine) : plusLine, 'latin1');
      });
      const whole = () => Buffer.concat([...forwardedLines.flatMap((line, index) => [line, messages[index]!]), rest]);
      switch (fault) {
        case null:
          upstream.write(whole());
          return;
        case 'cut':
          // Nothing the client sends after this reaches the server: the line is down from here on.
          severed = true;
          upstream.write(Buffer.concat([forwardedLines[0]!, messages[0]!.subarray(0, Math.floor(messages[0]!.length / 2))]), () => setTimeout(cut, 20));
          return;
        case 'lose-answer':
        case 'stall':
          watchTag = { tag, fault };
          upstream.write(whole());
          return;
        case 'throttle':
          client.write(`${tag} BAD Request is throttled. Suggested Backoff Time: ${proxy.throttleMs} milliseconds\r\n`);
          return;
        case 'bye':
          client.write('* BYE Connection is closing. 2.3.1\r\n', () => setTimeout(cut, 10));
          return;
        case 'not-connected':
          client.write(`${tag} NO User is authenticated but not connected.\r\n`);
          return;
        case 'refuse':
          client.write(`${tag} NO [LIMIT] Message refused by the test\r\n`);
          return;
      }
    };
    const fromClient = new Framer(
      (line, literal) => {
        if (severed) return;
        const text = line.toString('latin1');
        if (append?.stage === 'rest') {
          if (!literal) {
            decide(line);
            return;
          }
          // MULTIAPPEND: the next message of the same command.
          append.lines.push(text);
          append.size = literal.size;
          append.parts = [];
          append.stage = literal.size === 0 ? 'rest' : 'literal';
          if (literal.size === 0) append.messages.push(Buffer.alloc(0));
          if (!literal.plus) client.write('+ Ready for literal data\r\n');
          return;
        }
        const command = /^(\S+) APPEND /i.exec(text);
        if (command && literal) {
          append = { tag: command[1]!, lines: [text], messages: [], size: literal.size, parts: [], stage: literal.size === 0 ? 'rest' : 'literal' };
          if (literal.size === 0) append.messages.push(Buffer.alloc(0));
          if (!literal.plus) client.write('+ Ready for literal data\r\n');
          return;
        }
        const tagged = /^(\S+) /.exec(text);
        if (tagged && !literal && proxy.refuseCommand?.(text)) {
          client.write(`${tagged[1]} NO [UNAVAILABLE] Refused by the test\r\n`);
          return;
        }
        upstream.write(line);
      },
      (chunk) => {
        if (severed) return;
        if (append?.stage === 'literal') {
          append.parts.push(Buffer.from(chunk));
          if (append.parts.reduce((sum, part) => sum + part.length, 0) >= append.size) {
            append.messages.push(Buffer.concat(append.parts));
            append.stage = 'rest';
          }
          return;
        }
        upstream.write(chunk);
      },
    );
    client.on('data', (data: Buffer) => fromClient.push(data));
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.port = (server.address() as AddressInfo).port;
  proxy.close = async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return proxy;
}
