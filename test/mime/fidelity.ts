/**
 * Fidelity of rebuilt messages: each one parsed back with mailparser (an independent MIME reader) and
 * compared field by field with what the PST itself holds. Shared by the round-trip tests.
 */
import { createHash } from 'node:crypto';
import { simpleParser, type AddressObject, type ParsedMail } from 'mailparser';
import type { PstMessage } from '../../src/pst/types.js';
import { mimeCharsetOfCodepage, decodeCharset } from '../../src/mime/charset.js';
import type { RebuiltMessage } from '../../src/mime/types.js';
import { icalDateTime, meetingInvitation } from '../../src/mime/other.js';

export const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

export type Field = 'message-id' | 'invitation' | 'subject' | 'to' | 'cc' | 'bcc' | 'date' | 'text' | 'html' | 'html-bytes' | 'attachment-names' | 'attachment-sha256';

export interface Mismatch {
  where: string;
  field: Field;
  expected: string;
  actual: string;
  /** Why the difference is expected, when it is; null for an unexplained mismatch. */
  explained: string | null;
}

export interface Fidelity {
  messages: number;
  compared: Record<Field, number>;
  matching: Record<Field, number>;
  mismatches: Mismatch[];
}

export function emptyFidelity(): Fidelity {
  const zero = () => ({ 'message-id': 0, invitation: 0, subject: 0, to: 0, cc: 0, bcc: 0, date: 0, text: 0, html: 0, 'html-bytes': 0, 'attachment-names': 0, 'attachment-sha256': 0 });
  return { messages: 0, compared: zero(), matching: zero(), mismatches: [] };
}

function addresses(value: AddressObject | AddressObject[] | undefined): string[] {
  const list = value === undefined ? [] : Array.isArray(value) ? value : [value];
  const flat = (entries: AddressObject['value']): string[] =>
    entries.flatMap((entry) => (entry.group ? flat(entry.group) : [(entry.address ?? '').toLowerCase()]));
  return list.flatMap((object) => flat(object.value)).filter((address) => address !== '').sort();
}

/** Text as a person reads it: line ends and trailing spaces do not count. */
export function normaliseText(text: string): string {
  return text.replace(/\r\n?/g, '\n').replace(/[ \t\u00a0]+\n/g, '\n').replace(/\n+$/, '').trim();
}

/** HTML compared without regard to whitespace runs and line ends. */
export function normaliseHtml(html: string): string {
  return html.replace(/\s+/g, ' ').trim();
}

/** The bytes of the first base64 text/html part of a message, transfer encoding undone. */
export function htmlPartBytes(message: Buffer): Buffer | null {
  const lines = message.toString('latin1').split('\r\n');
  for (let i = 0; i < lines.length; i++) {
    if (!/^Content-Type: text\/html\b/i.test(lines[i])) continue;
    // The part's header block runs back to the boundary line (or the top) and on to the blank line.
    let start = i;
    while (start > 0 && lines[start - 1] !== '' && !lines[start - 1].startsWith('--')) start--;
    let end = i;
    while (end < lines.length && lines[end] !== '') end++;
    if (!lines.slice(start, end).some((line) => /^Content-Transfer-Encoding: base64$/i.test(line))) continue;
    const data: string[] = [];
    for (let j = end + 1; j < lines.length && /^[A-Za-z0-9+/=]+$/.test(lines[j]); j++) data.push(lines[j]);
    return Buffer.from(data.join(''), 'base64');
  }
  return null;
}

/** Did the rebuilt message put this PST address where a reader finds it? SMTP addresses only. */
function expectedAddresses(message: PstMessage, type: 'to' | 'cc' | 'bcc'): { smtp: string[]; unresolved: number } {
  const of = message.recipients.filter((recipient) => recipient.type === type);
  const smtp = of.filter((recipient) => /@/.test(recipient.email)).map((recipient) => recipient.email.toLowerCase());
  return { smtp: smtp.sort(), unresolved: of.length - smtp.length };
}

export interface CompareOptions {
  /** Bcc is shown only on the user's own mail. */
  keepsBcc: boolean;
  /** Received mail keeps its stored headers: addresses, subject and date come from them. */
  storedHeaders: boolean;
}

/** The stored internet headers of the item, parsed on their own: what received mail must carry. */
async function parseStoredHeaders(message: PstMessage): Promise<ParsedMail | null> {
  if (!message.transportHeaders) return null;
  const block = message.transportHeaders.replace(/\r?\n/g, '\r\n').replace(/(\r\n)+$/, '');
  return simpleParser(Buffer.from(`${block}\r\n\r\n`, 'utf8'));
}

/** Compares one rebuilt message with its PST item, adding to `fidelity`. */
export async function compareMessage(where: string, message: PstMessage, rebuilt: RebuiltMessage, fidelity: Fidelity, options: CompareOptions): Promise<ParsedMail> {
  const parsed = await simpleParser(rebuilt.bytes, { keepCidLinks: true });
  const stored = options.storedHeaders ? await parseStoredHeaders(message) : null;
  fidelity.messages++;
  const check = (field: Field, expected: string, actual: string, explain: () => string | null = () => null) => {
    fidelity.compared[field]++;
    if (expected === actual) {
      fidelity.matching[field]++;
      return;
    }
    fidelity.mismatches.push({ where, field, expected, actual, explained: explain() });
  };

  if (rebuilt.messageId !== '') check('message-id', rebuilt.messageId, parsed.messageId ?? 'none');
  const oneLine = (value: string | undefined) => (value ?? '').trim().replace(/\s+/g, ' ');
  check('subject', oneLine(message.subject), oneLine(parsed.subject), () =>
    stored && oneLine(stored.subject) === oneLine(parsed.subject) ? 'as in the stored internet headers, which differ from PR_SUBJECT' : null,
  );

  for (const type of ['to', 'cc', 'bcc'] as const) {
    const expected = expectedAddresses(message, type);
    if (type === 'bcc' && !options.keepsBcc) continue;
    // An Exchange address the PST holds no SMTP address for is written under .invalid: counted, not named.
    const all = addresses(parsed[type]);
    const actual = all.filter((address) => !address.endsWith('@unresolved.invalid'));
    const show = (list: string[], unresolved: number) => list.join(', ') + (unresolved > 0 ? ` + ${unresolved} unresolved` : '');
    check(type, show(expected.smtp, expected.unresolved), show(actual, all.length - actual.length), () =>
      stored && addresses(stored[type]).join(', ') === all.join(', ') ? 'as in the stored internet headers, which differ from the recipient table' : null,
    );
  }

  const date = message.clientSubmitTime ?? message.messageDeliveryTime ?? message.creationTime ?? message.lastModificationTime;
  if (date) {
    const seconds = (value: Date | undefined) => (value ? String(Math.floor(value.getTime() / 1000)) : 'none');
    check('date', seconds(date), seconds(parsed.date), () =>
      stored && seconds(stored.date) === seconds(parsed.date) ? 'as in the stored internet headers, whose Date differs from PR_CLIENT_SUBMIT_TIME' : null,
    );
  }

  if (message.body) {
    check('text', normaliseText(message.body), normaliseText(parsed.text ?? ''));
  }

  if (message.html && message.html.length > 0) {
    const charset = mimeCharsetOfCodepage(message.internetCodepage);
    if (charset) {
      check('html', normaliseHtml(decodeCharset(message.html, charset)), normaliseHtml(typeof parsed.html === 'string' ? parsed.html : ''));
    }
    const bytes = htmlPartBytes(rebuilt.bytes);
    check('html-bytes', sha256(message.html), bytes ? sha256(bytes) : 'no text/html part');
  }

  const expectedNames: string[] = [];
  const expectedHashes: string[] = [];
  for (const attachment of message.attachments) {
    if (attachment.method === 'by-value' || attachment.method === 'ole') {
      expectedNames.push(attachment.filename);
      expectedHashes.push(sha256(attachment.content()));
    } else if (attachment.method === 'embedded') {
      expectedNames.push(attachment.filename || attachment.embedded()?.subject || '');
    }
  }
  const rtfKept = rebuilt.warnings.some((warning) => warning.code === 'rtf-kept-as-attachment');
  // A meeting request gets back the text/calendar part it was sent with (mailparser lists it as an
  // attachment): checked on its own, against the meeting's start in the PST.
  const invitation = meetingInvitation(message);
  const calendar = parsed.attachments.filter((attachment) => attachment.contentType === 'text/calendar');
  if (invitation) {
    const start = message.appointment?.start ? `DTSTART:${icalDateTime(message.appointment.start)}` : '';
    const found = calendar.map((part) => part.content.toString('utf8')).find((text) => text.includes(`METHOD:${invitation.method}`));
    check('invitation', start, found && found.split('\r\n').includes(start) ? start : (found ?? 'no text/calendar part'));
  }
  const actual = parsed.attachments.filter((attachment) => !(rtfKept && attachment.filename === 'message.rtf') && !(invitation && calendar.includes(attachment)));
  // As a set: inline images move into multipart/related beside the HTML, ahead of the other attachments.
  const names = (list: string[]) => [...list].sort().join(' | ');
  check('attachment-names', names(expectedNames), names(actual.map((attachment) => attachment.filename ?? '')));
  check(
    'attachment-sha256',
    expectedHashes.sort().join(' '),
    actual
      .filter((attachment) => attachment.contentType !== 'message/rfc822')
      .map((attachment) => sha256(attachment.content))
      .sort()
      .join(' '),
  );
  return parsed;
}

export function fidelityReport(title: string, fidelity: Fidelity): string {
  const lines = [`${title}: ${fidelity.messages} messages compared`];
  for (const field of Object.keys(fidelity.compared) as Field[]) {
    lines.push(`  ${field.padEnd(18)} ${fidelity.matching[field]}/${fidelity.compared[field]} matching`);
  }
  const explained = fidelity.mismatches.filter((mismatch) => mismatch.explained);
  const unexplained = fidelity.mismatches.filter((mismatch) => !mismatch.explained);
  lines.push(`  mismatches: ${fidelity.mismatches.length} (${explained.length} explained, ${unexplained.length} unexplained)`);
  for (const mismatch of fidelity.mismatches) {
    const cut = (value: string) => (value.length > 160 ? `${value.slice(0, 160)}...` : value);
    lines.push(`  - ${mismatch.where} ${mismatch.field}: expected "${cut(mismatch.expected)}", got "${cut(mismatch.actual)}"${mismatch.explained ? ` (explained: ${mismatch.explained})` : ' (UNEXPLAINED)'}`);
  }
  return lines.join('\n');
}
