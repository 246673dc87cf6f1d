/**
 * The rebuild rules on plain data: headers, bodies and their charsets (Japanese byte for byte), attachments,
 * flags and dates. Every message is parsed back with mailparser, an independent reader.
 */
import iconv from 'iconv-lite';
import { simpleParser } from 'mailparser';
import { rebuildMessage } from '../../src/mime/index.js';
import type { RebuildContext } from '../../src/mime/types.js';
import { UP_FRONT_MAX_BYTES } from '../../src/mime/output.js';
import type { PstAttachment, PstMessage } from '../../src/pst/types.js';
import { htmlPartBytes, sha256 } from './fidelity.js';

const context: RebuildContext = { storeFingerprint: 'f'.repeat(64), folderRole: 'inbox' };
const sent: RebuildContext = { ...context, folderRole: 'sent' };

function message(overrides: Partial<PstMessage> = {}): PstMessage {
  return {
    nid: 2097188,
    folderNid: 8226,
    messageClass: 'IPM.Note',
    kind: 'mail',
    subject: 'Hello',
    size: 1000,
    messageDeliveryTime: new Date('2024-04-01T09:00:05Z'),
    clientSubmitTime: new Date('2024-04-01T09:00:00Z'),
    creationTime: new Date('2024-04-01T09:00:06Z'),
    lastModificationTime: new Date('2024-04-02T10:00:00Z'),
    internetMessageId: '<abc@example.com>',
    hasAttachments: false,
    transportHeaders: null,
    sender: { name: 'Taro Yamada', email: 'taro@example.jp', addressType: 'SMTP' },
    sentRepresenting: { name: 'Taro Yamada', email: 'taro@example.jp', addressType: 'SMTP' },
    recipients: [
      { type: 'to', name: 'Hanako', email: 'hanako@example.jp', addressType: 'SMTP' },
      { type: 'cc', name: 'Jiro', email: 'jiro@example.jp', addressType: 'SMTP' },
      { type: 'bcc', name: 'Boss', email: 'boss@example.jp', addressType: 'SMTP' },
    ],
    body: 'Hello there.\r\n',
    html: null,
    rtfCompressed: null,
    internetCodepage: null,
    messageCodepage: null,
    messageFlags: 0,
    flagStatus: null,
    lastVerbExecuted: null,
    importance: null,
    priority: null,
    conversationIndex: null,
    inReplyTo: null,
    references: null,
    attachments: [],
    ...overrides,
  };
}

/** The bytes of `content`, a slice at a time, as the PST layer's open() gives them. */
function opener(content: () => Buffer): PstAttachment['open'] {
  return () => {
    const whole = content();
    let at = 0;
    return {
      length: whole.length,
      read: (into: Buffer) => {
        at += whole.copy(into, 0, at, at + into.length);
      },
    };
  };
}

function attachment(overrides: Partial<PstAttachment> & { bytes?: Buffer }): PstAttachment {
  const bytes = overrides.bytes ?? Buffer.from('data');
  const content = overrides.content ?? (() => Buffer.from(bytes));
  return {
    index: 0,
    method: 'by-value',
    filename: 'file.bin',
    mimeTag: '',
    contentId: '',
    size: bytes.length,
    hidden: false,
    renderingPosition: -1,
    // A new buffer on each call, as the PST layer gives: the rebuild frees it once the message is written.
    content,
    open: opener(content),
    embedded: () => null,
    ...overrides,
  };
}

const headerOf = (bytes: Buffer) => bytes.toString('latin1').split('\r\n\r\n')[0];

describe('headers', () => {
  it('keeps the stored headers of received mail, less the MIME structure they described', async () => {
    const transportHeaders = [
      'Microsoft Mail Internet Headers Version 2.0',
      'Received: from mx.example.jp (mx.example.jp [192.0.2.1])',
      '\tby mail.example.com; Mon, 1 Apr 2024 18:00:05 +0900',
      'From: =?ISO-2022-JP?B?GyRCOzNFRBsoQg==?= <taro@example.jp>',
      'To: hanako@example.jp',
      'Subject: =?ISO-2022-JP?B?GyRCJDMkcyRLJEEkTxsoQg==?=',
      'Date: Mon, 1 Apr 2024 18:00:00 +0900',
      'Message-ID: <abc@example.com>',
      'MIME-Version: 1.0',
      'Content-Type: multipart/alternative;',
      '\tboundary="----=_NextPart_000"',
      'Content-Transfer-Encoding: 7bit',
      'X-Mailer: Becky! ver. 2.75',
      '',
      '',
    ].join('\r\n');
    const rebuilt = await rebuildMessage(message({ transportHeaders }), context);
    const header = headerOf(rebuilt.bytes);
    expect(header).toContain('Received: from mx.example.jp (mx.example.jp [192.0.2.1])\r\n\tby mail.example.com; Mon, 1 Apr 2024 18:00:05 +0900');
    expect(header).toContain('Subject: =?ISO-2022-JP?B?GyRCJDMkcyRLJEEkTxsoQg==?=');
    expect(header).toContain('X-Mailer: Becky! ver. 2.75');
    expect(header).not.toContain('Microsoft Mail Internet Headers');
    expect(header).not.toContain('NextPart_000');
    expect(header).not.toContain('7bit');
    expect(header.match(/^MIME-Version:/gim)).toHaveLength(1);
    expect(header.match(/^Content-Type:/gim)).toHaveLength(1);
    expect(header.match(/^Message-ID:/gim)).toHaveLength(1);
    expect(header.match(/^Date:/gim)).toHaveLength(1);
    const parsed = await simpleParser(rebuilt.bytes);
    expect(parsed.subject).toBe('こんにちは');
    expect(parsed.from?.value[0]).toEqual({ name: '山田', address: 'taro@example.jp' });
    expect(parsed.text?.trim()).toBe('Hello there.');
    expect(rebuilt.messageId).toBe('<abc@example.com>');
  });

  it('adds Message-ID and Date when the stored headers lack them, and encodes 8-bit header text', async () => {
    const transportHeaders = 'Received: by host\r\nFrom: taro@example.jp\r\nSubject: 会議の件\r\n';
    const rebuilt = await rebuildMessage(message({ transportHeaders, internetMessageId: null, clientSubmitTime: null }), context);
    const header = headerOf(rebuilt.bytes);
    expect(header).toMatch(/^Message-ID: <[0-9a-f]{32}\.2097188@pst2imap\.invalid>$/m);
    expect(header).toMatch(/^Date: Mon, 01 Apr 2024 09:00:05 \+0000$/m);
    expect(/[^\x00-\x7f]/.test(rebuilt.bytes.toString('latin1'))).toBe(false);
    expect((await simpleParser(rebuilt.bytes)).subject).toBe('会議の件');
  });

  it('completes stored headers that lack From, and keeps the bytes and messageId in agreement', async () => {
    const noFrom = await rebuildMessage(message({ transportHeaders: 'Received: by host\r\nSubject: x\r\nMessage-ID: <from-header@example.jp>\r\n' }), context);
    const parsed = await simpleParser(noFrom.bytes);
    expect(parsed.from?.value).toEqual([{ name: 'Taro Yamada', address: 'taro@example.jp' }]);
    // The stored header's Message-ID wins over PR_INTERNET_MESSAGE_ID ('<abc@example.com>' here).
    expect(noFrom.messageId).toBe('<from-header@example.jp>');
    expect(parsed.messageId).toBe('<from-header@example.jp>');
    const eightBit = await rebuildMessage(message({ internetMessageId: '<日本@example.jp>' }), sent);
    expect(eightBit.messageIdDerived).toBe(true);
    expect(eightBit.bytes.toString('latin1')).not.toMatch(/[\x80-\xff]/);
    const malformed = await rebuildMessage(message({ transportHeaders: 'From: a@example.jp\r\nMessage-ID: not an id\r\n' }), context);
    expect(malformed.messageId).toBe('<abc@example.com>');
    expect(headerOf(malformed.bytes).match(/^Message-ID: .*$/gim)).toEqual(['Message-ID: <abc@example.com>']);
    // Stored headers without Subject get the item's; with one, they keep theirs and only theirs.
    expect(headerOf(malformed.bytes).match(/^Subject: .*$/gim)).toEqual(['Subject: Hello']);
    expect(headerOf(noFrom.bytes).match(/^Subject: .*$/gim)).toEqual(['Subject: x']);
  });

  it('builds the headers of sent mail from its properties, Bcc kept', async () => {
    const rebuilt = await rebuildMessage(
      message({
        subject: '見積もりのご依頼',
        importance: 2,
        priority: 1,
        inReplyTo: '<parent@example.jp>',
        references: '<root@example.jp> <parent@example.jp>',
        conversationIndex: Buffer.from([1, 2, 3, 4, 5]),
        messageFlags: 0x1,
      }),
      sent,
    );
    const parsed = await simpleParser(rebuilt.bytes);
    expect(parsed.subject).toBe('見積もりのご依頼');
    expect(headerOf(rebuilt.bytes)).toMatch(/^Subject: =\?UTF-8\?[BQ]\?/m);
    expect(parsed.from?.value).toEqual([{ name: 'Taro Yamada', address: 'taro@example.jp' }]);
    expect((parsed.to as { value: unknown[] }).value).toEqual([{ name: 'Hanako', address: 'hanako@example.jp' }]);
    expect((parsed.cc as { value: unknown[] }).value).toEqual([{ name: 'Jiro', address: 'jiro@example.jp' }]);
    expect((parsed.bcc as { value: unknown[] }).value).toEqual([{ name: 'Boss', address: 'boss@example.jp' }]);
    expect(parsed.date?.toISOString()).toBe('2024-04-01T09:00:00.000Z');
    expect(parsed.messageId).toBe('<abc@example.com>');
    expect(parsed.inReplyTo).toBe('<parent@example.jp>');
    expect(parsed.references).toEqual(['<root@example.jp>', '<parent@example.jp>']);
    const header = headerOf(rebuilt.bytes);
    expect(header).toMatch(/^Importance: high$/m);
    expect(header).toMatch(/^X-Priority: 1$/m);
    expect(header).toMatch(/^Priority: urgent$/m);
    expect(header).toMatch(/^Thread-Index: AQIDBAU=$/m);
  });

  it('leaves Bcc out of received mail rebuilt without stored headers', async () => {
    const rebuilt = await rebuildMessage(message(), context);
    expect(headerOf(rebuilt.bytes)).not.toMatch(/^Bcc:/im);
    expect(headerOf(rebuilt.bytes)).toMatch(/^To: Hanako <hanako@example.jp>$/m);
  });

  it('writes Sender when someone sent on behalf of another', async () => {
    const rebuilt = await rebuildMessage(
      message({ sender: { name: 'Secretary', email: 'sec@example.jp', addressType: 'SMTP' } }),
      sent,
    );
    const parsed = await simpleParser(rebuilt.bytes);
    expect(parsed.from?.value[0].address).toBe('taro@example.jp');
    expect(parsed.headers.get('sender')).toMatchObject({ value: [{ address: 'sec@example.jp', name: 'Secretary' }] });
  });

  it('gives an Exchange address without SMTP a placeholder under .invalid, and says so', async () => {
    const rebuilt = await rebuildMessage(
      message({
        recipients: [{ type: 'to', name: 'Sato Ichiro', email: '/O=EXAMPLE/OU=FIRST/CN=RECIPIENTS/CN=SATO', addressType: 'EX' }],
      }),
      sent,
    );
    const parsed = await simpleParser(rebuilt.bytes);
    expect((parsed.to as { value: unknown[] }).value).toEqual([{ name: 'Sato Ichiro', address: 'SATO@unresolved.invalid' }]);
    expect(rebuilt.warnings).toEqual([expect.objectContaining({ code: 'address-unresolved' })]);
  });

  it('derives the same Message-ID on every run, and another one for another item or store', async () => {
    const bare = message({ internetMessageId: null });
    const first = await rebuildMessage(bare, sent);
    const second = await rebuildMessage(message({ internetMessageId: null }), sent);
    expect(first.messageIdDerived).toBe(true);
    expect(first.messageId).toBe(second.messageId);
    expect(headerOf(first.bytes)).toContain(`Message-ID: ${first.messageId}`);
    expect((await rebuildMessage({ ...bare, nid: 2097220 }, sent)).messageId).not.toBe(first.messageId);
    expect((await rebuildMessage(bare, { ...sent, storeFingerprint: 'e'.repeat(64) })).messageId).not.toBe(first.messageId);
    // Bytes too are the same from run to run but for the MIME boundaries.
    const strip = (bytes: Buffer) => bytes.toString('latin1').replace(/_NmP-[0-9a-f]+-Part/g, 'BOUNDARY');
    expect(strip(first.bytes)).toBe(strip(second.bytes));
  });

  it('keeps the stored Message-ID and never lets nodemailer invent one or a Date', async () => {
    const rebuilt = await rebuildMessage(message(), sent);
    expect(rebuilt.messageIdDerived).toBe(false);
    expect(headerOf(rebuilt.bytes).match(/^Message-ID: .*$/gm)).toEqual(['Message-ID: <abc@example.com>']);
    const undated = await rebuildMessage(
      message({ clientSubmitTime: null, messageDeliveryTime: null, creationTime: null, lastModificationTime: null }),
      sent,
    );
    expect(headerOf(undated.bytes)).not.toMatch(/^Date:/m);
    expect(undated.internalDate).toBeNull();
  });

  it('ends every line with CRLF', async () => {
    const rebuilt = await rebuildMessage(message({ body: 'one\ntwo\rthree\r\n', transportHeaders: 'Received: x\nSubject: s\n' }), context);
    expect(rebuilt.bytes.toString('latin1')).not.toMatch(/[^\r]\n|\r[^\n]/);
  });
});

/** "日本語のメール" in ISO-2022-JP (iconv-lite has no encoder for it): JIS X 0208 between ESC $ B and ESC ( B. */
const ISO_2022_JP_TEXT = Buffer.from('1b2442467c4b5c386c244e2561213c256b1b2842', 'hex');

describe('HTML bodies keep their bytes, labelled with their charset', () => {
  const japanese = '<html><head><meta charset="x"></head><body><p>日本語のメール①㈱</p></body></html>\r\n';
  const cases: Array<{ codepage: number; charset: RegExp; bytes: Buffer }> = [
    { codepage: 50220, charset: /^ISO-2022-JP$/i, bytes: Buffer.concat([Buffer.from('<html><body><p>'), ISO_2022_JP_TEXT, Buffer.from('</p></body></html>\n')]) },
    { codepage: 50221, charset: /^ISO-2022-JP$/i, bytes: Buffer.concat([Buffer.from('<p>'), ISO_2022_JP_TEXT, Buffer.from('</p>')]) },
    { codepage: 932, charset: /^Shift_JIS$/i, bytes: iconv.encode(japanese, 'cp932') },
    { codepage: 51932, charset: /^EUC-JP$/i, bytes: iconv.encode(japanese.replace('①㈱', ''), 'euc-jp') },
    { codepage: 20932, charset: /^EUC-JP$/i, bytes: iconv.encode(japanese.replace('①㈱', ''), 'euc-jp') },
    { codepage: 65001, charset: /^UTF-8$/i, bytes: Buffer.from(japanese, 'utf8') },
    { codepage: 936, charset: /^GB2312$/i, bytes: iconv.encode('<p>中文邮件</p>', 'gbk') },
    { codepage: 949, charset: /^ks_c_5601-1987$/i, bytes: iconv.encode('<p>한국어</p>', 'euc-kr') },
    { codepage: 1252, charset: /^windows-1252$/i, bytes: iconv.encode('<p>Café €</p>', 'cp1252') },
  ];
  it.each(cases)('code page $codepage', async ({ codepage, charset, bytes }) => {
    const rebuilt = await rebuildMessage(message({ html: bytes, internetCodepage: codepage, body: null }), context);
    const part = htmlPartBytes(rebuilt.bytes);
    expect(part).not.toBeNull();
    expect(sha256(part!)).toBe(sha256(bytes));
    const label = /Content-Type: text\/html; charset=([^\s;]+)/.exec(rebuilt.bytes.toString('latin1'))?.[1];
    expect(label).toMatch(charset);
    expect(rebuilt.warnings).toEqual([]);
  });

  it('decodes to the right Japanese text in a reader', async () => {
    const iso = await simpleParser((await rebuildMessage(message({ html: ISO_2022_JP_TEXT, internetCodepage: 50220, body: null }), context)).bytes);
    expect(iso.html).toBe('日本語のメール');
    const sjis = await simpleParser(
      (await rebuildMessage(message({ html: iconv.encode('<p>日本語のメール①㈱</p>', 'cp932'), internetCodepage: 932, body: null }), context)).bytes,
    );
    expect(sjis.html).toBe('<p>日本語のメール①㈱</p>');
  });

  it('takes the charset the HTML declares when PR_INTERNET_CPID is missing, and warns when nothing tells', async () => {
    const declared = iconv.encode('<meta http-equiv="Content-Type" content="text/html; charset=shift_jis"><p>日本語</p>', 'cp932');
    const withMeta = await rebuildMessage(message({ html: declared, body: null }), context);
    expect(withMeta.bytes.toString('latin1')).toContain('Content-Type: text/html; charset=shift_jis');
    expect(withMeta.warnings).toEqual([]);
    const unknown = await rebuildMessage(message({ html: Buffer.from([0x3c, 0x70, 0x3e, 0x93, 0xfa, 0x3c]), body: null, messageCodepage: 932 }), context);
    expect(unknown.bytes.toString('latin1')).toContain('charset=Shift_JIS');
    expect(unknown.warnings).toEqual([expect.objectContaining({ code: 'body-charset-unknown' })]);
  });

  it('puts a plain and an HTML body in multipart/alternative, plain first', async () => {
    const rebuilt = await rebuildMessage(message({ html: Buffer.from('<p>Hi</p>'), internetCodepage: 65001, body: 'Hi' }), context);
    const text = rebuilt.bytes.toString('latin1');
    expect(headerOf(rebuilt.bytes)).toMatch(/Content-Type: multipart\/alternative/);
    expect(text.indexOf('text/plain')).toBeLessThan(text.indexOf('text/html'));
    const parsed = await simpleParser(rebuilt.bytes);
    expect(parsed.text?.trim()).toBe('Hi');
    expect(parsed.html).toBe('<p>Hi</p>');
  });

  it('draws each message its own random boundary, in the form mail-composer gives it', async () => {
    const boundaries = new Set<string>();
    for (let i = 0; i < 600; i++) {
      const rebuilt = await rebuildMessage(message({ html: Buffer.from('<p>Hi</p>'), internetCodepage: 65001, body: 'Hi' }), context);
      const boundary = /boundary="([^"]+)"/.exec(headerOf(rebuilt.bytes))![1]!;
      expect(boundary).toMatch(/^--_NmP-[0-9a-f]{16}-Part_1$/);
      boundaries.add(boundary);
    }
    // More messages than one draw of the pool (512) gives boundaries for: all different.
    expect(boundaries.size).toBe(600);
  });
});

describe('text bodies are text: Japanese comes out as written', () => {
  const text = '山田様\r\n\r\nいつもお世話になっております。①㈱～−\r\n半角ｶﾀｶﾅも。\r\n';
  it.each([50220, 932, 51932, 65001, null])('a message of code page %s', async (codepage) => {
    const rebuilt = await rebuildMessage(message({ body: text, internetCodepage: codepage, messageCodepage: codepage === null ? null : 932 }), context);
    const parsed = await simpleParser(rebuilt.bytes);
    expect(parsed.text).toBe(text.replace(/\r\n/g, '\n'));
    expect(rebuilt.bytes.toString('latin1')).toMatch(/Content-Type: text\/plain; charset=UTF-8/);
    expect(/[^\x00-\x7f]/.test(rebuilt.bytes.toString('latin1'))).toBe(false);
  });
});

describe('attachments', () => {
  const png = Buffer.from('89504e470d0a1a0a0000000d4948445200000001', 'hex');

  it('keeps Japanese file names (RFC 2231) and the bytes', async () => {
    const bytes = Buffer.from([0, 1, 2, 255, 13, 10, 10, 13]);
    const rebuilt = await rebuildMessage(
      message({ attachments: [attachment({ filename: '見積書 2024年度（最終版）.xlsx', bytes })] }),
      context,
    );
    expect(rebuilt.bytes.toString('latin1')).toMatch(/filename\*0?\*?=utf-8''/i);
    const parsed = await simpleParser(rebuilt.bytes);
    expect(parsed.attachments).toHaveLength(1);
    expect(parsed.attachments[0].filename).toBe('見積書 2024年度（最終版）.xlsx');
    expect(parsed.attachments[0].contentType).toBe('application/vnd.openxmlformats-officedocument.spreadsheetml.sheet');
    expect(sha256(parsed.attachments[0].content)).toBe(sha256(bytes));
  });

  it('takes the content type from PR_ATTACH_MIME_TAG before the extension', async () => {
    const parsed = await simpleParser(
      (await rebuildMessage(message({ attachments: [attachment({ filename: 'scan.dat', mimeTag: 'image/tiff' })] }), context)).bytes,
    );
    expect(parsed.attachments[0].contentType).toBe('image/tiff');
  });

  it('puts images the HTML refers to by Content-ID into multipart/related, inline', async () => {
    const rebuilt = await rebuildMessage(
      message({
        html: Buffer.from('<p><img src="cid:image001.png@01DA0000.12345670"></p>'),
        internetCodepage: 20127,
        attachments: [
          attachment({ filename: 'image001.png', contentId: 'image001.png@01DA0000.12345670', bytes: png, hidden: true }),
          attachment({ index: 1, filename: 'report.pdf', contentId: 'unused@x', bytes: Buffer.from('%PDF-1.4') }),
        ],
      }),
      context,
    );
    const text = rebuilt.bytes.toString('latin1');
    expect(text).toMatch(/Content-Type: multipart\/related; type="text\/html"/);
    const parsed = await simpleParser(rebuilt.bytes, { keepCidLinks: true });
    const image = parsed.attachments.find((item) => item.filename === 'image001.png')!;
    expect(image.contentDisposition).toBe('inline');
    expect(image.contentId).toBe('<image001.png@01DA0000.12345670>');
    expect(image.related).toBe(true);
    expect(sha256(image.content)).toBe(sha256(png));
    const pdf = parsed.attachments.find((item) => item.filename === 'report.pdf')!;
    expect(pdf.contentDisposition).toBe('attachment');
    expect(pdf.related).toBeFalsy();
  });

  it('rebuilds embedded messages as message/rfc822, recursively', async () => {
    const innermost = message({ subject: '第三階層', internetMessageId: '<inner2@x>', attachments: [attachment({ filename: 'deep.txt', bytes: Buffer.from('deep') })] });
    const inner = message({
      subject: '転送: 第二階層',
      internetMessageId: null,
      transportHeaders: 'Subject: =?UTF-8?B?6Lui6YCBOiDnrKzkuozpmo7lsaQ=?=\r\nFrom: a@example.jp\r\n',
      attachments: [attachment({ method: 'embedded', filename: '第三階層', embedded: () => innermost })],
    });
    const rebuilt = await rebuildMessage(message({ attachments: [attachment({ method: 'embedded', filename: '', embedded: () => inner })] }), context);
    const parsed = await simpleParser(rebuilt.bytes);
    expect(parsed.attachments).toHaveLength(1);
    expect(parsed.attachments[0].contentType).toBe('message/rfc822');
    expect(parsed.attachments[0].contentDisposition).toBe('attachment');
    expect(parsed.attachments[0].filename).toBe('転送: 第二階層');
    const second = await simpleParser(parsed.attachments[0].content);
    expect(second.subject).toBe('転送: 第二階層');
    expect(second.messageId).toMatch(/@pst2imap\.invalid>$/);
    const third = await simpleParser(second.attachments[0].content);
    expect(third.subject).toBe('第三階層');
    expect(third.attachments[0].content.toString()).toBe('deep');
  });

  it('reads a large attachment from the PST a slice at a time, never whole, and needs no copy to move the message', async () => {
    const data = Buffer.alloc(3 * 1024 * 1024);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7919) & 0xff;
    const reads: number[] = [];
    let wholeReads = 0;
    const open = () => {
      let at = 0;
      return {
        length: data.length,
        read: (into: Buffer) => {
          reads.push(into.length);
          at += data.copy(into, 0, at, at + into.length);
        },
      };
    };
    const content = () => {
      wholeReads += 1;
      return Buffer.from(data);
    };
    const rebuilt = await rebuildMessage(message({ attachments: [attachment({ filename: 'big.bin', bytes: data, content, open })] }), context);
    const parsed = await simpleParser(rebuilt.bytes);
    expect(parsed.attachments).toHaveLength(1);
    expect(sha256(parsed.attachments[0]!.content)).toBe(sha256(data));
    expect(wholeReads).toBe(0);
    expect(Math.max(...reads)).toBeLessThanOrEqual(64 * 1024);
    expect(reads.reduce((sum, n) => sum + n, 0)).toBe(data.length);
    // Memory of its own, little more than the message: the reader thread moves it to the engine as it is.
    expect(rebuilt.bytes.byteOffset).toBe(0);
    expect(rebuilt.bytes.buffer.byteLength - rebuilt.bytes.length).toBeLessThan(64 * 1024);
  });

  it('reads an attachment up to 1 MB whole, in one read; after a failed read, reads it as the library does, else leaves it out', async () => {
    const data = Buffer.alloc(UP_FRONT_MAX_BYTES, 9);
    const reads: number[] = [];
    let wholeReads = 0;
    const open = (fails: boolean) => () => ({
      length: data.length,
      read: (into: Buffer) => {
        reads.push(into.length);
        if (fails) throw new Error('block 3 is damaged');
        data.copy(into);
      },
    });
    const content = () => {
      wholeReads += 1;
      return Buffer.from(data);
    };
    const rebuilt = await rebuildMessage(
      message({
        attachments: [
          attachment({ index: 0, filename: 'whole.bin', bytes: data, open: open(false), content }),
          attachment({ index: 1, filename: 'second-try.bin', bytes: data, open: open(true), content }),
          attachment({ index: 2, filename: 'broken.bin', bytes: data, open: open(true), content: () => { throw new Error('block 3 is damaged'); } }),
        ],
      }),
      context,
    );
    expect(reads).toEqual([data.length, data.length, data.length]);
    // Only the attachment whose read failed was read again, and the message was not built a second time.
    expect(wholeReads).toBe(1);
    expect(rebuilt.warnings).toEqual([{ code: 'attachment-unreadable', detail: 'broken.bin: block 3 is damaged' }]);
    const parsed = await simpleParser(rebuilt.bytes);
    expect(parsed.attachments.map((part) => part.filename)).toEqual(['whole.bin', 'second-try.bin']);
    for (const part of parsed.attachments) expect(sha256(part.content)).toBe(sha256(data));
  });

  it('leaves out with a warning an attachment that fails part way through, and frees what was read whole', async () => {
    // Over UP_FRONT_MAX_BYTES: read a slice at a time.
    const data = Buffer.alloc(UP_FRONT_MAX_BYTES + 200_000, 5);
    const failing = () => {
      let reads = 0;
      return {
        length: data.length,
        read: (into: Buffer) => {
          if (++reads === 2) throw new Error('block 7 is damaged');
          data.copy(into);
        },
      };
    };
    const handedOut: Buffer[] = [];
    const rebuilt = await rebuildMessage(
      message({
        attachments: [
          attachment({ index: 0, filename: 'broken.bin', bytes: data, open: failing, content: () => { throw new Error('block 7 is damaged'); } }),
          attachment({ index: 1, filename: 'fine.bin', bytes: data, content: () => (handedOut.push(Buffer.from(data)), handedOut.at(-1)!) }),
        ],
      }),
      context,
    );
    expect(rebuilt.warnings).toEqual([{ code: 'attachment-unreadable', detail: 'broken.bin: block 7 is damaged' }]);
    const parsed = await simpleParser(rebuilt.bytes);
    expect(parsed.attachments.map((part) => part.filename)).toEqual(['fine.bin']);
    expect(sha256(parsed.attachments[0]!.content)).toBe(sha256(data));
    // Built the second time with each attachment read whole: that buffer was let go once written.
    expect(handedOut.length).toBeGreaterThan(0);
    expect(handedOut.at(-1)!.length).toBe(0);
  });

  it('keeps OLE objects as their bytes and reports by-reference and unreadable ones', async () => {
    const rebuilt = await rebuildMessage(
      message({
        attachments: [
          attachment({ method: 'ole', filename: '', bytes: Buffer.from('OLE') }),
          attachment({ index: 1, method: 'by-reference', filename: 'link.docx', pathname: '\\\\server\\share\\link.docx' }),
          attachment({ index: 2, filename: 'broken.bin', content: () => { throw new Error('block 42 is damaged'); } }),
          attachment({ index: 3, method: 'embedded', filename: 'gone.msg', embedded: () => null }),
        ],
      }),
      context,
    );
    expect(rebuilt.warnings.map((warning) => warning.code).sort()).toEqual(['attachment-by-reference', 'attachment-ole', 'attachment-unreadable', 'embedded-unreadable']);
    expect(rebuilt.warnings.find((warning) => warning.code === 'attachment-unreadable')!.detail).toContain('block 42 is damaged');
    expect(rebuilt.warnings.find((warning) => warning.code === 'attachment-by-reference')!.detail).toContain('\\\\server\\share\\link.docx');
    const parsed = await simpleParser(rebuilt.bytes);
    expect(parsed.attachments.map((item) => item.content.toString())).toEqual(['OLE']);
  });

  it('keeps a lone attachment of a message without body as an attachment, not as the message', async () => {
    const parsed = await simpleParser((await rebuildMessage(message({ body: null, attachments: [attachment({ filename: 'a.pdf' })] }), context)).bytes);
    expect(parsed.attachments.map((item) => item.filename)).toEqual(['a.pdf']);
  });
});

describe('flags and INTERNALDATE', () => {
  it.each([
    [{ messageFlags: 0x1 }, ['\\Seen']],
    [{ messageFlags: 0x0 }, []],
    [{ flagStatus: 2 }, ['\\Flagged']],
    [{ flagStatus: 1 }, []],
    [{ lastVerbExecuted: 102 }, ['\\Answered']],
    [{ lastVerbExecuted: 103 }, ['\\Answered']],
    [{ lastVerbExecuted: 104 }, ['$Forwarded']],
    [{ messageFlags: 0x9 }, ['\\Seen', '\\Draft']],
  ] as Array<[Partial<PstMessage>, string[]]>)('%j gives %j', async (overrides, flags) => {
    expect((await rebuildMessage(message(overrides), context)).flags).toEqual(flags);
  });

  it('dates received mail by delivery, sent mail by submit, the rest by creation or change', async () => {
    expect((await rebuildMessage(message(), context)).internalDate?.toISOString()).toBe('2024-04-01T09:00:05.000Z');
    expect((await rebuildMessage(message(), sent)).internalDate?.toISOString()).toBe('2024-04-01T09:00:00.000Z');
    const local = message({ messageDeliveryTime: null, clientSubmitTime: null });
    expect((await rebuildMessage(local, context)).internalDate?.toISOString()).toBe('2024-04-01T09:00:06.000Z');
    expect((await rebuildMessage({ ...local, creationTime: null }, context)).internalDate?.toISOString()).toBe('2024-04-02T10:00:00.000Z');
  });
});

/** PR_RTF_COMPRESSED in its uncompressed form ([MS-OXRTFCP] 2.1.3.1: COMPTYPE "MELA", CRC 0). */
function storedRtf(rtf: string | Buffer): Buffer {
  const raw = Buffer.isBuffer(rtf) ? rtf : Buffer.from(rtf, 'latin1');
  const header = Buffer.alloc(16);
  header.writeUInt32LE(raw.length + 12, 0);
  header.writeUInt32LE(raw.length, 4);
  header.writeUInt32LE(0x414c454d, 8);
  header.writeUInt32LE(0, 12);
  return Buffer.concat([header, raw]);
}

describe('RTF bodies', () => {
  it('takes the HTML out of RTF that encapsulates it, Japanese included', async () => {
    const rtf = String.raw`{\rtf1\ansi\ansicpg932\fromhtml1 \deff0{\fonttbl{\f0\fmodern MS Gothic;}}{\*\htmltag64 <p>}\htmlrtf {\htmlrtf0 \'93\'fa\'96\'7b\'8c\'ea\u12513?{\*\htmltag72 </p>}\htmlrtf }\htmlrtf0 }`;
    const rebuilt = await rebuildMessage(message({ body: null, rtfCompressed: storedRtf(rtf) }), context);
    const parsed = await simpleParser(rebuilt.bytes);
    expect(parsed.html).toBe('<p>日本語メ</p>');
    expect(rebuilt.bytes.toString('latin1')).toContain('Content-Type: text/html; charset=UTF-8');
    expect(rebuilt.warnings).toEqual([]);
  });

  it('takes the text out of RTF that wraps plain text', async () => {
    const rtf = String.raw`{\rtf1\ansi\ansicpg1252\fromtext \deff0{\fonttbl{\f0\fswiss Arial;}}\f0 Caf\'e9 au lait\par second line}`;
    const parsed = await simpleParser((await rebuildMessage(message({ body: null, rtfCompressed: storedRtf(rtf) }), context)).bytes);
    expect(parsed.text?.trim()).toBe('Café au lait\nsecond line');
    expect(parsed.attachments).toEqual([]);
  });

  it('keeps native RTF as an attachment beside a plain body, derived from the RTF when PR_BODY is empty', async () => {
    const rtf = String.raw`{\rtf1\ansi\ansicpg932\deff0{\fonttbl{\f0\fnil\fcharset128 MS Mincho;}}\f0\b \'8f\'64\'97\'76\b0\par \u26085?\u26412?}`;
    const rebuilt = await rebuildMessage(message({ body: null, rtfCompressed: storedRtf(rtf) }), context);
    expect(rebuilt.warnings.map((warning) => warning.code)).toEqual(['rtf-kept-as-attachment']);
    const parsed = await simpleParser(rebuilt.bytes);
    expect(parsed.text?.trim()).toBe('重要\n日本');
    expect(parsed.attachments.map((item) => [item.filename, item.contentType, item.content.toString('latin1')])).toEqual([['message.rtf', 'application/rtf', rtf]]);
  });

  it('leaves out RTF that only renders a plain native body (PidTagNativeBody 1)', async () => {
    const rtf = String.raw`{\rtf1\ansi\deff0{\fonttbl{\f0 Arial;}}\f0 Plain\par}`;
    const rebuilt = await rebuildMessage(message({ body: 'Plain\r\n', nativeBody: 1, rtfCompressed: storedRtf(rtf) }), context);
    expect(rebuilt.warnings).toEqual([]);
    expect((await simpleParser(rebuilt.bytes)).attachments).toEqual([]);
  });

  it('prefers PR_HTML to any RTF', async () => {
    const rtf = String.raw`{\rtf1\ansi\fromhtml1 {\*\htmltag64 <p>}RTF{\*\htmltag72 </p>}}`;
    const parsed = await simpleParser((await rebuildMessage(message({ html: Buffer.from('<p>HTML</p>'), internetCodepage: 65001, rtfCompressed: storedRtf(rtf) }), context)).bytes);
    expect(parsed.html).toBe('<p>HTML</p>');
  });
});

describe('meeting requests', () => {
  it('get back the text/calendar part they were sent with, beside the body', async () => {
    const request = message({
      messageClass: 'IPM.Schedule.Meeting.Request',
      subject: '定例会議',
      appointment: {
        start: new Date('2024-04-02T01:00:00Z'), end: new Date('2024-04-02T02:00:00Z'), allDay: false, location: '会議室A', recurrence: null,
        organizer: { name: 'Taro Yamada', email: 'taro@example.jp', addressType: 'SMTP' }, busyStatus: 'busy', globalObjectId: '0400AB',
      },
    });
    const rebuilt = await rebuildMessage(request, context);
    const text = rebuilt.bytes.toString('latin1');
    expect(headerOf(rebuilt.bytes)).toMatch(/Content-Type: multipart\/alternative/);
    expect(text).toContain('Content-Type: text/calendar; charset=UTF-8; method=REQUEST');
    const parsed = await simpleParser(rebuilt.bytes);
    const calendar = parsed.attachments.find((part) => part.contentType === 'text/calendar')!.content.toString('utf8');
    expect(calendar.split('\r\n')).toEqual(expect.arrayContaining(['METHOD:REQUEST', 'DTSTART:20240402T010000Z', 'LOCATION:会議室A', 'UID:0400AB', 'ORGANIZER;CN="Taro Yamada":mailto:taro@example.jp']));
    expect(parsed.text?.trim()).toBe('Hello there.');
    // Plain mail and responses get none.
    expect((await rebuildMessage({ ...request, messageClass: 'IPM.Schedule.Meeting.Resp.Pos' }, context)).bytes.toString('latin1')).not.toContain('text/calendar');
  });
});

describe('attached message files', () => {
  it('stay message/rfc822 when they are a clean 7-bit message, and go as base64 bytes when not', async () => {
    const clean = Buffer.from('Subject: saved\r\nFrom: a@example.jp\r\n\r\nbody\r\n');
    const unix = Buffer.from('Subject: saved\nFrom: a@example.jp\n\n本文\n');
    const rebuilt = await rebuildMessage(
      message({ attachments: [attachment({ filename: 'clean.eml', bytes: clean }), attachment({ index: 1, filename: 'unix.eml', bytes: unix })] }),
      context,
    );
    expect(rebuilt.bytes.toString('latin1')).not.toMatch(/[^\r]\n|[\x80-\xff]/);
    const parsed = await simpleParser(rebuilt.bytes);
    const [first, second] = parsed.attachments;
    expect([first.filename, first.contentType]).toEqual(['clean.eml', 'message/rfc822']);
    expect(sha256(first.content)).toBe(sha256(clean));
    // (mailparser guesses message/rfc822 from the name; the part itself says otherwise)
    expect(rebuilt.bytes.toString('latin1')).toContain('Content-Type: application/octet-stream; name=unix.eml\r\nContent-Transfer-Encoding: base64');
    expect(second.filename).toBe('unix.eml');
    expect(sha256(second.content)).toBe(sha256(unix));
  });

  it('folds a stored header line longer than 998 octets', async () => {
    const long = `X-Long: ${Array.from({ length: 300 }, (_, i) => `word${i}`).join(' ')}`;
    const rebuilt = await rebuildMessage(message({ transportHeaders: `From: a@example.jp\r\n${long}\r\n` }), context);
    const lines = headerOf(rebuilt.bytes).split('\r\n');
    expect(lines.every((line) => line.length <= 998)).toBe(true);
    expect((await simpleParser(rebuilt.bytes)).headers.get('x-long')).toBe(long.slice('X-Long: '.length));
  });
});

it('takes the sender\'s address for From when the represented sender is stored without one', async () => {
  const rebuilt = await rebuildMessage(message({ sentRepresenting: { name: 'Taro Yamada', email: '', addressType: 'SMTP' } }), sent);
  const parsed = await simpleParser(rebuilt.bytes);
  expect(parsed.from?.value).toEqual([{ name: 'Taro Yamada', address: 'taro@example.jp' }]);
  expect(parsed.headers.has('sender')).toBe(false);
  expect(rebuilt.warnings).toEqual([]);
});
