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
import { base64Size, releaseBytes, slicedStream, writeMessage } from '../../src/mime/output.js';

const chunks = (...parts: string[]) => Readable.from(parts.map((part) => Buffer.from(part, 'latin1')));

describe('writeMessage', () => {
  it('replaces the header block, even one split across chunks, and keeps the body byte for byte', async () => {
    const out = await writeMessage(chunks('From: a\r\nTo', ': b\r\n\r', '\nbody\r\n', 'more\r\n'), 4, (generated) => `X-New: 1\r\n${generated}`);
    expect(out.toString('latin1')).toBe('X-New: 1\r\nFrom: a\r\nTo: b\r\n\r\nbody\r\nmore\r\n');
  });

  it('grows past a short estimate, and the result is a view at offset 0 of memory of its own', async () => {
    const body = 'x'.repeat(300_000);
    const out = await writeMessage(chunks('A: 1\r\n\r\n', body.slice(0, 100_000), body.slice(100_000)), 10, (generated) => generated);
    expect(out.toString('latin1')).toBe(`A: 1\r\n\r\n${body}`);
    expect(out.byteOffset).toBe(0);
  });

  it('takes a stream without a blank line as all header', async () => {
    const out = await writeMessage(chunks('A: 1'), 0, (generated) => generated.toLowerCase());
    expect(out.toString('latin1')).toBe('a: 1\r\n\r\n');
  });
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
