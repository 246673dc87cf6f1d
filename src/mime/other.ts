/**
 * Items IMAP cannot hold, as the files other programs read: contacts as vCard 4.0 (RFC 6350), appointments
 * and meeting requests as iCalendar VEVENT and tasks as VTODO (RFC 5545), notes, journal entries and the
 * rest as text. Nothing of the PST is lost: `export --export-other DIR` writes them, and the engine can.
 */
import type { PstMessage } from '../pst/types.js';

export interface OtherItemFile {
  /** 'vcf', 'ics' or 'txt'. */
  extension: 'vcf' | 'ics' | 'txt';
  /** UTF-8, CRLF line ends (both formats require them). */
  bytes: Buffer;
}

/** Escapes a TEXT value (RFC 6350 3.4, RFC 5545 3.3.11): backslash, comma, semicolon, line breaks. */
export function escapeText(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/,/g, '\\,').replace(/;/g, '\\;').replace(/\r\n|\r|\n/g, '\\n');
}

/**
 * Folds a content line at 75 octets (RFC 5545 3.1, RFC 6350 3.2), never inside a UTF-8 sequence: the
 * continuation starts with a space.
 */
export function foldLine(line: string): string {
  const parts: string[] = [];
  let current = '';
  let size = 0;
  for (const char of line) {
    const length = Buffer.byteLength(char, 'utf8');
    if (size + length > (parts.length === 0 ? 75 : 74)) {
      parts.push(current);
      current = '';
      size = 0;
    }
    current += char;
    size += length;
  }
  parts.push(current);
  return parts.join('\r\n ');
}

function lines(content: string[]): Buffer {
  return Buffer.from(`${content.filter((line) => line !== '').map(foldLine).join('\r\n')}\r\n`, 'utf8');
}

/** UTC date-time in iCalendar's basic form: 20240401T090000Z. */
export function icalDateTime(date: Date): string {
  return date.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

/**
 * A calendar date (birthdays, all-day events, task dates): 20240401. Outlook stores these as midnight of
 * the writer's time zone, in UTC (a birthday of 1 January 2000 in Tokyo is 1999-12-31T15:00Z); every
 * zone is within twelve hours of UTC, so the nearest UTC midnight is the date meant.
 */
export function icalDate(date: Date): string {
  const day = 24 * 60 * 60 * 1000;
  return new Date(Math.round(date.getTime() / day) * day).toISOString().slice(0, 10).replace(/-/g, '');
}

function textOf(message: PstMessage): string {
  return message.body ?? '';
}

/** The file an item becomes, chosen by its kind. */
export function renderOtherItem(message: PstMessage): OtherItemFile {
  switch (message.kind) {
    case 'contact':
    case 'distlist':
      return { extension: 'vcf', bytes: renderVCard(message) };
    case 'appointment':
    case 'task':
      return { extension: 'ics', bytes: renderICalendar(message) };
    default:
      return { extension: 'txt', bytes: renderText(message) };
  }
}

export function renderVCard(message: PstMessage): Buffer {
  const contact = message.contact;
  const fullName = contact?.displayName || message.subject || '';
  const content = [
    'BEGIN:VCARD',
    'VERSION:4.0',
    message.kind === 'distlist' ? 'KIND:group' : '',
    `FN:${escapeText(fullName)}`,
    contact
      ? `N:${[contact.surname, contact.givenName, contact.middleName, contact.prefix, contact.suffix].map((part) => escapeText(part ?? '')).join(';')}`
      : '',
    contact?.nickname ? `NICKNAME:${escapeText(contact.nickname)}` : '',
    // Phonetic (furigana) names, as Apple and Google contacts read them.
    contact?.yomiSurname ? `X-PHONETIC-LAST-NAME:${escapeText(contact.yomiSurname)}` : '',
    contact?.yomiGivenName ? `X-PHONETIC-FIRST-NAME:${escapeText(contact.yomiGivenName)}` : '',
    contact?.company ? `ORG:${escapeText(contact.company)}${contact.department ? `;${escapeText(contact.department)}` : ''}` : '',
    contact?.jobTitle ? `TITLE:${escapeText(contact.jobTitle)}` : '',
    ...(contact?.emails ?? []).map((email, index) => `EMAIL${index === 0 ? ';PREF=1' : ''}:${escapeText(email)}`),
    // As written, a text value (RFC 6350 6.4.1): '(03) 1234-5678' is no tel: URI.
    ...(contact?.phones ?? []).map((phone) => `TEL;VALUE=text;TYPE=${phone.type}:${escapeText(phone.number)}`),
    ...(contact?.addresses ?? []).map(
      (address) =>
        `ADR;TYPE=${address.type}:;;${[address.street, address.city, address.region, address.postalCode, address.country].map((part) => escapeText(part ?? '')).join(';')}`,
    ),
    contact?.birthday ? `BDAY:${icalDate(contact.birthday)}` : '',
    contact?.anniversary ? `ANNIVERSARY:${icalDate(contact.anniversary)}` : '',
    ...(contact?.urls ?? []).map((url) => `URL:${url}`),
    // RFC 6350 6.6.5; a member's name is kept beside it, since MEMBER holds only a URI.
    ...(message.distributionListMembers ?? []).flatMap((member) => [
      `MEMBER:${member.email.includes('@') ? `mailto:${member.email}` : `urn:x-pst2imap:${encodeURIComponent(member.email || member.name)}`}`,
      `X-PST2IMAP-MEMBER-NAME:${escapeText(member.name)}`,
    ]),
    textOf(message).trim() ? `NOTE:${escapeText(textOf(message).trim())}` : '',
    message.lastModificationTime ? `REV:${icalDateTime(message.lastModificationTime)}` : '',
    `X-PST2IMAP-NID:${message.nid}`,
    'END:VCARD',
  ];
  return lines(content);
}

/**
 * The iCalendar object of a meeting request or cancellation (iTIP, RFC 5546), for the text/calendar part
 * such mail had when it was sent: Outlook keeps the meeting in the item's properties, not the part.
 * Null for other items and for responses (they inform; there is nothing to act on).
 */
export function meetingInvitation(message: PstMessage): { method: 'REQUEST' | 'CANCEL'; bytes: Buffer } | null {
  if (!message.appointment?.start) return null;
  const method = /^ipm\.schedule\.meeting\.request(\.|$)/i.test(message.messageClass)
    ? 'REQUEST'
    : /^ipm\.schedule\.meeting\.canceled(\.|$)/i.test(message.messageClass)
      ? 'CANCEL'
      : null;
  return method ? { method, bytes: renderICalendar(message, method) } : null;
}

export function renderICalendar(message: PstMessage, method?: 'REQUEST' | 'CANCEL'): Buffer {
  const stamp = message.lastModificationTime ?? message.creationTime ?? new Date(0);
  const uid = message.appointment?.globalObjectId ?? message.internetMessageId?.replace(/^<|>$/g, '') ?? `pst2imap-${message.nid}`;
  const common = [
    `UID:${escapeText(uid)}`,
    `DTSTAMP:${icalDateTime(stamp)}`,
    message.creationTime ? `CREATED:${icalDateTime(message.creationTime)}` : '',
    message.lastModificationTime ? `LAST-MODIFIED:${icalDateTime(message.lastModificationTime)}` : '',
    `SUMMARY:${escapeText(message.subject)}`,
    textOf(message).trim() ? `DESCRIPTION:${escapeText(textOf(message).trim())}` : '',
  ];
  let component: string[];
  if (message.kind === 'task') {
    const task = message.task;
    component = [
      'BEGIN:VTODO',
      ...common,
      task?.start ? `DTSTART;VALUE=DATE:${icalDate(task.start)}` : '',
      task?.due ? `DUE;VALUE=DATE:${icalDate(task.due)}` : '',
      task?.completed ? `COMPLETED:${icalDateTime(task.completed)}` : '',
      task?.percentComplete !== undefined && task.percentComplete !== null ? `PERCENT-COMPLETE:${Math.round(task.percentComplete * 100)}` : '',
      task?.status ? `STATUS:${task.status}` : '',
      'END:VTODO',
    ];
  } else {
    const event = message.appointment;
    const allDay = event?.allDay === true;
    const start = event?.start ?? null;
    const end = event?.end ?? null;
    component = [
      'BEGIN:VEVENT',
      ...common,
      start ? (allDay ? `DTSTART;VALUE=DATE:${icalDate(start)}` : `DTSTART:${icalDateTime(start)}`) : '',
      end ? (allDay ? `DTEND;VALUE=DATE:${icalDate(end)}` : `DTEND:${icalDateTime(end)}`) : '',
      event?.location ? `LOCATION:${escapeText(event.location)}` : '',
      event?.recurrence ? `X-PST2IMAP-RECURRENCE:${escapeText(event.recurrence)}` : '',
      event?.organizer && event.organizer.email.includes('@') ? `ORGANIZER;CN=${quoteParam(event.organizer.name)}:mailto:${event.organizer.email}` : '',
      ...message.recipients
        .filter((recipient) => recipient.email !== '')
        .map((recipient) => `ATTENDEE;CN=${quoteParam(recipient.name)};ROLE=${recipient.type === 'cc' ? 'OPT-PARTICIPANT' : recipient.type === 'bcc' ? 'NON-PARTICIPANT' : 'REQ-PARTICIPANT'}:mailto:${recipient.email}`),
      event?.busyStatus ? `TRANSP:${event.busyStatus === 'free' ? 'TRANSPARENT' : 'OPAQUE'}` : '',
      'END:VEVENT',
    ];
  }
  return lines(['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//pst2imap//export//EN', method ? `METHOD:${method}` : '', ...component, 'END:VCALENDAR']);
}

/** A parameter value: quoted (RFC 5545 3.2), the quote character itself cannot appear. */
function quoteParam(value: string): string {
  return `"${value.replace(/"/g, "'")}"`;
}

export function renderText(message: PstMessage): Buffer {
  const header = [
    `Subject: ${message.subject}`,
    `Class: ${message.messageClass}`,
    message.creationTime ? `Created: ${message.creationTime.toISOString()}` : '',
    message.lastModificationTime ? `Modified: ${message.lastModificationTime.toISOString()}` : '',
  ].filter((line) => line !== '');
  return Buffer.from(`${header.join('\r\n')}\r\n\r\n${textOf(message).replace(/\r\n|\r|\n/g, '\r\n')}`, 'utf8');
}
