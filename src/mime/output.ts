/**
 * How a rebuilt message is held while it is made, so that a message of large attachments costs about its
 * own size once, not several times over:
 * - a large attachment's bytes go into mail-composer in slices, read from the PST only as the base64
 *   encoder takes them, so that it is never held whole and the encoder works on small pieces (given
 *   whole, a 4 MB attachment becomes a 5.4 MB string, a 5.4 MB copy of it and the wrapped lines); parts
 *   up to 1 MB are encoded up front, straight into their bytes (encodePartsUpFront);
 * - the message is written into one buffer as it streams out, with its header block replaced on the
 *   way, instead of collected in chunks, joined, and joined again behind the new header;
 * - buffers this module or the PST layer made for one message are let go explicitly once read
 *   (releaseBytes), instead of waiting, dead, for V8's next full collection.
 */
import { EventEmitter } from 'node:events';
import { Readable, type Writable } from 'node:stream';
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
 * a slice at a time, so that a large attachment is never held whole, nor its encoded copy. Attachments up
 * to this size are read whole for it (rebuild.ts): at most some 3.4 MB held for a moment (the bytes, the
 * part encoded, and the message it goes into).
 */
export const UP_FRONT_MAX_BYTES = 1024 * 1024;

/** nodemailer's quoted-printable Encoder works on slices of this size (ENCODE_SLICE_SIZE in its qp module). */
const QP_SLICE_BYTES = 64 * 1024;

/** mail-composer's base64 lines: 76 characters, CRLF between them. */
const BASE64_LINE = 76;

/**
 * `head`, a blank line, then `content` in base64 as mail-composer writes it: lines of 76 characters
 * joined by CRLF, no line break after the last (nodemailer's wrap(encode()) and its Encoder's output),
 * in one buffer: the base64 is written where it ends without line breaks, then each line is moved out to
 * its place, last line first. wrap() does the same to a string with a regular expression, and the
 * Encoder through a stream: both cost more than the encoding itself.
 */
export function base64Part(head: string, content: Buffer): Buffer {
  const chars = Math.ceil(content.length / 3) * 4;
  const breaks = Math.max(Math.ceil(chars / BASE64_LINE) - 1, 0);
  const start = Buffer.byteLength(head, 'utf8') + 4;
  const out = Buffer.allocUnsafe(start + chars + breaks * 2);
  out.write(head, 0, 'utf8');
  out.write('\r\n\r\n', start - 4, 'latin1');
  if (out.write(content.toString('base64'), start, 'latin1') !== chars) throw new Error('base64Part: the encoded length is not as computed');
  // Line k (0-based) starts at k * 76 in the unbroken text and at k * 78 in the part.
  for (let line = breaks; line > 0; line--) {
    const from = start + line * BASE64_LINE;
    const to = from + line * 2;
    out.copyWithin(to, from, Math.min(from + BASE64_LINE, start + chars));
    out[to - 2] = 0x0d;
    out[to - 1] = 0x0a;
  }
  return out;
}

/**
 * Hands mail-composer each leaf part of the tree whose content is a Buffer (the bodies, attachments up to
 * UP_FRONT_MAX_BYTES) already written: its header block as the node builds it (buildHeaders()), the blank
 * line, and the content encoded as nodemailer encodes it, set as the node's raw content. stream() then
 * writes the part as it is, where it would have streamed the content through a PassThrough, an Encoder
 * and a pipeline() of the two (an AbortController and an AbortError each): the same bytes, for a fraction
 * of the work.
 * - base64: base64Part(), the output nodemailer's base64 Encoder documents, however the input is split;
 * - quoted-printable: wrap(encode()) is what its Encoder writes for a text part given whole (a Buffer
 *   reaches it as one chunk) when the part is no larger than one of the Encoder's slices and does not end
 *   in a space or tab (the Encoder holds such white space back and encodes it on its own at the end).
 *   Other quoted-printable parts are left to stream().
 * Call it once the tree is final (keepBcc set): the header block is built here, not when the part is
 * written. Streams and larger parts are left to stream() too.
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
  if (encoding === 'base64' && content.length <= UP_FRONT_MAX_BYTES) {
    node.setRaw(base64Part(head, content));
  } else if (encoding !== 'base64' && encoding !== 'quoted-printable' && content.length <= UP_FRONT_MAX_BYTES) {
    // 7bit, 8bit, binary: stream() passes the content as it is. (A larger one, such as an embedded
    // message of large attachments, is not copied again here.)
    node.setRaw(Buffer.concat([Buffer.from(`${head}\r\n\r\n`, 'utf8'), content]));
  } else if (encoding === 'quoted-printable' && content.length <= QP_SLICE_BYTES && last !== 0x20 && last !== 0x09) {
    // The Encoder encodes text/* as text, anything else as binary: only text is taken here.
    if (/^text\//i.test(node.contentType ?? '')) node.setRaw(Buffer.concat([Buffer.from(`${head}\r\n\r\n`, 'utf8'), Buffer.from(qpWrap(qpEncode(content), 76), 'latin1')]));
  }
}

/** What mail-composer's MimeNode holds that its published types leave out. */
type TreeNode = Omit<MimeNode, 'childNodes'> & { multipart?: string | false; boundary?: string | false; _raw: unknown; childNodes: TreeNode[] };

/** Every leaf of the tree written up front (a raw Buffer), and no node above them with content of its own. */
function writtenUpFront(node: TreeNode): boolean {
  if (node.childNodes.length === 0) return Buffer.isBuffer(node._raw);
  return !node.content && !node._raw && node.childNodes.every(writtenUpFront);
}

/**
 * The tree as its stream() writes it, in the same writes, at once: a leaf's raw bytes; a node above
 * leaves its header block (which decides whether it is multipart) and a blank line; a multipart node's
 * children then, each after its boundary line, and the closing boundary.
 */
function writeTree(node: TreeNode, into: Writable): void {
  into.write(node._raw ? (node._raw as Buffer) : `${node.buildHeaders()}\r\n\r\n`);
  if (!node.multipart) return;
  node.childNodes.forEach((child, at) => {
    into.write(`${at > 0 ? '\r\n' : ''}--${node.boundary}\r\n`);
    writeTree(child, into);
  });
  into.write(`\r\n--${node.boundary}--\r\n`);
}

/**
 * A message's source for writeMessage: mail-composer's stream() of the tree, or, when every part was
 * encoded up front (encodePartsUpFront), the same bytes written at once. stream() would still carry
 * each part through a PassThrough, pipe() and finished(), a turn of the event loop between parts: some
 * 15 % of rebuilding a small message.
 */
export function treeSource(root: MimeNode): MessageSource {
  const node = root as unknown as TreeNode;
  if (!writtenUpFront(node)) return (into, done) => node.stream(into, {}, done);
  return (into, done) => {
    try {
      writeTree(node, into);
    } catch (error) {
      done(error instanceof Error ? error : new Error(String(error)));
      return;
    }
    done();
  };
}

/** Lets go of the parts encoded up front (releaseBytes), once the message is written. */
export function releaseParts(root: MimeNode): void {
  const node = root as unknown as TreeNode;
  if (Buffer.isBuffer(node._raw)) releaseBytes(node._raw);
  for (const child of node.childNodes) releaseParts(child as unknown as MimeNode);
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
