/**
 * Which body a PST item carries, chosen as Outlook chooses ([MS-OXBBODY] 2.1.3.1): PR_HTML, else the
 * compressed RTF when it encapsulates HTML ([MS-OXRTFEX]), else RTF that wraps plain text, else
 * PR_BODY. Bytes that came as bytes stay bytes: PR_HTML is never decoded and re-encoded, only labelled.
 */
import type { PstMessage } from '../pst/types.js';
import { isValidUtf8, mimeCharsetOfCodepage, sniffHtmlCharset, isDecodableCharset } from './charset.js';
import { decodeRtfBytes, deEncapsulateRtf, decompressRtf, rtfToText } from './rtf.js';
import type { RebuildWarning } from './types.js';

export interface BodyPart {
  bytes: Buffer;
  /** MIME charset label of `bytes`. */
  charset: string;
}

export interface ChosenBody {
  text: BodyPart | null;
  html: BodyPart | null;
  /** Where the HTML came from. */
  htmlSource: 'pr-html' | 'rtf-html' | null;
  /** Native RTF that wraps neither HTML nor text: kept as an attachment beside the plain body. */
  rtfAttachment: Buffer | null;
}

/** A text body as UTF-8 with CRLF line ends: a line break is a line break in every charset. */
export function textPart(text: string): BodyPart {
  return { bytes: Buffer.from(text.replace(/\r\n|\r|\n/g, '\r\n'), 'utf8'), charset: 'UTF-8' };
}

/**
 * The charset of PR_HTML: PR_INTERNET_CPID, else what the document says of itself, else UTF-8 when the
 * bytes are UTF-8, else the code page of the item's 8-bit text.
 */
export function htmlCharset(message: PstMessage, html: Buffer, warnings: RebuildWarning[]): string {
  const fromCodepage = mimeCharsetOfCodepage(message.internetCodepage);
  if (fromCodepage) return fromCodepage;
  const declared = sniffHtmlCharset(html);
  if (declared && isDecodableCharset(declared)) return declared;
  if (isValidUtf8(html)) return 'UTF-8';
  const fallback = mimeCharsetOfCodepage(message.messageCodepage);
  warnings.push({
    code: 'body-charset-unknown',
    detail: `HTML body: code page ${message.internetCodepage ?? 'not stated'}; labelled ${fallback ?? 'UTF-8'}`,
  });
  return fallback ?? 'UTF-8';
}

type RtfContent = { mode: 'html' | 'text'; text: string } | { mode: 'rtf'; rtf: Buffer } | null;

/** Decompresses PR_RTF_COMPRESSED and takes out the HTML or text it encapsulates, if any. */
export function readRtf(compressed: Buffer): RtfContent {
  let rtf: Buffer;
  try {
    rtf = decompressRtf(compressed);
  } catch {
    return null;
  }
  if (rtf.length === 0) return null;
  const head = rtf.subarray(0, 512).toString('latin1');
  if (/\\fromhtml1|\\fromtext/.test(head)) {
    try {
      const result = deEncapsulateRtf(rtf, {
        decode: decodeRtfBytes,
        // The de-encapsulated HTML is Unicode: its own <meta charset> is rewritten to say so.
        htmlFixContentType: true,
        allowCp0: true,
        warn: () => {},
      });
      return { mode: result.mode, text: typeof result.text === 'string' ? result.text : result.text.toString('utf8') };
    } catch {
      // Damaged encapsulation: what is left is RTF, and is kept as such.
    }
  }
  return { mode: 'rtf', rtf };
}

export function chooseBody(message: PstMessage, warnings: RebuildWarning[]): ChosenBody {
  const plain = message.body !== null && message.body !== '' ? textPart(message.body) : null;
  if (message.html && message.html.length > 0) {
    return {
      text: plain,
      html: { bytes: message.html, charset: htmlCharset(message, message.html, warnings) },
      htmlSource: 'pr-html',
      rtfAttachment: null,
    };
  }
  const rtf = message.rtfCompressed && message.rtfCompressed.length > 0 ? readRtf(message.rtfCompressed) : null;
  if (rtf?.mode === 'html') {
    return { text: plain, html: { bytes: Buffer.from(rtf.text, 'utf8'), charset: 'UTF-8' }, htmlSource: 'rtf-html', rtfAttachment: null };
  }
  if (rtf?.mode === 'text') {
    // The encapsulated text is the original; PR_BODY is Outlook's copy of it, used when it is empty.
    return { text: rtf.text !== '' ? textPart(rtf.text) : plain, html: null, htmlSource: null, rtfAttachment: null };
  }
  if (rtf?.mode === 'rtf') {
    let text = plain;
    if (!text) {
      try {
        text = textPart(rtfToText(rtf.rtf));
      } catch {
        text = null;
      }
    }
    // An item whose native body is plain text (PidTagNativeBody 1) has RTF only as Outlook's rendering
    // of that text: nothing is lost without it.
    if (message.nativeBody === 1 && plain) return { text, html: null, htmlSource: null, rtfAttachment: null };
    warnings.push({ code: 'rtf-kept-as-attachment', detail: `rich text body (${rtf.rtf.length} bytes) kept as an attachment` });
    return { text, html: null, htmlSource: null, rtfAttachment: rtf.rtf };
  }
  return { text: plain, html: null, htmlSource: null, rtfAttachment: null };
}
