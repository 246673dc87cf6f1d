/**
 * Windows code pages, and how 8-bit text in a PST is decoded. Unicode PSTs store strings as UTF-16;
 * ANSI (97-2002) PSTs store them as bytes in the code page of the Windows that wrote them, which the
 * file does not state for the store as a whole: it is found from the items (PR_MESSAGE_CODEPAGE, the
 * locale, the internet code page) or given by the user with --codepage.
 *
 * Decoding uses iconv-lite, and Node's ICU decoder (TextDecoder) for the stateful encodings iconv-lite
 * lacks (ISO-2022-JP, HZ). Not TextDecoder for the single-byte pages: Node 20 decodes 'windows-1252'
 * as Latin-1, so 0x80 came out as U+0080 instead of '€'. An unknown code page is an error the user
 * sees, never a silent fall-back to UTF-8.
 */
import { TextDecoder } from 'node:util';
import iconv from 'iconv-lite';
import { PstError } from '../errors.js';

const WHATWG_LABELS: Record<number, string> = {
  874: 'windows-874',
  932: 'shift_jis',
  936: 'gbk',
  949: 'euc-kr',
  950: 'big5',
  1200: 'utf-16le',
  1201: 'utf-16be',
  1250: 'windows-1250',
  1251: 'windows-1251',
  1252: 'windows-1252',
  1253: 'windows-1253',
  1254: 'windows-1254',
  1255: 'windows-1255',
  1256: 'windows-1256',
  1257: 'windows-1257',
  1258: 'windows-1258',
  10000: 'macintosh',
  20127: 'us-ascii',
  20866: 'koi8-r',
  20932: 'euc-jp',
  20936: 'gbk',
  21866: 'koi8-u',
  28591: 'iso-8859-1',
  28592: 'iso-8859-2',
  28593: 'iso-8859-3',
  28594: 'iso-8859-4',
  28595: 'iso-8859-5',
  28596: 'iso-8859-6',
  28597: 'iso-8859-7',
  28598: 'iso-8859-8',
  28599: 'iso-8859-9',
  28603: 'iso-8859-13',
  28605: 'iso-8859-15',
  38598: 'iso-8859-8-i',
  50220: 'iso-2022-jp',
  50221: 'iso-2022-jp',
  50222: 'iso-2022-jp',
  51932: 'euc-jp',
  51936: 'gbk',
  51949: 'euc-kr',
  52936: 'hz-gb-2312',
  54936: 'gb18030',
  65001: 'utf-8',
};

/** DOS code pages that ICU's WHATWG decoders do not have. */
const ICONV_ONLY: Record<number, string> = {
  437: 'cp437',
  737: 'cp737',
  775: 'cp775',
  850: 'cp850',
  852: 'cp852',
  855: 'cp855',
  857: 'cp857',
  860: 'cp860',
  861: 'cp861',
  862: 'cp862',
  863: 'cp863',
  865: 'cp865',
  866: 'cp866',
  869: 'cp869',
};

export function isKnownCodepage(codepage: number): boolean {
  return codepage in WHATWG_LABELS || codepage in ICONV_ONLY;
}

/** The charset name for a code page, as MIME labels it ('shift_jis', 'iso-2022-jp', ...); null if unknown. */
export function charsetOfCodepage(codepage: number): string | null {
  return WHATWG_LABELS[codepage] ?? ICONV_ONLY[codepage] ?? null;
}

const decoders = new Map<string, TextDecoder>();
/** Encodings only ICU decodes here. */
const ICU_ONLY = new Set(['iso-2022-jp', 'hz-gb-2312']);

/** Decodes `bytes` written in Windows code page `codepage`; throws E_CODEPAGE for an unknown one. */
export function decodeCodepage(bytes: Uint8Array, codepage: number): string {
  const label = WHATWG_LABELS[codepage];
  if (label && ICU_ONLY.has(label)) {
    let decoder = decoders.get(label);
    if (!decoder) {
      decoder = new TextDecoder(label);
      decoders.set(label, decoder);
    }
    return decoder.decode(bytes);
  }
  // cp932 rather than shift_jis: Windows' Shift_JIS has the NEC and IBM extensions (①, ㈱, ...).
  const name = codepage === 932 ? 'cp932' : (label ?? ICONV_ONLY[codepage]);
  if (name && iconv.encodingExists(name)) return iconv.decode(Buffer.from(bytes), name);
  throw new PstError('E_CODEPAGE', { codepage, file: '' });
}

/**
 * The ANSI code page Windows used for a locale (LCID, [MS-LCID]), by its primary language: the
 * PR_MESSAGE_LOCALE_ID of an item tells which Windows wrote its 8-bit strings.
 */
export function ansiCodepageOfLocale(lcid: number): number | null {
  const language = lcid & 0x3ff;
  const sublanguage = lcid >> 10;
  switch (language) {
    case 0x11:
      return 932; // Japanese
    case 0x04:
      return sublanguage === 0x01 || sublanguage === 0x03 || sublanguage === 0x05 ? 950 : 936; // Chinese
    case 0x12:
      return 949; // Korean
    case 0x1e:
      return 874; // Thai
    case 0x05: case 0x0e: case 0x15: case 0x18: case 0x1b: case 0x1c: case 0x24:
      return 1250; // Central European
    case 0x02: case 0x19: case 0x22: case 0x23: case 0x2f:
      return 1251; // Cyrillic
    case 0x08:
      return 1253; // Greek
    case 0x1f: case 0x2c:
      return 1254; // Turkish
    case 0x0d:
      return 1255; // Hebrew
    case 0x01: case 0x20: case 0x29:
      return 1256; // Arabic
    case 0x25: case 0x26: case 0x27:
      return 1257; // Baltic
    case 0x2a:
      return 1258; // Vietnamese
    case 0:
      return null;
    default:
      return 1252;
  }
}

/** The ANSI code page of the family an internet code page belongs to (50220 ISO-2022-JP -> 932). */
export function ansiCodepageOfInternetCodepage(cpid: number): number | null {
  if ([932, 20932, 50220, 50221, 50222, 51932].includes(cpid)) return 932;
  if ([936, 20936, 52936, 54936, 51936].includes(cpid)) return 936;
  if ([949, 51949, 50225].includes(cpid)) return 949;
  if (cpid === 950) return 950;
  if ([20866, 21866, 28595].includes(cpid)) return 1251;
  if (cpid === 28592) return 1250;
  if (cpid === 28597) return 1253;
  if (cpid === 28599) return 1254;
  if (cpid === 28598 || cpid === 38598) return 1255;
  if (cpid === 28596) return 1256;
  if (cpid === 28594 || cpid === 28603) return 1257;
  if (cpid >= 1250 && cpid <= 1258) return cpid;
  if (cpid === 874) return 874;
  return null;
}
