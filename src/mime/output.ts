/**
 * How a rebuilt message is held while it is made, so that a message of large attachments costs about its
 * own size once, not several times over:
 * - attachment bytes go into mail-composer in slices, read from the PST only as the base64 encoder takes
 *   them, so that an attachment is never held whole and the encoder works on small pieces (given whole,
 *   a 4 MB attachment becomes a 5.4 MB string, a 5.4 MB copy of it and the wrapped lines);
 * - the message is written into one buffer as it streams out, with its header block replaced on the
 *   way, instead of collected in chunks, joined, and joined again behind the new header;
 * - buffers this module or the PST layer made for one message are let go explicitly once read
 *   (releaseBytes), instead of waiting, dead, for V8's next full collection.
 */
import { EventEmitter } from 'node:events';
import { Readable, type Writable } from 'node:stream';
import { encode as base64Encode, wrap as base64Wrap } from 'nodemailer/lib/base64';
import { encode as qpEncode, wrap as qpWrap } from 'nodemailer/lib/qp';
import type MimeNode from 'nodemailer/lib/mime-node';

/** Slices of attachment bytes fed to the encoder (a multiple of 3: base64 carries nothing over). */
const SLICE_BYTES = 48 * 1024;

/** Below this, a buffer is not worth releasing by hand: it is let go with the young generation. */
const RELEASE_MIN_BYTES = 64 * 1024;

/**
 * Frees the memory behind `bytes` now. A large Buffer that lived for more than a moment is in V8's old
 * generation, and its memory comes back only at the next full collection, which V8 starts only after
 * some 64 MB more of such memory: a few large messages' worth of dead copies per thread. Moving
 * (transferring) the memory to a new, unreferenced ArrayBuffer empties `bytes` (and every view of the
 * same memory: its length becomes 0) and lets the memory go at the next scavenge, which comes soon.
 *
 * Only for memory nobody reads any more, and only for buffers of their own (a view at offset 0 of a
 * large ArrayBuffer: never Node's shared pool of small buffers, which is 8 KB). Does nothing otherwise.
 */
export function releaseBytes(bytes: Uint8Array): void {
  const memory = bytes.buffer;
  if (!(memory instanceof ArrayBuffer) || bytes.byteOffset !== 0 || memory.byteLength < RELEASE_MIN_BYTES) return;
  try {
    structuredClone(memory, { transfer: [memory] });
  } catch {
    // Not transferable (Node marks some memory so): it goes with the garbage collector, as before.
  }
}

/**
 * `length` bytes as a stream of slices, each made by `slice(at, size)` only when the reader wants it (a
 * view of a Buffer, or bytes read from the PST). A slice that throws ends the stream with that error.
 */
export function slicedStream(length: number, slice: (at: number, size: number) => Buffer): Readable {
  let at = 0;
  return new Readable({
    highWaterMark: SLICE_BYTES,
    read() {
      if (at >= length) {
        this.push(null);
        return;
      }
      const size = Math.min(SLICE_BYTES, length - at);
      let bytes: Buffer;
      try {
        bytes = slice(at, size);
      } catch (error) {
        this.destroy(error instanceof Error ? error : new Error(String(error)));
        return;
      }
      at += size;
      this.push(bytes);
    },
  });
}

/** The size of `n` bytes in base64 with mail-composer's 76-character lines, CRLF after each. */
export function base64Size(n: number): number {
  const chars = Math.ceil(n / 3) * 4;
  return chars + Math.ceil(chars / 76) * 2;
}

/**
 * Parts up to this size are encoded up front (encodePartsUpFront); larger ones stream through the encoder,
 * which is the faster of the two from about 100 KB (wrap() works on strings, the Encoder on bytes).
 */
const UP_FRONT_MAX_BYTES = 64 * 1024;

/** nodemailer's quoted-printable Encoder works on slices of this size (ENCODE_SLICE_SIZE in its qp module). */
const QP_SLICE_BYTES = 64 * 1024;

/**
 * Hands mail-composer each leaf part of the tree whose content is a Buffer (the bodies, small attachments)
 * already written: its header block as the node builds it (buildHeaders()), the blank line, and the content
 * encoded by nodemailer's own functions, set as the node's raw content. stream() then writes the part as
 * it is, where it would have streamed the content through a PassThrough, an Encoder and a pipeline() of
 * the two (an AbortController and an AbortError each): the same bytes, for a fraction of the work.
 * - base64: wrap(encode()), which nodemailer's base64 Encoder documents as its output, however the input
 *   is split;
 * - quoted-printable: wrap(encode()) is what its Encoder writes for a text part given whole (a Buffer
 *   reaches it as one chunk) when the part is no larger than one of the Encoder's slices and does not end
 *   in a space or tab (the Encoder holds such white space back and encodes it on its own at the end).
 *   Other quoted-printable parts are left to stream().
 * Call it once the tree is final (keepBcc set): the header block is built here, not when the part is
 * written. Streams and parts over 64 KB are left to stream() too.
 *
 * buildHeaders() decides each part's transfer encoding (for a text part by decoding and scanning the
 * whole body) and sets it as the part's header, so that stream() does not decide again. A Buffer part
 * left to stream() gets its header block built a second time there, the same.
 */
export function encodePartsUpFront(node: MimeNode): void {
  if (node.childNodes.length > 0) {
    for (const child of node.childNodes) encodePartsUpFront(child);
    return;
  }
  const content = node.content;
  if (!Buffer.isBuffer(content)) return;
  const head = node.buildHeaders();
  const encoding = node.getHeader('Content-Transfer-Encoding');
  const last = content.length > 0 ? content[content.length - 1] : -1;
  let body: string | null = null;
  if (encoding === 'base64' && content.length <= UP_FRONT_MAX_BYTES) {
    body = base64Wrap(base64Encode(content), 76);
  } else if (encoding === 'quoted-printable' && content.length <= QP_SLICE_BYTES && last !== 0x20 && last !== 0x09) {
    // The Encoder encodes text/* as text, anything else as binary: only text is taken here.
    if (/^text\//i.test(node.contentType ?? '')) body = qpWrap(qpEncode(content), 76);
  }
  if (body !== null) node.setRaw(Buffer.concat([Buffer.from(`${head}\r\n\r\n`, 'utf8'), Buffer.from(body, 'latin1')]));
}

const HEADER_END = Buffer.from('\r\n\r\n', 'latin1');

/** Writes a whole message into `into` and calls `done` once, with an error if it could not. */
export type MessageSource = (into: Writable, done: (error?: Error | null) => void) => void;

/**
 * What mail-composer writes a message into: its stream() writes strings and buffers, pipes its parts' and
 * encoders' streams in (Readable.pipe: write(), true for "go on", and the events pipe listens to), and
 * looks at `destroyed` and 'close'. A plain EventEmitter with write(), a destination Readable.pipe()
 * has always taken (the "classic" writable stream), instead of a Writable, whose buffering, callbacks and
 * ticks on every write the message, held in memory, does not need. It never closes nor fails.
 */
class MessageInput extends EventEmitter {
  readonly destroyed = false;
  readonly writable = true;

  constructor(private readonly take: (bytes: Buffer) => void) {
    super();
  }

  /** Strings (mail-composer's headers and boundaries) are taken as a PassThrough takes them: UTF-8. */
  write(chunk: Buffer | string): boolean {
    this.take(typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk);
    return true;
  }

  end(): void {}
}

/**
 * Memory for one message. From 64 KB on, a resizable ArrayBuffer: V8 maps it from the system on its own
 * and gives it back whole when it is freed, where a plain Buffer's memory comes from malloc, whose heaps
 * keep what was freed (on Linux, glibc's arenas grow with the mix of message sizes over a long run).
 */
function messageMemory(capacity: number): Buffer {
  if (capacity < RELEASE_MIN_BYTES) return Buffer.allocUnsafeSlow(capacity);
  return Buffer.from(new ArrayBuffer(capacity, { maxByteLength: capacity }));
}

/**
 * Reads a message as `source` writes it (mail-composer: `(into, done) => node.stream(into, {}, done)`)
 * into one buffer, `capacity` bytes to start with (grown when the estimate was short), its header block
 * (up to the blank line, as latin1 text) replaced by what `header` makes of it. The result is a view at
 * offset 0 of memory of its own (never Node's shared pool), with at most the estimate's surplus behind
 * it, never written.
 *
 * The message is written straight into a MessageInput, not read from mail-composer's
 * createReadStream(): that wraps the same stream() call in a PassThrough and a pipeline() (an
 * AbortController and an AbortError made for every message) only to add the line break at the end
 * that its LastNewline transform adds, and this does here: CRLF after a message that does not end
 * with LF (LF after a lone CR). The bytes are the same.
 */
export function writeMessage(source: MessageSource, capacity: number, header: (generated: string) => string): Promise<Buffer> {
  const sink = new MessageSink();
  /** The start of the message, until the end of its header block is in. */
  let head: Buffer | null = Buffer.alloc(0);
  let lastByte = -1;
  const start = (generated: Buffer, rest: Buffer) => {
    const block = Buffer.from(`${header(generated.toString('latin1'))}\r\n\r\n`, 'latin1');
    sink.open(block.length + Math.max(capacity, rest.length));
    sink.append(block);
    sink.append(rest);
  };
  const take = (bytes: Buffer) => {
    if (bytes.length === 0) return;
    lastByte = bytes[bytes.length - 1];
    if (head === null) {
      sink.append(bytes);
      return;
    }
    head = head.length === 0 ? bytes : Buffer.concat([head, bytes]);
    const end = head.indexOf(HEADER_END);
    if (end < 0) return;
    start(head.subarray(0, end), head.subarray(end + HEADER_END.length));
    head = null;
  };
  return new Promise<Buffer>((resolve, reject) => {
    const into = new MessageInput(take) as unknown as Writable;
    let settled = false;
    source(into, (error) => {
      if (settled) return;
      settled = true;
      if (error) {
        reject(error);
        return;
      }
      // What LastNewline does at the end of mail-composer's stream.
      if (lastByte !== 0x0a) take(Buffer.from(lastByte === 0x0d ? '\n' : '\r\n', 'latin1'));
      // No blank line at all: the whole of it was header.
      if (head !== null) start(head, Buffer.alloc(0));
      resolve(sink.bytes());
    });
  });
}

/** Bytes written one after another into one buffer, grown when it is full. */
class MessageSink {
  private out: Buffer = Buffer.alloc(0);
  private used = 0;

  open(capacity: number): void {
    this.out = messageMemory(capacity);
    this.used = 0;
  }

  append(chunk: Buffer): void {
    if (chunk.length === 0) return;
    if (this.used + chunk.length > this.out.length) {
      const grown = messageMemory(Math.max(this.used + chunk.length, Math.ceil(this.out.length * 1.5)));
      this.out.copy(grown, 0, 0, this.used);
      releaseBytes(this.out);
      this.out = grown;
    }
    chunk.copy(this.out, this.used);
    this.used += chunk.length;
  }

  bytes(): Buffer {
    const memory = this.out.buffer;
    if (memory instanceof ArrayBuffer && memory.resizable && this.out.byteOffset === 0) {
      memory.resize(this.used);
      return Buffer.from(memory, 0, this.used);
    }
    return this.out.subarray(0, this.used);
  }
}
