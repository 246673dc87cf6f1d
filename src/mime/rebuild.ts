/**
 * One PST item rebuilt as the message it was: RFC 5322 bytes, IMAP flags and INTERNALDATE.
 *
 * The MIME tree is built by nodemailer's mail-composer. Two of its habits are guarded against here:
 * - it labels an HTML body given as `html` 'text/html; charset=utf-8' whatever its bytes are, so bodies
 *   go in as `alternatives` with their own Content-Type and as Buffers, which it never relabels;
 * - it invents a Message-ID and a Date (now) when none is given, so both are always given: the PST's,
 *   else a Message-ID derived from the store and the item, so that a re-run derives the same one.
 * Received mail keeps the headers it arrived with (PR_TRANSPORT_MESSAGE_HEADERS) less those that described
 * its original MIME structure: the header block nodemailer writes is replaced by them.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import MailComposer from 'nodemailer/lib/mail-composer';
import { detectMimeType } from 'nodemailer/lib/mime-funcs';
import type { PstAddress, PstAttachment, PstMessage } from '../pst/types.js';
import { chooseBody, type BodyPart } from './body.js';
import { meetingInvitation } from './other.js';
import { imapFlags, internalDate, isOwnMail, usesStoredHeaders } from './flags.js';
import { asciiField, fieldValue, findField, isStructureField, splitHeaderFields, type HeaderField } from './headers.js';
import { base64Size, encodePartsUpFront, releaseBytes, releaseParts, slicedStream, treeSource, UP_FRONT_MAX_BYTES, writeMessage } from './output.js';
import type { RebuildContext, RebuildWarning, RebuiltMessage } from './types.js';

type Address = { name: string; address: string };
type ComposerAttachment = {
  /** The bytes, or (base64 attachments) a stream of slices of them. */
  content: Buffer | Readable;
  /** Length of the bytes. */
  size: number;
  /** Bytes read for this message alone, released once it is written. */
  owned?: Buffer;
  contentType: string;
  contentDisposition: 'attachment' | 'inline';
  filename: string | false;
  cid?: string;
  headers?: Record<string, string>;
  contentTransferEncoding?: string;
};

/** Nesting of embedded messages beyond this is kept as the attachment it is, not rebuilt further. */
const MAX_EMBEDDED_DEPTH = 32;

/**
 * Rebuilds one item. Never throws for what the item holds: what cannot be carried is in `warnings`.
 * Throws only when the item itself cannot be read (the PST layer's PstError).
 */
export async function rebuildMessage(message: PstMessage, context: RebuildContext): Promise<RebuiltMessage> {
  const seed = `${context.storeFingerprint}:${message.nid}`;
  try {
    return await rebuild(message, context, seed, 0, true);
  } catch (error) {
    // An attachment that failed part way through, read a slice at a time: the message is built again
    // with each attachment read whole first, so that one that cannot be read is left out with a
    // warning, as always.
    if (!(error instanceof AttachmentReadError)) throw error;
    return rebuild(message, context, seed, 0, false);
  }
}

/** A slice of an attachment could not be read while the message was being written. */
class AttachmentReadError extends Error {}

async function rebuild(message: PstMessage, context: RebuildContext, seed: string, depth: number, sliced: boolean): Promise<RebuiltMessage> {
  const warnings: RebuildWarning[] = [];
  const own = isOwnMail(message, context);
  const fields = usesStoredHeaders(message, context) ? splitHeaderFields(message.transportHeaders ?? '') : [];
  const received = fields.some((field) => !isStructureField(field.name));

  // Received mail carries the Message-ID of its stored headers (the bytes must agree with `messageId`),
  // else PR_INTERNET_MESSAGE_ID, else a derived one.
  const headerId = received ? cleanMessageId(fieldValue(findField(fields, 'Message-ID') ?? { name: '', raw: ':' })) : null;
  const storedId = headerId ?? cleanMessageId(message.internetMessageId);
  const messageId = storedId ?? derivedMessageId(message, seed);
  const date = headerDate(message);

  const body = chooseBody(message, warnings);
  const attachments = await composeAttachments(message, context, seed, depth, body.html, warnings, sliced);
  if (body.rtfAttachment) {
    attachments.push({
      content: body.rtfAttachment,
      size: body.rtfAttachment.length,
      contentType: 'application/rtf',
      contentDisposition: 'attachment',
      filename: 'message.rtf',
    });
  }

  const alternatives = [];
  // Always a text part, even an empty one: without any, mail-composer would make a lone attachment
  // the whole message.
  const text = body.text ?? (body.html ? null : { bytes: Buffer.alloc(0), charset: 'UTF-8' });
  if (text) alternatives.push(bodyAlternative('text/plain', text));
  if (body.html) alternatives.push(bodyAlternative('text/html', body.html));
  const invitation = meetingInvitation(message);
  if (invitation) {
    alternatives.push({
      content: invitation.bytes,
      contentType: `text/calendar; charset=UTF-8; method=${invitation.method}`,
      contentTransferEncoding: 'base64',
    });
  }

  const mail: Record<string, unknown> = {
    baseBoundary: randomBaseBoundary(),
    alternatives,
    attachments,
    messageId,
    date: date ?? undefined,
    headers: received ? {} : builtHeaders(message),
    // Received mail with a stored Subject keeps it (withStoredHeaders): nodemailer need not encode another.
    subject: received && findField(fields, 'Subject') ? undefined : message.subject,
  };
  const fromStored = received && findField(fields, 'From') !== undefined;
  if (!fromStored) {
    // Received mail whose stored headers lack From gets it from the item, as built mail does.
    // PR_SENT_REPRESENTING is the From; stored with a name but no address, the sender's address is it.
    const representing = message.sentRepresenting?.email ? message.sentRepresenting : (message.sender ?? message.sentRepresenting);
    mail.from = addressOf(representing, warnings) ?? undefined;
  }
  if (!received) {
    const sender = mail.from as Address | undefined;
    const actual = addressOf(message.sender, []);
    Object.assign(mail, {
      sender: actual && sender && actual.address.toLowerCase() !== sender.address.toLowerCase() ? actual : undefined,
      to: recipients(message, 'to', warnings),
      cc: recipients(message, 'cc', warnings),
      bcc: own ? recipients(message, 'bcc', warnings) : undefined,
      inReplyTo: message.inReplyTo ?? undefined,
      references: message.references ?? undefined,
    });
  }
  const node = new MailComposer(mail as ConstructorParameters<typeof MailComposer>[0]).compile();
  // Bcc is left out of generated headers by default (it is for sending); a sent item shows it.
  node.keepBcc = own;
  encodePartsUpFront(node);
  // Written once, into a buffer of about its final size, the header block replaced on the way.
  const header = (generated: string) =>
    received ? withStoredHeaders(generated, fields, headerId !== null, date) : date ? generated : withoutHeader(generated, 'Date');
  let bytes: Buffer;
  try {
    // Straight into the buffer, not through createReadStream() (see writeMessage and treeSource).
    bytes = await writeMessage(treeSource(node), estimatedSize(alternatives, attachments, message.transportHeaders), header);
  } finally {
    releaseParts(node);
    for (const attachment of attachments) {
      // The attachments' bytes were read for this message only (see composeAttachments): let go now.
      if (attachment.owned) releaseBytes(attachment.owned);
      // After a failure, the slices of attachments not reached are never read.
      if (attachment.content instanceof Readable && !attachment.content.readableEnded) attachment.content.destroy();
    }
  }
  return {
    bytes,
    flags: imapFlags(message),
    internalDate: internalDate(message, context),
    messageId,
    messageIdDerived: storedId === null,
    warnings,
  };
}

/** Random bytes for MIME boundaries, drawn 4 KB at a time. */
let boundaryPool = Buffer.alloc(0);
let boundaryAt = 0;

/**
 * The random part of a message's MIME boundaries: 8 random bytes in hex, as mail-composer draws for each
 * node it makes (crypto.randomBytes(8), a call into the crypto library each time), here taken from a pool
 * for the root node, which is given it; the parts under it still draw their own, unused.
 */
export function randomBaseBoundary(): string {
  if (boundaryAt + 8 > boundaryPool.length) {
    boundaryPool = randomBytes(4096);
    boundaryAt = 0;
  }
  boundaryAt += 8;
  return boundaryPool.toString('hex', boundaryAt - 8, boundaryAt);
}

/** A body part as its own bytes, labelled with their charset, never re-encoded. */
function bodyAlternative(type: 'text/plain' | 'text/html', part: BodyPart) {
  return {
    content: part.bytes,
    contentType: `${type}; charset=${part.charset}`,
    // PR_HTML may hold lone CR or LF; base64 carries them as they are. Text (CRLF already) is left to
    // nodemailer: quoted-printable for mostly Latin text, base64 for the rest.
    contentTransferEncoding: type === 'text/html' ? 'base64' : undefined,
  };
}

/** The Date header: when it was sent; else (drafts, items made locally) when it was saved or made. */
function headerDate(message: PstMessage): Date | null {
  return message.clientSubmitTime ?? message.messageDeliveryTime ?? message.creationTime ?? message.lastModificationTime ?? null;
}

/** '<id@host>' as stored, trimmed; null when there is none or it is not a msg-id at all. */
export function cleanMessageId(value: string | null | undefined): string | null {
  const trimmed = (value ?? '').trim();
  if (trimmed === '') return null;
  const inner = trimmed.replace(/^<|>$/g, '').trim();
  // A msg-id is printable ASCII without white space (RFC 5322 3.6.4); anything else is no Message-ID.
  if (inner === '' || /[^\x21-\x7e]|[<>]/.test(inner)) return null;
  return `<${inner}>`;
}

/**
 * A Message-ID for an item that has none (sent items of some clients, drafts, notes): derived from the
 * store's fingerprint, the item's node ID and properties that never change after the item was made, so
 * that a second run derives the same one and the target recognises the message as already there. Not
 * from addresses: an Exchange sender's SMTP address is found through the rest of the PST, which grows.
 */
export function derivedMessageId(message: PstMessage, seed: string): string {
  const stable = [
    seed,
    message.messageClass,
    message.subject,
    message.clientSubmitTime?.toISOString() ?? '',
    message.creationTime?.toISOString() ?? '',
  ].join('\u0000');
  const hash = createHash('sha256').update(stable, 'utf8').digest('hex').slice(0, 32);
  return `<${hash}.${message.nid}@pst2imap.invalid>`;
}

function isSmtp(email: string): boolean {
  return /^[^\s@<>]+@[^\s@<>]+$/.test(email);
}

/**
 * An address for a header. Exchange (EX) addresses the PST could not resolve to SMTP keep their display
 * name and get a placeholder address under .invalid (RFC 2606), so that nothing pretends to be deliverable.
 */
function addressOf(address: PstAddress | null, warnings: RebuildWarning[]): Address | null {
  if (!address || (address.name === '' && address.email === '')) return null;
  if (isSmtp(address.email)) return { name: address.name === address.email ? '' : address.name, address: address.email };
  const cn = /\/cn=([^/]+)$/i.exec(address.email)?.[1] ?? address.name;
  const local = cn.normalize('NFKD').replace(/[^A-Za-z0-9._-]+/g, '.').replace(/^\.+|\.+$/g, '') || 'unknown';
  warnings.push({
    code: 'address-unresolved',
    detail: `${address.name || address.email} (${address.addressType || 'no type'}): no SMTP address in the PST`,
  });
  return { name: address.name, address: `${local}@unresolved.invalid` };
}

function recipients(message: PstMessage, type: 'to' | 'cc' | 'bcc', warnings: RebuildWarning[]): Address[] | undefined {
  const list = message.recipients
    .filter((recipient) => recipient.type === type)
    .map((recipient) => addressOf(recipient, warnings))
    .filter((address): address is Address => address !== null);
  return list.length > 0 ? list : undefined;
}

/** Headers of mail rebuilt from properties that nodemailer has no option for. */
function builtHeaders(message: PstMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  // [MS-OXCMAIL] 2.2.3.2.5: PidTagImportance 0 low, 2 high; X-Priority 5 and 1 as Outlook writes them.
  if (message.importance === 2) Object.assign(headers, { Importance: 'high', 'X-Priority': '1' });
  if (message.importance === 0) Object.assign(headers, { Importance: 'low', 'X-Priority': '5' });
  // PidTagPriority: 1 urgent, -1 non-urgent (RFC 2156 Priority).
  if (message.priority === 1) headers.Priority = 'urgent';
  if (message.priority === -1) headers.Priority = 'non-urgent';
  if (message.conversationIndex && message.conversationIndex.length > 0) {
    headers['Thread-Index'] = message.conversationIndex.toString('base64');
  }
  return headers;
}

/**
 * Received mail: the stored header block (less its MIME structure fields) followed by nodemailer's
 * MIME-Version, Content-Type and Content-Transfer-Encoding. A Message-ID or Date missing from the
 * stored block is added from the item. `generated` is nodemailer's header block, without the blank line.
 */
function withStoredHeaders(generatedBlock: string, stored: HeaderField[], keepsMessageId: boolean, date: Date | null): string {
  const generated = splitHeaderFields(generatedBlock);
  const fromGenerated = (name: string) => generated.filter((field) => field.name.toLowerCase() === name.toLowerCase()).map((field) => field.raw);
  // A stored Message-ID that is no msg-id at all is replaced by the one the item gets.
  const kept = stored.filter((field) => !isStructureField(field.name) && (keepsMessageId || field.name.toLowerCase() !== 'message-id'));
  const lines: string[] = kept.map(asciiField);
  if (!keepsMessageId) lines.push(...fromGenerated('Message-ID'));
  if (!findField(stored, 'Date') && date) lines.push(...fromGenerated('Date'));
  for (const name of ['From', 'Subject']) if (!findField(stored, name)) lines.push(...fromGenerated(name));
  for (const field of generated) if (isStructureField(field.name)) lines.push(field.raw);
  return lines.join('\r\n');
}

function withoutHeader(generatedBlock: string, name: string): string {
  const kept = splitHeaderFields(generatedBlock).filter((field) => field.name.toLowerCase() !== name.toLowerCase());
  return kept.map((field) => field.raw).join('\r\n');
}

/**
 * About the size of the message mail-composer will write: its parts' bytes in base64 (or as they are,
 * which is less), the stored headers, and room for the part headers. Short only for text parts that
 * quoted-printable makes larger than base64 would, and then the buffer grows.
 */
function estimatedSize(alternatives: Array<{ content: Buffer }>, attachments: ComposerAttachment[], storedHeaders: string | null): number {
  let size = 16 * 1024 + 2 * (storedHeaders?.length ?? 0);
  for (const part of alternatives) size += base64Size(part.content.length) + 1024;
  for (const part of attachments) size += base64Size(part.size) + 1024;
  return size;
}

/** PR_ATTACH_MIME_TAG when it is a media type at all. */
function contentTypeOf(attachment: PstAttachment): string | undefined {
  const tag = attachment.mimeTag.trim().toLowerCase();
  return /^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+$/.test(tag) ? tag : undefined;
}

/**
 * A message/* part cannot be base64 (RFC 2046 5.2.1), so its bytes go as they are: only bytes that are a
 * valid 7-bit message (CRLF line ends, lines within 998 octets, no NUL) may be labelled so. A saved .eml
 * with bare LF or 8-bit bytes goes as application/octet-stream in base64, its bytes intact.
 */
function safeAttachmentType(type: string, content: Buffer): string {
  if (!/^message\//.test(type)) return type;
  const text = content.toString('latin1');
  const valid = !/[\x00\x80-\xff]/.test(text) && !/[^\r]\n|\r(?!\n)/.test(text) && !text.split('\r\n').some((line) => line.length > 998);
  return valid ? type : 'application/octet-stream';
}

/** Does the HTML refer to this Content-ID (cid:...)? Only then is the part inline in multipart/related. */
function referencedInHtml(html: BodyPart | null, contentId: string): boolean {
  if (!html || contentId === '') return false;
  const id = contentId.replace(/^<|>$/g, '');
  return html.bytes.includes(`cid:${id}`, 0, 'latin1');
}

async function composeAttachments(
  message: PstMessage,
  context: RebuildContext,
  seed: string,
  depth: number,
  html: BodyPart | null,
  warnings: RebuildWarning[],
  sliced: boolean,
): Promise<ComposerAttachment[]> {
  const result: ComposerAttachment[] = [];
  for (const attachment of message.attachments) {
    const label = attachment.filename || `#${attachment.index + 1}`;
    if (attachment.method === 'embedded') {
      let inner: PstMessage | null = null;
      try {
        inner = attachment.embedded();
      } catch {
        inner = null;
      }
      if (!inner || depth >= MAX_EMBEDDED_DEPTH) {
        warnings.push({ code: 'embedded-unreadable', detail: `embedded message ${label} cannot be read` });
        continue;
      }
      // The embedded message is rebuilt as received mail (its own headers, when it kept them).
      const rebuilt = await rebuild(inner, { ...context, folderRole: null, embedded: true }, `${seed}/${attachment.index}`, depth + 1, sliced);
      warnings.push(...rebuilt.warnings.map((warning) => ({ ...warning, detail: `in embedded ${label}: ${warning.detail}` })));
      result.push({
        content: rebuilt.bytes,
        size: rebuilt.bytes.length,
        owned: rebuilt.bytes,
        contentType: 'message/rfc822',
        contentDisposition: 'attachment',
        filename: attachment.filename || inner.subject || false,
      });
      continue;
    }
    if (attachment.method === 'by-reference') {
      const target = attachment.pathname ? ` (${attachment.pathname})` : '';
      warnings.push({ code: 'attachment-by-reference', detail: `${label}: a link to a file outside the PST${target}; only the link was stored` });
      continue;
    }
    if (attachment.method !== 'by-value' && attachment.method !== 'ole') {
      warnings.push({ code: 'attachment-unreadable', detail: `${label}: attachment method ${attachment.method} holds no data` });
      continue;
    }
    const inline = referencedInHtml(html, attachment.contentId);
    const cid = attachment.contentId.replace(/^<|>$/g, '');
    const declaredType = contentTypeOf(attachment) ?? detectType(attachment.filename, attachment.method);
    // A large base64 attachment is read from the PST a slice at a time as it is written (see output.ts);
    // others are read whole and encoded up front, and so is a message/* part, whose bytes decide whether
    // it may stay one.
    let part: Pick<ComposerAttachment, 'content' | 'size' | 'owned'> & { contentType: string };
    try {
      const opened = sliced && !/^message\//.test(declaredType) ? attachment.open() : null;
      if (opened && opened.length > UP_FRONT_MAX_BYTES) {
        part = { content: pstStream(opened, label), size: opened.length, contentType: declaredType };
      } else if (opened) {
        let content: Buffer = Buffer.allocUnsafe(opened.length);
        try {
          if (content.length > 0) opened.read(content);
        } catch {
          // As after a failed slice (rebuildMessage): the library's own reading of it, before giving up.
          content = attachment.content();
        }
        part = { content, size: content.length, owned: content, contentType: declaredType };
      } else {
        const content = attachment.content();
        const contentType = safeAttachmentType(declaredType, content);
        const whole = contentType.startsWith('message/') || content.length <= UP_FRONT_MAX_BYTES ? content : bufferStream(content);
        part = { content: whole, size: content.length, owned: content, contentType };
      }
    } catch (error) {
      warnings.push({ code: 'attachment-unreadable', detail: `${label}: ${error instanceof Error ? error.message : String(error)}` });
      continue;
    }
    if (attachment.method === 'ole') {
      warnings.push({ code: 'attachment-ole', detail: `${label}: an embedded OLE object, kept as its stored bytes` });
    }
    const { contentType } = part;
    // Built field by field, not spread from `part`: see toPstMessage (pst/reader.ts) for what properties
    // added after a spread cost.
    const composed: ComposerAttachment = {
      content: part.content,
      size: part.size,
      contentType,
      contentDisposition: inline ? 'inline' : 'attachment',
      filename: attachment.filename || false,
    };
    if (part.owned) composed.owned = part.owned;
    // base64 keeps every byte; a message/* part is written as it is (7bit, checked above).
    if (!contentType.startsWith('message/')) composed.contentTransferEncoding = 'base64';
    if (inline) composed.cid = cid;
    else if (cid) composed.headers = { 'Content-ID': `<${cid}>` };
    result.push(composed);
  }
  return result;
}

/** Bytes read whole (after a failed slice, see rebuildMessage) too large to encode up front. */
function bufferStream(content: Buffer): Readable {
  return slicedStream(content.length, (at, size) => content.subarray(at, at + size));
}

/** An attachment read from the PST a slice at a time as the encoder takes it: never held whole. */
function pstStream(opened: ReturnType<PstAttachment['open']>, label: string): Readable {
  return slicedStream(opened.length, (_at, size) => {
    const slice = Buffer.allocUnsafe(size);
    try {
      opened.read(slice);
    } catch (error) {
      throw new AttachmentReadError(`${label}: ${error instanceof Error ? error.message : String(error)}`);
    }
    return slice;
  });
}

function detectType(filename: string, method: PstAttachment['method']): string {
  if (method === 'ole' || !/\.[^.]+$/.test(filename)) return 'application/octet-stream';
  return detectMimeType(filename);
}
