/**
 * Charsets of message bodies. PR_HTML holds bytes in the charset of PR_INTERNET_CPID (a Windows code page
 * number); the rebuilt part must carry those bytes unchanged under the MIME name mail clients know for
 * that code page, the name Outlook itself writes ([MS-OXCMAIL] 2.1.3.3.1.1, IANA charset registry).
 */
import { TextDecoder } from 'node:util';
import iconv from 'iconv-lite';

/** MIME charset names by Windows code page, as Outlook labels outgoing mail. */
const MIME_CHARSETS: Record<number, string> = {
  // Japanese: the three ISO-2022-JP code pages differ only in how Windows encodes half-width kana.
  50220: 'ISO-2022-JP',
  50221: 'ISO-2022-JP',
  50222: 'ISO-2022-JP',
  932: 'Shift_JIS',
  51932: 'EUC-JP',
  20932: 'EUC-JP',
  65001: 'UTF-8',
  20127: 'US-ASCII',
  // Chinese and Korean: the labels Outlook writes; readers take them as GBK and EUC-KR (WHATWG).
  936: 'GB2312',
  20936: 'GB2312',
  51936: 'GB2312',
  54936: 'GB18030',
  52936: 'HZ-GB-2312',
  950: 'Big5',
  949: 'ks_c_5601-1987',
  51949: 'EUC-KR',
  874: 'windows-874',
  1250: 'windows-1250',
  1251: 'windows-1251',
  1252: 'windows-1252',
  1253: 'windows-1253',
  1254: 'windows-1254',
  1255: 'windows-1255',
  1256: 'windows-1256',
  1257: 'windows-1257',
  1258: 'windows-1258',
  20866: 'KOI8-R',
  21866: 'KOI8-U',
  28591: 'ISO-8859-1',
  28592: 'ISO-8859-2',
  28593: 'ISO-8859-3',
  28594: 'ISO-8859-4',
  28595: 'ISO-8859-5',
  28596: 'ISO-8859-6',
  28597: 'ISO-8859-7',
  28598: 'ISO-8859-8',
  28599: 'ISO-8859-9',
  28603: 'ISO-8859-13',
  28605: 'ISO-8859-15',
  38598: 'ISO-8859-8-I',
};

/** The MIME charset for a Windows code page; null when pst2imap does not know it. */
export function mimeCharsetOfCodepage(codepage: number | null): string | null {
  return codepage === null ? null : (MIME_CHARSETS[codepage] ?? null);
}

/** Code pages of Japanese text: a text body of such a message is Japanese mail. */
export function isJapaneseCodepage(codepage: number | null): boolean {
  return codepage !== null && [932, 20932, 50220, 50221, 50222, 51932].includes(codepage);
}

/** Stateful encodings iconv-lite lacks; Node's ICU decodes them. */
const ICU_ONLY = new Set(['iso-2022-jp', 'hz-gb-2312']);

/** Decodes bytes in a MIME charset; throws for a charset neither iconv-lite nor ICU knows. */
export function decodeCharset(bytes: Buffer, charset: string): string {
  const name = charset.toLowerCase();
  if (ICU_ONLY.has(name)) return new TextDecoder(name).decode(bytes);
  // Windows' Shift_JIS is CP932 (NEC and IBM extensions: ①, ㈱, ...); readers decode it so too.
  const iconvName = name === 'shift_jis' ? 'cp932' : name;
  if (iconv.encodingExists(iconvName)) return iconv.decode(bytes, iconvName);
  return new TextDecoder(name).decode(bytes);
}

/** Is this a charset the rebuild can decode (to derive a text body, to test the bytes)? */
export function isDecodableCharset(charset: string): boolean {
  try {
    decodeCharset(Buffer.from('a'), charset);
    return true;
  } catch {
    return false;
  }
}

/** The charset an HTML document states for itself (<meta charset> or http-equiv Content-Type). */
export function sniffHtmlCharset(html: Buffer): string | null {
  // The declaration is ASCII in every charset a PST body uses (UTF-16 aside), within the head.
  const head = html.subarray(0, 4096).toString('latin1');
  const match =
    /<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)/i.exec(head) ??
    /<meta[^>]+content\s*=\s*["'][^"']*charset\s*=\s*([A-Za-z0-9_.:-]+)/i.exec(head);
  return match ? match[1] : null;
}

/** Bytes that are valid UTF-8 (ASCII included). */
export function isValidUtf8(bytes: Buffer): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return true;
  } catch {
    return false;
  }
}
