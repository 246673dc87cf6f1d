/**
 * PR_RTF_COMPRESSED ([MS-OXRTFCP]) to RTF bytes. The PST layer hands the stored bytes over untouched:
 * pst-extractor's own LZFu preloads its dictionary wrongly and decodes the result as UTF-8, which
 * changes the bytes; @kenjiuno/decompressrtf follows the specification (both the compressed "LZFu" and
 * the uncompressed "MELA" forms).
 */
import { createRequire } from 'node:module';
import iconv from 'iconv-lite';

// The RTF libraries are loaded the first time an RTF body is met: most mail has none, and loading them
// costs some 15 ms at every start (of export, and of migrate's reader thread).
const require = createRequire(import.meta.url);
type TokenStream = { push(chunk: unknown): boolean; _transform(chunk: unknown, encoding: unknown, done: (error?: unknown) => void): void; _flush(done: (error?: unknown) => void): void };
interface RtfLibraries {
  decompressRTF: typeof import('@kenjiuno/decompressrtf').decompressRTF;
  deEncapsulateSync: typeof import('rtf-stream-parser').deEncapsulateSync;
  // rtf-stream-parser's plain-text converter; its index exports only the de-encapsulation.
  Tokenize: new () => TokenStream;
  ToPlainText: new (options: { decode: (bytes: Buffer, encoding: string) => string; warn: (message: string) => void; allowCp0: boolean }) => TokenStream;
}
let libraries: RtfLibraries | null = null;

function rtfLibraries(): RtfLibraries {
  libraries ??= {
    decompressRTF: (require('@kenjiuno/decompressrtf') as typeof import('@kenjiuno/decompressrtf')).decompressRTF,
    deEncapsulateSync: (require('rtf-stream-parser') as typeof import('rtf-stream-parser')).deEncapsulateSync,
    Tokenize: (require('rtf-stream-parser/dist/src/tokenize.js') as Pick<RtfLibraries, 'Tokenize'>).Tokenize,
    ToPlainText: (require('rtf-stream-parser/dist/src/ToPlainText.js') as Pick<RtfLibraries, 'ToPlainText'>).ToPlainText,
  };
  return libraries;
}

export function decompressRtf(compressed: Buffer): Buffer {
  return Buffer.from(rtfLibraries().decompressRTF(Array.from(compressed)));
}

/** rtf-stream-parser's deEncapsulateSync: the HTML or text an RTF body encapsulates. */
export function deEncapsulateRtf(...args: Parameters<RtfLibraries['deEncapsulateSync']>): ReturnType<RtfLibraries['deEncapsulateSync']> {
  return rtfLibraries().deEncapsulateSync(...args);
}

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
  const { Tokenize, ToPlainText } = rtfLibraries();
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
