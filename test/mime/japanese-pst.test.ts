/**
 * Japanese mail end to end: a PST written by the project's own writer (fixtures/writer) from a spec, read
 * by the PST layer, rebuilt, parsed back with mailparser and compared with the spec itself, so that the
 * expected values come from outside the reader and the rebuild. HTML bodies in ISO-2022-JP, Shift_JIS,
 * EUC-JP and UTF-8, Japanese subjects, names, text bodies, attachment names and embedded messages; in a
 * Unicode PST and in an ANSI one (8-bit strings in code page 932).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleParser, type AddressObject } from 'mailparser';
import { writePst } from '../../fixtures/writer/pst-writer.js';
import type { MessageSpec, PstSpec } from '../../fixtures/writer/spec.js';
import { encodeInCodepage } from '../../fixtures/writer/codepages.js';
import { rebuildMessage } from '../../src/mime/index.js';
import { openPst, isReadProblem, type MessageSummary, type PstFolder } from '../../src/pst/index.js';
import { htmlPartBytes, sha256 } from './fidelity.js';

const work = mkdtempSync(join(tmpdir(), 'pst2imap-japanese-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const yamada = { name: '山田 太郎', email: 'yamada@example.co.jp' };
const sato = { name: '佐藤 花子', email: 'sato@example.jp' };
const suzuki = { name: '鈴木 一郎', email: 'suzuki@example.co.jp' };
/** NEC row 13 (①, ㈱) travels in every Japanese charset Windows writes; IBM extensions (髙, 﨑) in
 * Shift_JIS (CP932), EUC-JP (51932: the NEC-selected rows 89-92) and Unicode, not in ISO-2022-JP. */
const html = (text: string, ibm = true) => `<html><head></head><body><p>${text}</p><p>①②③ ㈱${ibm ? ' 髙橋 﨑' : ''}</p></body></html>`;

const received: MessageSpec[] = [
  {
    subject: '【ISO-2022-JP】お見積もりの件',
    from: yamada,
    recipients: [{ ...sato, type: 'to' }, { ...suzuki, type: 'cc' }],
    body: 'いつもお世話になっております。\r\n見積書を添付いたします。\r\n',
    html: { html: html('いつもお世話になっております。', false), codepage: 50220 },
    internetMessageId: '<iso2022jp-1@example.co.jp>',
    submitTime: '2019-04-01T00:30:00Z',
    deliveryTime: '2019-04-01T00:30:07Z',
    read: true,
    attachments: [
      { filename: '御見積書（2019年度）.pdf', mimeTag: 'application/pdf', content: { base64: Buffer.from('%PDF-1.4 見積').toString('base64') } },
    ],
  },
  {
    subject: '【Shift_JIS】会議室の予約について',
    from: sato,
    recipients: [{ ...yamada, type: 'to' }],
    body: '会議室を予約しました。',
    html: { html: html('会議室を予約しました。'), codepage: 932 },
    internetMessageId: '<sjis-1@example.jp>',
    submitTime: '2019-05-10T01:00:00Z',
    deliveryTime: '2019-05-10T01:00:03Z',
    flagStatus: 2,
  },
  {
    subject: '【UTF-8】納品のご連絡 🚚',
    from: suzuki,
    recipients: [{ ...yamada, type: 'to' }],
    body: '本日発送いたしました。',
    html: { html: html('本日発送いたしました。🚚'), codepage: 65001 },
    internetMessageId: '<utf8-1@example.co.jp>',
    submitTime: '2019-06-20T02:00:00Z',
    deliveryTime: '2019-06-20T02:00:09Z',
    lastVerbExecuted: 104,
    attachments: [
      {
        filename: '転送: 元のメール',
        message: {
          subject: '元のメール（埋め込み）',
          from: sato,
          recipients: [{ ...suzuki, type: 'to' }],
          body: '埋め込まれたメッセージの本文。',
          internetMessageId: '<inner-1@example.jp>',
          submitTime: '2019-06-19T09:00:00Z',
          attachments: [{ filename: '資料・一覧.xlsx', content: { text: 'データ' } }],
        },
      },
    ],
  },
];

received.push({
  subject: '【EUC-JP】髙橋様 資料①～③の送付',
  from: { name: '髙橋 美咲', email: 'takahashi@example.co.jp' },
  recipients: [{ ...yamada, type: 'to' }, { name: '﨑山 一郎', email: 'sakiyama@example.co.jp', type: 'cc' }],
  body: '資料①～③をお送りします。',
  html: { html: html('資料①～③をお送りします。'), codepage: 51932 },
  internetMessageId: '<eucjp-1@example.co.jp>',
  submitTime: '2019-08-05T04:00:00Z',
  deliveryTime: '2019-08-05T04:00:02Z',
  read: true,
  attachments: [{ filename: '資料①～③（髙橋）.txt', mimeTag: 'text/plain', content: { text: '髙橋 美咲\n﨑山 一郎\n' } }],
});

const sent: MessageSpec[] = [
  {
    subject: '【送信済み】打ち合わせのお礼',
    from: yamada,
    recipients: [{ ...sato, type: 'to' }, { ...suzuki, type: 'bcc' }],
    body: '先日はありがとうございました。\r\n今後ともよろしくお願いいたします。',
    submitTime: '2019-07-01T03:00:00Z',
    read: true,
  },
];

const spec: PstSpec = {
  displayName: '日本語のメールボックス',
  encryption: 'compressible',
  folders: [
    { name: '受信トレイ', role: 'inbox', messages: received },
    { name: '送信済みアイテム', role: 'sent', messages: sent },
  ],
};

type Item = { spec: MessageSpec; folder: PstFolder; summary: MessageSummary };

function itemsOf(file: string, pstSpec: PstSpec): { items: Item[]; fingerprint: string; read: (nid: number) => ReturnType<ReturnType<typeof openPst>['readMessage']>; close: () => void } {
  const reader = openPst(file);
  const items: Item[] = [];
  for (const folder of reader.root.children) {
    const specs = pstSpec.folders.find((candidate) => candidate.name === folder.name)?.messages ?? [];
    const summaries = [...reader.items(folder)].filter((entry) => !isReadProblem(entry)) as MessageSummary[];
    expect(summaries).toHaveLength(specs.length);
    // The writer keeps the spec's order in the contents table.
    summaries.forEach((summary, index) => items.push({ spec: specs[index], folder, summary }));
  }
  return { items, fingerprint: reader.store.fingerprint, read: (nid) => reader.readMessage(nid), close: () => reader.close() };
}

const addressList = (value: AddressObject | AddressObject[] | undefined) =>
  (value === undefined ? [] : Array.isArray(value) ? value : [value]).flatMap((object) => object.value.map((entry) => ({ name: entry.name, address: entry.address })));

/**
 * The same mailbox as an ANSI PST: its 8-bit strings (subjects, names, text bodies, attachment names) are
 * in code page 932, which has no emoji, so the strings lose theirs; the HTML bodies are bytes and keep them.
 */
const withoutEmoji = (text: string) => text.replace(/ ?[\u{1F000}-\u{1FFFF}]/gu, '');
const ansiSpec: PstSpec = {
  ...spec,
  format: 'ansi',
  codepage: 932,
  encryption: 'none',
  folders: spec.folders.map((folder) => ({
    ...folder,
    messages: folder.messages!.map((message) => ({ ...message, subject: withoutEmoji(message.subject), body: message.body === undefined ? undefined : withoutEmoji(message.body), messageCodepage: 932 })),
  })),
};

const charsets = (codepage: number) => ({ 50220: /^ISO-2022-JP$/i, 932: /^Shift_JIS$/i, 51932: /^EUC-JP$/i, 65001: /^UTF-8$/i })[codepage]!;

it.each([
  ['Unicode', spec],
  ['ANSI (code page 932)', ansiSpec],
])('rebuilds Japanese mail written from a spec with its subjects, names, bodies (HTML byte for byte) and attachments: %s PST', async (_label, pstSpec) => {
  const file = join(work, `japanese-${pstSpec.format ?? 'unicode'}.pst`);
  writePst(pstSpec, file);
  const pst = itemsOf(file, pstSpec);
  try {
    expect(pst.items).toHaveLength(5);
    expect(pst.items.map((item) => item.spec.html?.codepage).filter((codepage) => codepage !== undefined).sort()).toEqual([50220, 51932, 65001, 932].sort());
    for (const { spec: expected, folder, summary } of pst.items) {
      const message = pst.read(summary.nid);
      const rebuilt = await rebuildMessage(message, { storeFingerprint: pst.fingerprint, folderRole: folder.role });
      expect(rebuilt.bytes.toString('latin1')).not.toMatch(/[\x80-\xff]|[^\r]\n/);
      const parsed = await simpleParser(rebuilt.bytes);
      expect(parsed.subject).toBe(expected.subject);
      expect(addressList(parsed.from)).toEqual([{ name: expected.from!.name, address: expected.from!.email }]);
      for (const type of ['to', 'cc', 'bcc'] as const) {
        const wanted = (expected.recipients ?? []).filter((recipient) => (recipient.type ?? 'to') === type && (type !== 'bcc' || folder.role === 'sent'));
        expect(addressList(parsed[type])).toEqual(wanted.map((recipient) => ({ name: recipient.name, address: recipient.email })));
      }
      expect(parsed.date?.toISOString()).toBe(new Date(expected.submitTime!).toISOString());
      expect(parsed.text?.trim()).toBe(expected.body!.replace(/\r\n/g, '\n').trim());
      if (expected.html) {
        expect(parsed.html).toBe(expected.html.html);
        expect(sha256(htmlPartBytes(rebuilt.bytes)!)).toBe(sha256(encodeInCodepage(expected.html.html, expected.html.codepage)));
        // Labelled with the charset of its code page: the bytes are the PST's, not re-encoded.
        expect(htmlPartCharset(rebuilt.bytes)).toMatch(charsets(expected.html.codepage));
      }
      if (expected.internetMessageId) {
        expect(rebuilt.messageId).toBe(expected.internetMessageId);
      } else {
        expect(rebuilt.messageIdDerived).toBe(true);
      }
      const files = (expected.attachments ?? []).filter((attachment) => !attachment.message);
      const fileParts = parsed.attachments.filter((attachment) => attachment.contentType !== 'message/rfc822');
      expect(fileParts.map((attachment) => attachment.filename)).toEqual(files.map((attachment) => attachment.filename));
      files.forEach((attachment, index) => {
        const content = attachment.content!;
        const bytes = 'text' in content ? Buffer.from(content.text, 'utf8') : 'base64' in content ? Buffer.from(content.base64, 'base64') : null;
        if (bytes) expect(sha256(fileParts[index].content)).toBe(sha256(bytes));
      });
      const embedded = (expected.attachments ?? []).filter((attachment) => attachment.message);
      const messageParts = parsed.attachments.filter((attachment) => attachment.contentType === 'message/rfc822');
      expect(messageParts.map((attachment) => attachment.filename)).toEqual(embedded.map((attachment) => attachment.filename));
      for (const [index, attachment] of embedded.entries()) {
        const inner = await simpleParser(messageParts[index].content);
        expect(inner.subject).toBe(attachment.message!.subject);
        expect(inner.text?.trim()).toBe(attachment.message!.body);
        expect(inner.attachments.map((part) => [part.filename, part.content.toString('utf8')])).toEqual([['資料・一覧.xlsx', 'データ']]);
      }
    }
  } finally {
    pst.close();
  }
});

/** The charset parameter of the first text/html part. */
function htmlPartCharset(message: Buffer): string | null {
  const match = /Content-Type: text\/html;\s*charset="?([^";\r\n]+)"?/i.exec(message.toString('latin1'));
  return match ? match[1] : null;
}
