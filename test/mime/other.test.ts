/**
 * Items that are not mail, as files: vCard 4.0 for contacts, iCalendar for appointments and tasks, text for
 * the rest. Rules on plain data, then the real contacts and appointments of the shared corpus.
 */
import { join } from 'node:path';
import { escapeText, foldLine, icalDate, renderOtherItem } from '../../src/mime/other.js';
import { openPst, isReadProblem, type PstFolder, type PstMessage } from '../../src/pst/index.js';
import { sharedFixtures } from '../support/cli.js';

/** Content lines unfolded (RFC 5545 3.1), without the final empty line. */
function unfold(bytes: Buffer): string[] {
  return bytes.toString('utf8').replace(/\r\n[ \t]/g, '').split('\r\n').slice(0, -1);
}

function itemsOf(file: string): PstMessage[] {
  const reader = openPst(join(sharedFixtures, file));
  const found: PstMessage[] = [];
  const visit = (folder: PstFolder) => {
    for (const entry of reader.items(folder)) if (!isReadProblem(entry) && entry.kind !== 'mail') found.push(reader.readMessage(entry.nid));
    folder.children.forEach(visit);
  };
  try {
    visit(reader.root);
  } finally {
    reader.close();
  }
  return found;
}

describe('content lines', () => {
  it('escapes backslash, comma, semicolon and line breaks', () => {
    expect(escapeText('a\\b, c; d\r\ne\nf')).toBe('a\\\\b\\, c\\; d\\ne\\nf');
  });

  it('folds at 75 octets without splitting a UTF-8 character', () => {
    const line = `NOTE:${'日本語'.repeat(20)}`;
    const folded = foldLine(line);
    for (const part of folded.split('\r\n')) expect(Buffer.byteLength(part, 'utf8')).toBeLessThanOrEqual(75);
    expect(folded.replace(/\r\n /g, '')).toBe(line);
  });

  it('takes a date stored as local midnight in UTC for the date meant, east and west of Greenwich', () => {
    expect(icalDate(new Date('1999-12-31T15:00:00Z'))).toBe('20000101'); // Tokyo
    expect(icalDate(new Date('2000-01-01T08:00:00Z'))).toBe('20000101'); // California
    expect(icalDate(new Date('2000-01-01T00:00:00Z'))).toBe('20000101');
  });
});

describe('the corpus', () => {
  it('writes the Japanese contact as a vCard with its names, furigana, phones, address and birthday', () => {
    for (const file of ['hh-contacts.pst', 'hh-contacts97-2002.pst']) {
      const [contact] = itemsOf(file);
      const rendered = renderOtherItem(contact);
      expect(rendered.extension).toBe('vcf');
      const lines = unfold(rendered.bytes);
      expect(lines[0]).toBe('BEGIN:VCARD');
      expect(lines).toContain('VERSION:4.0');
      expect(lines).toContain('FN:Mr. イグザンプル ドット コム 殿');
      expect(lines).toContain('N:イグザンプル;コム;ドット;Mr.;殿');
      expect(lines).toContain('X-PHONETIC-LAST-NAME:eguzanpuru');
      expect(lines).toContain('X-PHONETIC-FIRST-NAME:komu');
      expect(lines).toContain('ORG:My work company;My division');
      expect(lines).toContain('EMAIL;PREF=1:test@example.com');
      expect(lines).toContain('TEL;VALUE=text;TYPE=cell:080-0001-0001');
      expect(lines).toContain('ADR;TYPE=work:;;Somewhere;Osaka;Osaka;544-0001;日本');
      expect(lines).toContain('BDAY:20000101');
      expect(lines.at(-1)).toBe('END:VCARD');
    }
  });

  it('writes the recurring appointment as a VEVENT with its times, UID and pattern', () => {
    const appointment = itemsOf('libpst-dist-list.pst').find((item) => item.kind === 'appointment')!;
    const rendered = renderOtherItem(appointment);
    expect(rendered.extension).toBe('ics');
    const lines = unfold(rendered.bytes);
    expect(lines.slice(0, 4)).toEqual(['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//pst2imap//export//EN', 'BEGIN:VEVENT']);
    expect(lines).toContain('SUMMARY:Test appointment');
    expect(lines).toContain('DESCRIPTION:This is a complete test');
    expect(lines).toContain('DTSTART:20160802T150000Z');
    expect(lines).toContain('DTEND:20160802T153000Z');
    expect(lines).toContain('UID:040000008200E00074C5B7101A82E00800000000D08AA8F019ECD10100000000000000001000000033E8E3DAB52AEB4E9597CB068B12F50E');
    expect(lines).toContain('X-PST2IMAP-RECURRENCE:every Tuesday from 8:00 AM to 8:30 AM');
    expect(lines.filter((line) => line.startsWith('ORGANIZER'))).toEqual([]); // 'Unknown' is no address
    expect(lines.slice(-2)).toEqual(['END:VEVENT', 'END:VCALENDAR']);
  });

  it('writes the distribution list as a group vCard with its members', () => {
    const list = itemsOf('libpst-dist-list.pst').find((item) => item.kind === 'distlist')!;
    const lines = unfold(renderOtherItem(list).bytes);
    expect(lines).toContain('KIND:group');
    expect(lines).toContain('FN:test dist list');
    expect(lines.filter((line) => line.startsWith('MEMBER:'))).toEqual([
      'MEMBER:mailto:contact1@rjohnson.id.au',
      'MEMBER:mailto:dist1@rjohnson.id.au',
      'MEMBER:mailto:dist2@rjohnson.id.au',
    ]);
    expect(lines).toContain('X-PST2IMAP-MEMBER-NAME:dist name 2');
  });

  it('writes every contact, appointment and distribution list of the corpus, each a complete file', () => {
    let count = 0;
    for (const file of ['aspose-contacts.pst', 'libpst-dist-list.pst', 'gopst-ansi-32bit.pst', 'hh-contacts.pst', 'hh-contacts97-2002.pst']) {
      for (const item of itemsOf(file)) {
        const lines = unfold(renderOtherItem(item).bytes);
        const [begin, end] = item.kind === 'appointment' || item.kind === 'task' ? ['BEGIN:VCALENDAR', 'END:VCALENDAR'] : ['BEGIN:VCARD', 'END:VCARD'];
        expect([lines[0], lines.at(-1)]).toEqual([begin, end]);
        expect(lines.some((line) => line.includes(item.subject.trim().split(' ')[0]))).toBe(true);
        count++;
      }
    }
    expect(count).toBe(12);
  });
});

describe('plain data', () => {
  const base = {
    nid: 42, folderNid: 1, size: 0, messageDeliveryTime: null, clientSubmitTime: null, internetMessageId: null, hasAttachments: false,
    transportHeaders: null, sender: null, sentRepresenting: null, recipients: [], html: null, rtfCompressed: null, internetCodepage: null,
    messageCodepage: null, messageFlags: 0, flagStatus: null, lastVerbExecuted: null, importance: null, priority: null, conversationIndex: null,
    inReplyTo: null, references: null, attachments: [], creationTime: new Date('2024-01-02T03:04:05Z'), lastModificationTime: new Date('2024-02-03T04:05:06Z'),
  } satisfies Partial<PstMessage>;

  it('writes a task as a VTODO with its dates, progress and status', () => {
    const task: PstMessage = {
      ...base, messageClass: 'IPM.Task', kind: 'task', subject: '報告書; 提出', body: '第1章まで',
      task: { start: new Date('2024-03-31T15:00:00Z'), due: new Date('2024-04-04T15:00:00Z'), completed: null, percentComplete: 0.25, status: 'IN-PROCESS' },
    };
    const lines = unfold(renderOtherItem(task).bytes);
    expect(lines).toEqual(expect.arrayContaining(['BEGIN:VTODO', 'SUMMARY:報告書\\; 提出', 'DESCRIPTION:第1章まで', 'DTSTART;VALUE=DATE:20240401', 'DUE;VALUE=DATE:20240405', 'PERCENT-COMPLETE:25', 'STATUS:IN-PROCESS', 'END:VTODO']));
  });

  it('writes an all-day event with dates, not times', () => {
    const event: PstMessage = {
      ...base, messageClass: 'IPM.Appointment', kind: 'appointment', subject: '創立記念日', body: null,
      appointment: { start: new Date('2024-04-30T15:00:00Z'), end: new Date('2024-05-01T15:00:00Z'), allDay: true, location: '本社', recurrence: null, organizer: null, busyStatus: 'free', globalObjectId: null },
    };
    const lines = unfold(renderOtherItem(event).bytes);
    expect(lines).toEqual(expect.arrayContaining(['DTSTART;VALUE=DATE:20240501', 'DTEND;VALUE=DATE:20240502', 'LOCATION:本社', 'TRANSP:TRANSPARENT', 'UID:pst2imap-42']));
  });

  it('writes a note as text with its subject and dates', () => {
    const note: PstMessage = { ...base, messageClass: 'IPM.StickyNote', kind: 'note', subject: '買い物', body: '牛乳\nパン' };
    const rendered = renderOtherItem(note);
    expect(rendered.extension).toBe('txt');
    expect(rendered.bytes.toString('utf8')).toBe('Subject: 買い物\r\nClass: IPM.StickyNote\r\nCreated: 2024-01-02T03:04:05.000Z\r\nModified: 2024-02-03T04:05:06.000Z\r\n\r\n牛乳\r\nパン');
  });
});
