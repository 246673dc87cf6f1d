/**
 * How a rebuilt message is held while it is made (src/mime/output.ts): written once into a buffer of its
 * own, header block replaced on the way, the attachments' bytes let go once written.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { simpleParser } from 'mailparser';
import { ensureFixture } from '../../fixtures/writer/fixtures.js';
import { rebuildMessage } from '../../src/mime/index.js';
import { openPst } from '../../src/pst/index.js';
import MailComposer from 'nodemailer/lib/mail-composer';
import type MimeNode from 'nodemailer/lib/mime-node';
import { encode as base64Encode, wrap as base64Wrap } from 'nodemailer/lib/base64';
import { base64Part, base64Size, encodePartsUpFront, releaseBytes, releaseParts, slicedStream, treeSource, writeMessage, type MessageSource } from '../../src/mime/output.js';

/** A source that writes `parts` one event-loop turn apart, as mail-composer's stream() does. */
const chunks =
  (...parts: string[]): MessageSource =>
  (into, done) => {
    const next = (at: number) => {
      if (at === parts.length) return done();
      into.write(at % 2 === 0 ? Buffer.from(parts[at]!, 'latin1') : parts[at]!);
      setImmediate(() => next(at + 1));
    };
    next(0);
  };

/** A message as mail-composer's createReadStream() gives it, collected. */
async function readStream(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of stream) parts.push(part as Buffer);
  return Buffer.concat(parts);
}

describe('writeMessage', () => {
  it('replaces the header block, even one split across chunks, and keeps the body byte for byte', async () => {
    const out = await writeMessage(chunks('From: a\r\nTo', ': b\r\n\r', '\nbody\r\n', 'more\r\n'), 4, (generated) => `X-New: 1\r\n${generated}`);
    expect(out.toString('latin1')).toBe('X-New: 1\r\nFrom: a\r\nTo: b\r\n\r\nbody\r\nmore\r\n');
  });

  it('grows past a short estimate, and the result is a view at offset 0 of memory of its own', async () => {
    const body = 'x'.repeat(300_000);
    const out = await writeMessage(chunks('A: 1\r\n\r\n', body.slice(0, 100_000), body.slice(100_000)), 10, (generated) => generated);
    // No line break at the end: CRLF is added, as mail-composer's LastNewline does.
    expect(out.toString('latin1')).toBe(`A: 1\r\n\r\n${body}\r\n`);
    expect(out.byteOffset).toBe(0);
  });

  it('holds a message of 64 KB or more in memory of its own outside malloc (a resizable ArrayBuffer), cut to its size', async () => {
    const body = 'y'.repeat(200_000);
    // An estimate too large, then one too short: either way the memory ends the message's exact size.
    for (const estimate of [1_000_000, 70_000]) {
      const out = await writeMessage(chunks('A: 1\r\n\r\n', body), estimate, (generated) => generated);
      expect(out.toString('latin1')).toBe(`A: 1\r\n\r\n${body}\r\n`);
      const memory = out.buffer as ArrayBuffer;
      expect({ resizable: memory.resizable, byteLength: memory.byteLength, byteOffset: out.byteOffset }).toEqual({ resizable: true, byteLength: out.length, byteOffset: 0 });
      // It moves like any memory of its own (to the engine's thread, or away when released).
      const moved = structuredClone(memory, { transfer: [memory] });
      expect(Buffer.from(moved).subarray(0, 8).toString('latin1')).toBe('A: 1\r\n\r\n');
      expect(out.length).toBe(0);
    }
    const small = await writeMessage(chunks('A: 1\r\n\r\nsmall\r\n'), 100, (generated) => generated);
    expect((small.buffer as ArrayBuffer).resizable).toBe(false);
    expect(small.toString('latin1')).toBe('A: 1\r\n\r\nsmall\r\n');
  });

  it('ends a message ending in a lone CR with LF, one ending in LF as it is', async () => {
    expect((await writeMessage(chunks('A: 1\r\n\r\nx\r'), 0, (g) => g)).toString('latin1')).toBe('A: 1\r\n\r\nx\r\n');
    expect((await writeMessage(chunks('A: 1\r\n\r\nx\n'), 0, (g) => g)).toString('latin1')).toBe('A: 1\r\n\r\nx\n');
  });

  it('takes a message without a blank line as all header', async () => {
    const out = await writeMessage(chunks('A: 1'), 0, (generated) => generated.toLowerCase());
    expect(out.toString('latin1')).toBe('a: 1\r\n\r\n\r\n');
  });

  it('rejects with the error the source stops with', async () => {
    const failing: MessageSource = (into, done) => {
      into.write('A: 1\r\n\r\n');
      setImmediate(() => done(new Error('slice unreadable')));
    };
    await expect(writeMessage(failing, 0, (g) => g)).rejects.toThrow('slice unreadable');
  });

  it("writes the same bytes as mail-composer's createReadStream() for every kind of tree, base64 parts encoded up front or not", async () => {
    const japanese = Buffer.from('\x1b$B$3$s$K$A$O\x1b(B\r\n', 'latin1');
    const mails: Array<Record<string, unknown>> = [
      { text: 'plain only' },
      { text: 'no line break at the end', headers: { 'X-A': 'b' } },
      {
        alternatives: [
          { content: Buffer.from('caf\xe9 ol\xe9\r\n'.repeat(40), 'latin1'), contentType: 'text/plain; charset=ISO-8859-1' },
          { content: japanese, contentType: 'text/html; charset=ISO-2022-JP', contentTransferEncoding: 'base64' },
        ],
        attachments: [
          { content: Buffer.alloc(100_000, 3), contentType: 'application/octet-stream', filename: '報告書.bin', contentTransferEncoding: 'base64' },
          { content: slicedStream(150_000, (at, size) => Buffer.alloc(size, at % 251)), contentType: 'image/png', filename: 'a.png', cid: 'img1' },
          { content: Buffer.from('Subject: inner\r\n\r\nbody\r\n'), contentType: 'message/rfc822', contentDisposition: 'attachment', filename: false },
        ],
      },
      { attachments: [{ content: Buffer.from('only an attachment'), filename: 'x.txt' }] },
      // Quoted-printable text: a long line, soft breaks, '=' and trailing white space inside; one ending in
      // white space, one larger than the Encoder's 64 KB slices (both left to stream()); one in UTF-8
      // mostly Japanese (base64).
      { alternatives: [{ content: Buffer.from(`Gr\xfc\xdfe = ${'lang '.repeat(60)}\r\nend  \r\n\tx\r\n`, 'latin1'), contentType: 'text/plain; charset=ISO-8859-1' }] },
      { alternatives: [{ content: Buffer.from('caf\xe9\r\nlast line ends in a space ', 'latin1'), contentType: 'text/plain; charset=ISO-8859-1' }] },
      { alternatives: [{ content: Buffer.from(`caf\xe9 ${'x'.repeat(100)} \r\n`.repeat(700), 'latin1'), contentType: 'text/plain; charset=ISO-8859-1' }] },
      {
        alternatives: [
          { content: Buffer.from('会議の件です。\r\nよろしく\r\n', 'utf8'), contentType: 'text/plain; charset=UTF-8' },
          { content: Buffer.from('<p>caf\xe9 =3D</p>\r\n', 'latin1'), contentType: 'text/html; charset=ISO-8859-1' },
        ],
      },
      // Nested multiparts of Buffers only: a 7-bit text, a base64 html, a related image, an attachment and a
      // message/rfc822 kept as it is.
      {
        alternatives: [
          { content: Buffer.from('plain ASCII text\r\n'), contentType: 'text/plain; charset=US-ASCII' },
          { content: japanese, contentType: 'text/html; charset=ISO-2022-JP', contentTransferEncoding: 'base64' },
        ],
        attachments: [
          { content: Buffer.alloc(5_000, 9), contentType: 'image/png', filename: 'b.png', cid: 'img2', contentTransferEncoding: 'base64' },
          { content: Buffer.alloc(300_000, 4), contentType: 'application/octet-stream', filename: 'big.bin', contentTransferEncoding: 'base64' },
          { content: Buffer.from('Subject: inner\r\n\r\nbody\r\n'), contentType: 'message/rfc822', contentDisposition: 'attachment', filename: false },
        ],
      },
    ];
    // Parts encoded up front (Buffers only: not the texts given as strings of the first two): the text
    // (quoted-printable), the html, the .bin and the message/rfc822 (as it is) of the third, not its stream;
    // the lone attachment of the fourth; the quoted-printable text of the fifth, not the sixth and seventh
    // (ends in a space; over 64 KB); both of the eighth; all five of the ninth.
    const encodedUpFront = [0, 0, 4, 1, 1, 0, 0, 2, 5];
    // Written at once (every part encoded up front): the fourth, fifth, eighth and ninth.
    const atOnce = [false, false, false, true, true, false, false, true, true];
    for (const [index, mail] of mails.entries()) {
      const common = { ...mail, subject: `tree ${index}`, from: 'a@example.com', to: '山田 <b@example.com>', messageId: `<m${index}@x>`, date: new Date(0), baseBoundary: 'fixed' };
      // Content streams are read once: each side gets its own.
      const copy = (options: Record<string, unknown>) => ({
        ...options,
        attachments: (options.attachments as Array<Record<string, unknown>> | undefined)?.map((attachment) =>
          attachment.content instanceof Readable ? { ...attachment, content: slicedStream(150_000, (at, size) => Buffer.alloc(size, at % 251)) } : attachment,
        ),
      });
      const expected = await readStream(new MailComposer(copy(common) as never).compile().createReadStream());
      const node = new MailComposer(copy(common) as never).compile();
      const written = await writeMessage((into, done) => node.stream(into, {}, done), 0, (generated) => generated);
      expect(written.toString('latin1')).toBe(expected.toString('latin1'));
      // With the base64 parts encoded up front: the same bytes again.
      const upFront = new MailComposer(copy(common) as never).compile();
      encodePartsUpFront(upFront);
      const raw = (node: MimeNode): number => (node.childNodes.length > 0 ? node.childNodes.reduce((sum, child) => sum + raw(child), 0) : (node as unknown as { _raw: unknown })._raw ? 1 : 0);
      expect(raw(upFront)).toBe(encodedUpFront[index]);
      const writtenUpFront = await writeMessage((into, done) => upFront.stream(into, {}, done), 0, (generated) => generated);
      expect(writtenUpFront.toString('latin1')).toBe(expected.toString('latin1'));
      // And through treeSource: at once where every part was encoded up front, else stream() again.
      const tree = new MailComposer(copy(common) as never).compile();
      encodePartsUpFront(tree);
      let writes = 0;
      const source = treeSource(tree);
      const counted: MessageSource = (into, done) => {
        const write = into.write.bind(into);
        into.write = ((chunk: Buffer | string) => (writes++, write(chunk))) as never;
        let sync = true;
        source(into, (error) => {
          expect(sync).toBe(atOnce[index]);
          done(error);
        });
        sync = false;
      };
      const writtenAtOnce = await writeMessage(counted, 0, (generated) => generated);
      expect(writtenAtOnce.toString('latin1')).toBe(expected.toString('latin1'));
      expect(writes).toBeGreaterThan(0);
    }
  });
});

it("base64Part is the head, a blank line and nodemailer's wrap(encode()) of the bytes, at every length around a line", () => {
  const bytes = Buffer.from(Array.from({ length: 4000 }, (_, at) => (at * 7919 + 13) % 256));
  const lengths = [0, 1, 2, 3, 56, 57, 58, 113, 114, 115, 171, 172, 1000, 3999, 4000];
  for (const length of lengths) {
    const content = bytes.subarray(0, length);
    const part = base64Part('Content-Type: application/octet-stream; name="報告.bin"', content);
    const expected = Buffer.concat([Buffer.from('Content-Type: application/octet-stream; name="報告.bin"\r\n\r\n', 'utf8'), Buffer.from(base64Wrap(base64Encode(content), 76), 'latin1')]);
    expect(part.toString('latin1')).toBe(expected.toString('latin1'));
  }
  // Every line but the last is 76 characters; the bytes come back.
  const lines = base64Part('X: y', bytes).toString('latin1').split('\r\n').slice(2);
  expect(lines.slice(0, -1).every((line) => line.length === 76)).toBe(true);
  expect(Buffer.from(lines.join(''), 'base64').equals(bytes)).toBe(true);
});

it('releaseParts lets go of the large parts encoded up front, and the message written from them stays whole', async () => {
  const tree = new MailComposer({
    from: 'a@example.com',
    alternatives: [{ content: Buffer.from('text\r\n'), contentType: 'text/plain; charset=US-ASCII' }],
    attachments: [{ content: Buffer.alloc(200_000, 6), contentType: 'application/octet-stream', filename: 'a.bin', contentTransferEncoding: 'base64' }],
  } as never).compile();
  encodePartsUpFront(tree);
  const leaves = (node: MimeNode): MimeNode[] => (node.childNodes.length > 0 ? node.childNodes.flatMap(leaves) : [node]);
  const raws = leaves(tree).map((leaf) => (leaf as unknown as { _raw: Buffer })._raw);
  const written = await writeMessage(treeSource(tree), 0, (generated) => generated);
  const before = written.toString('latin1');
  releaseParts(tree);
  expect(raws.map((raw) => raw.length === 0)).toEqual([false, true]);
  expect(written.toString('latin1')).toBe(before);
  expect(before).toContain(Buffer.alloc(57, 6).toString('base64'));
});

describe('releaseBytes', () => {
  it('empties a large buffer of its own and leaves small ones and views into shared memory alone', () => {
    const large = Buffer.alloc(256 * 1024, 1);
    const view = Buffer.from(large.buffer, 0, 1000);
    releaseBytes(large);
    expect(large.length).toBe(0);
    expect(view.length).toBe(0);

    const small = Buffer.from('small');
    releaseBytes(small);
    expect(small.toString()).toBe('small');
    const shared = Buffer.alloc(256 * 1024, 2);
    const inside = shared.subarray(10, 20);
    releaseBytes(inside);
    expect(shared.length).toBe(256 * 1024);
    expect(inside.length).toBe(10);
  });
});

it('slicedStream hands out the bytes in slices; base64Size is the encoded size with its line breaks', async () => {
  const bytes = Buffer.alloc(200_000, 7);
  const parts: Buffer[] = [];
  for await (const part of slicedStream(bytes.length, (at, size) => bytes.subarray(at, at + size))) parts.push(part as Buffer);
  expect(parts.length).toBeGreaterThan(1);
  expect(Buffer.concat(parts).equals(bytes)).toBe(true);
  const encoded = bytes.toString('base64').replace(/.{76}/g, '$&\r\n');
  expect(base64Size(bytes.length)).toBeGreaterThanOrEqual(encoded.length);
  expect(base64Size(bytes.length)).toBeLessThanOrEqual(encoded.length + 2);
});

it('a 35 MB attachment (an XXBLOCK over XBLOCKs) read from the PST a slice at a time is the bytes read whole, and rebuilds byte for byte', async () => {
  const reader = openPst(ensureFixture('large-attachment'));
  try {
    const inbox = reader.root.children.find((folder) => folder.role === 'inbox')!;
    const [summary] = [...reader.items(inbox)] as Array<{ nid: number }>;
    const message = reader.readMessage(summary!.nid);
    const [attachment] = message.attachments;
    const whole = attachment!.content();
    const opened = attachment!.open();
    expect(opened.length).toBe(whole.length);
    // Uneven slices: across block boundaries and in the middle of blocks.
    const hash = createHash('sha256');
    for (let at = 0, size = 1; at < opened.length; at += size, size = Math.min(size * 3 + 1, 1_000_000)) {
      const slice = Buffer.alloc(Math.min(size, opened.length - at));
      opened.read(slice);
      hash.update(slice);
      size = slice.length;
    }
    expect(hash.digest('hex')).toBe(createHash('sha256').update(whole).digest('hex'));
    expect(() => opened.read(Buffer.alloc(1))).toThrow(/past the end/);

    const rebuilt = await rebuildMessage(message, { storeFingerprint: reader.store.fingerprint, folderRole: 'inbox' });
    const parsed = await simpleParser(rebuilt.bytes);
    expect(createHash('sha256').update(parsed.attachments[0]!.content).digest('hex')).toBe(createHash('sha256').update(whole).digest('hex'));
  } finally {
    reader.close();
  }
}, 120_000);
