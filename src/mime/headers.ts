/**
 * Header blocks: the stored internet headers of received mail (PR_TRANSPORT_MESSAGE_HEADERS), taken
 * apart into fields so that the ones describing the original MIME structure can be left out, and put
 * back together with CRLF line ends (RFC 5322 2.1, 2.2.3).
 */
import MimeNode from 'nodemailer/lib/mime-node';
import { foldLines } from 'nodemailer/lib/mime-funcs';

export interface HeaderField {
  /** The field name as written ('Received', 'X-MS-Has-Attach', ...). */
  name: string;
  /** The whole field, name included, folded lines joined with CRLF, no final CRLF. */
  raw: string;
}

/**
 * These described the body as it was sent; the body is rebuilt, so nodemailer writes its own. Content-
 * Disposition, -Length, -ID and -MD5 at the top belonged to that body too.
 */
const STRUCTURE_FIELDS = new Set([
  'content-type',
  'content-transfer-encoding',
  'mime-version',
  'content-disposition',
  'content-length',
  'content-id',
  'content-md5',
]);

export function isStructureField(name: string): boolean {
  return STRUCTURE_FIELDS.has(name.toLowerCase());
}

/**
 * Splits a header block into fields. A field starts with a name and a colon (RFC 5322 2.2: printable
 * ASCII except ':'); a line starting with space or tab continues it. Anything else ("Microsoft Mail
 * Internet Headers Version 2.0", which Exchange writes above the headers, or the blank line and body
 * some stores keep) is not a header and is left out.
 */
export function splitHeaderFields(block: string): HeaderField[] {
  const lines = block.replace(/\r\n|\r|\n/g, '\n').split('\n');
  const fields: Array<{ name: string; lines: string[] }> = [];
  let current: { name: string; lines: string[] } | null = null;
  for (const line of lines) {
    if (line === '') {
      // The end of the header section (RFC 5322 2.1): what follows is a body, not headers.
      if (fields.length > 0) break;
      continue;
    }
    if (/^[ \t]/.test(line)) {
      if (current && line.trim() !== '') current.lines.push(line);
      continue;
    }
    const match = /^([!-9;-~]+)[ \t]*:/.exec(line);
    if (!match) {
      current = null;
      continue;
    }
    current = { name: match[1], lines: [line] };
    fields.push(current);
  }
  return fields.map(({ name, lines: fieldLines }) => ({ name, raw: fieldLines.join('\r\n') }));
}

/** The value of a field, unfolded, without its name. */
export function fieldValue(field: HeaderField): string {
  return field.raw
    .slice(field.raw.indexOf(':') + 1)
    .replace(/\r\n(?=[ \t])/g, '')
    .trim();
}

/** The first field of that name (case-insensitive). */
export function findField(fields: HeaderField[], name: string): HeaderField | undefined {
  const wanted = name.toLowerCase();
  return fields.find((field) => field.name.toLowerCase() === wanted);
}

/**
 * A field holding characters outside ASCII: the PST keeps headers as text, so raw 8-bit headers of the
 * original were decoded by Outlook; they go back out as RFC 2047 encoded words (UTF-8), addresses
 * through nodemailer's address encoder, so that the message is plain 7-bit RFC 5322.
 */
export function asciiField(field: HeaderField): string {
  if (!/[^\x00-\x7f]/.test(field.raw)) {
    // RFC 5322 2.1.1: no line over 998 octets; a longer stored line is folded at its white space.
    if (!field.raw.split('\r\n').some((line) => line.length > 998)) return field.raw;
    return foldLines(`${field.name}: ${fieldValue(field)}`, 76).replace(/\r?\n/g, '\r\n');
  }
  const value = fieldValue(field);
  const encoded = MimeNode.encodeHeaderValue(field.name, value, { textEncoding: 'B' });
  return foldLines(`${field.name}: ${encoded}`, 76).replace(/\r?\n/g, '\r\n');
}
