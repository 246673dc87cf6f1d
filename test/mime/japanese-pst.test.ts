/**
 * Japanese mail end to end: a PST written by the project's own writer (fixtures/writer) from a spec, read
 * by the PST layer, rebuilt, parsed back with mailparser and compared with the spec itself, so that the
 * expected values come from outside the reader and the rebuild. HTML bodies in ISO-2022-JP, Shift_JIS and
 * UTF-8 (the writer has no EUC-JP encoder; EUC-JP is checked on plain data in rebuild.test.ts), Japanese
 * subjects, names, text bodies, attachment names and embedded messages.
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
/** NEC row 13 (①, ㈱) travels in every Japanese charset Windows writes; IBM extensions (髙, 﨑) only in
 * Shift_JIS (CP932) and Unicode, not in ISO-2022-JP. */
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

function itemsOf(file: string): { items: Item[]; fingerprint: string; read: (nid: number) => ReturnType<ReturnType<typeof openPst>['readMessage']>; close: () => void } {
  const reader = openPst(file);
  const items: Item[] = [];
  for (const folder of reader.root.children) {
    const specs = folder.name === '受信トレイ' ? received : folder.name === '送信済みアイテム' ? sent : [];
    const summaries = [...reader.items(folder)].filter((entry) => !isReadProblem(entry)) as MessageSummary[];
    expect(summaries).toHaveLength(specs.length);
    // The writer keeps the spec's order in the contents table.
    summaries.forEach((summary, index) => items.push({ spec: specs[index], folder, summary }));
  }
  return { items, fingerprint: reader.store.fingerprint, read: (nid) => reader.readMessage(nid), close: () => reader.close() };
}

const addressList = (value: AddressObject | AddressObject[] | undefined) =>
  (value === undefined ? [] : Array.isArray(value) ? value : [value]).flatMap((object) => object.value.map((entry) => ({ name: entry.name, address: entry.address })));

it('rebuilds Japanese mail written from a spec with its subjects, names, bodies (HTML byte for byte) and attachments', async () => {
  const file = join(work, 'japanese.pst');
  writePst(spec, file);
  const pst = itemsOf(file);
  try {
    expect(pst.items).toHaveLength(4);
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
