/**
 * The patch's faster code in pst-extractor (patches/pst-extractor+1.12.0.patch) against the library's
 * own definition of the same work, on plain data.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { PSTUtil } = require('pst-extractor/dist/PSTUtil.class.js') as {
  PSTUtil: { compEnc: number[]; decode(data: Buffer): Buffer };
};

/** [MS-PST] 5.1 compressible encryption undone as the library published it: each byte through compEnc. */
function decodedByteByByte(data: Buffer): Buffer {
  const out = Buffer.from(data);
  for (let x = 0; x < out.length; x++) out[x] = PSTUtil.compEnc[out[x] & 0xff];
  return out;
}

it('decode gives the bytes of the table byte by byte, four at a time or not, at every alignment and length', () => {
  const memory = Buffer.alloc(20_000);
  for (let at = 0; at < memory.length; at++) memory[at] = (at * 7919 + (at >> 8)) & 0xff;
  const lengths = [0, 1, 3, 4, 5, 255, 256, 257, 258, 259, 260, 1023, 8176, 8177, 19_990];
  for (const offset of [0, 1, 2, 3, 5]) {
    for (const length of lengths) {
      const copy = Buffer.from(memory);
      // A view at `offset` into a larger buffer: the bytes around it must stay as they were.
      const view = copy.subarray(offset, offset + length);
      const expected = decodedByteByByte(view);
      expect(PSTUtil.decode(view)).toBe(view);
      expect(view.equals(expected)).toBe(true);
      expect(copy.subarray(0, offset).equals(memory.subarray(0, offset))).toBe(true);
      expect(copy.subarray(offset + length).equals(memory.subarray(offset + length))).toBe(true);
    }
  }
  // Every byte value, in every position of a word.
  const all = Buffer.alloc(1024);
  for (let at = 0; at < all.length; at++) all[at] = (at + (at >> 8)) & 0xff;
  expect(PSTUtil.decode(Buffer.from(all)).equals(decodedByteByByte(all))).toBe(true);
});
