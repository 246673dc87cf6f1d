/**
 * PR_RTF_COMPRESSED ([MS-OXRTFCP]) to RTF bytes. The PST layer hands the stored bytes over untouched:
 * pst-extractor's own LZFu preloads its dictionary wrongly and decodes the result as UTF-8, which
 * changes the bytes; @kenjiuno/decompressrtf follows the specification (both the compressed "LZFu" and
 * the uncompressed "MELA" forms).
 */
import { createRequire } from 'node:module';
import { decompressRTF } from '@kenjiuno/decompressrtf';
import iconv from 'iconv-lite';

export function decompressRtf(compressed: Buffer): Buffer {
  return Buffer.from(decompressRTF(Array.from(compressed)));
}

// rtf-stream-parser's plain-text converter; its index exports only the de-encapsulation.
const require = createRequire(import.meta.url);
type TokenStream = { push(chunk: unknown): boolean; _transform(chunk: unknown, encoding: unknown, done: (error?: unknown) => void): void; _flush(done: (error?: unknown) => void): void };
const { Tokenize } = require('rtf-stream-parser/dist/src/tokenize.js') as { Tokenize: new () => TokenStream };
const { ToPlainText } = require('rtf-stream-parser/dist/src/ToPlainText.js') as {
  ToPlainText: new (options: { decode: (bytes: Buffer, encoding: string) => string; warn: (message: string) => void; allowCp0: boolean }) => TokenStream;
};

/** RTF code pages as iconv-lite names them ('cp1252', 'cp932', ...); symbol fonts come as cp0/cp42. */
export function decodeRtfBytes(bytes: Buffer, encoding: string): string {
  const name = /^cp(0|42)$/i.test(encoding) ? 'cp1252' : encoding;
  return iconv.encodingExists(name) ? iconv.decode(bytes, name) : bytes.toString('latin1');
}

/**
 * The text of a native RTF body (paragraphs as CRLF, \'xx bytes in the document's code page, \uN as
 * Unicode), for items whose PR_BODY is empty: without it such a message would show as blank.
 */
export function rtfToText(rtf: Buffer): string {
  const fail = (error?: unknown) => {
    if (error) throw error;
  };
  const tokens = new Tokenize();
  const text = new ToPlainText({ decode: decodeRtfBytes, warn: () => {}, allowCp0: true });
  tokens.push = (token) => {
    text._transform(token, '', fail);
    return true;
  };
  const chunks: string[] = [];
  text.push = (chunk) => {
    chunks.push(String(chunk));
    return true;
  };
  tokens._transform(rtf, undefined, fail);
  tokens._flush(fail);
  text._flush(fail);
  return chunks.join('');
}
