/**
 * The PST layer: pst2imap's view of a PST or OST file, on top of pst-extractor 1.12.0 (patched at
 * install, see patches/). This is the only module that touches the library; it hands out plain objects
 * (types.ts) and never the library's classes.
 *
 * Where the library is used below its public surface (contents and hierarchy tables, property items),
 * it is to avoid its defects: getNextChild() skips items it cannot read without a word, getSubFolders()
 * throws on search folders, getRecipient(i) re-reads the whole recipient table for every recipient.
 */
import { createHash } from 'node:crypto';
import { readSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { PSTAttachment, PSTFile, PSTFolder, PSTMessage } from 'pst-extractor';
import { PstError } from '../errors.js';
import { classifyMessageClass } from './classify.js';
import { ansiCodepageOfInternetCodepage, ansiCodepageOfLocale, decodeCodepage } from './codepage.js';
import { readPstHeader, type PstHeader } from './header.js';
import { FolderRoles } from './roles.js';
import type {
  AttachMethod,
  ItemShare,
  OpenOptions,
  MessageSummary,
  PstAddress,
  PstAppointmentDetails,
  PstAttachment,
  PstContactDetails,
  PstFolder,
  PstMessage,
  PstReader,
  PstRecipient,
  PstStore,
  PstTaskDetails,
  ReadProblem,
} from './types.js';

const require = createRequire(import.meta.url);
const extractor = require('pst-extractor') as typeof import('pst-extractor');
const { PSTUtil } = require('pst-extractor/dist/PSTUtil.class.js') as {
  PSTUtil: { detectAndLoadPSTObject(file: PSTFile, nid: unknown): unknown; decode(data: Buffer): void };
};
const Long = require('long') as { fromNumber(value: number): unknown };
// The item classes the library picks by message class; its index does not export them.
const { PSTContact } = require('pst-extractor/dist/PSTContact.class.js') as { PSTContact: abstract new (...args: never[]) => PSTMessage };
const { PSTAppointment } = require('pst-extractor/dist/PSTAppointment.class.js') as { PSTAppointment: abstract new (...args: never[]) => PSTMessage };
const { PSTTask } = require('pst-extractor/dist/PSTTask.class.js') as { PSTTask: abstract new (...args: never[]) => PSTMessage };

/** Property tags read here ([MS-OXPROPS]). */
export const TAG = {
  recordKey: 0x0ff9,
  displayName: 0x3001,
  ipmSubtreeEntryId: 0x35e0,
  ltpRowId: 0x67f2,
  senderSmtp: 0x5d01,
  sentRepresentingSmtp: 0x5d02,
  html: 0x1013,
  rtfCompressed: 0x1009,
  internetCodepage: 0x3fde,
  messageCodepage: 0x3ffd,
  messageLocaleId: 0x3ff1,
  messageFlags: 0x0e07,
  flagStatus: 0x1090,
  lastVerbExecuted: 0x1081,
  importance: 0x0017,
  priority: 0x0026,
  conversationIndex: 0x0071,
  inReplyTo: 0x1042,
  references: 0x1039,
  attachmentHidden: 0x7ffe,
  renderingPosition: 0x370b,
  recipientSmtp: 0x39fe,
  nativeBody: 0x1016,
  attachPathname: 0x3708,
  attachLongPathname: 0x370d,
} as const;

/** Named properties ([MS-OXPROPS]): long ID and the index of their property set in the name-to-ID map. */
const PSETID_ADDRESS = 2;
const PSETID_APPOINTMENT = 3;
const PSETID_MEETING = 5;
const PSETID_TASK = 4;
const NAMED = {
  yomiFirstName: [0x802c, PSETID_ADDRESS],
  yomiLastName: [0x802d, PSETID_ADDRESS],
  taskStartDate: [0x8104, PSETID_TASK],
  taskDueDate: [0x8105, PSETID_TASK],
  globalObjectId: [0x0003, PSETID_MEETING],
  recurring: [0x8223, PSETID_APPOINTMENT],
  distributionListOneOffMembers: [0x8054, PSETID_ADDRESS],
} as const;

/** The provider UID of one-off entry IDs ([MS-OXCDATA] 2.2.5.1). */
const ONE_OFF_PROVIDER = Buffer.from('812b1fa4bea310199d6e00dd010f5402', 'hex');

/**
 * One-off entry IDs ([MS-OXCDATA] 2.2.5.1): flags, provider UID, version, flags (0x8000: Unicode), then
 * display name, address type and address as NUL-terminated strings. Null for any other entry ID.
 */
export function parseOneOffEntryId(entryId: Buffer): PstAddress | null {
  if (entryId.length < 24 || !entryId.subarray(4, 20).equals(ONE_OFF_PROVIDER)) return null;
  const unicode = (entryId.readUInt16LE(22) & 0x8000) !== 0;
  const strings: string[] = [];
  let at = 24;
  for (let field = 0; field < 3; field++) {
    let end = at;
    if (unicode) {
      while (end + 1 < entryId.length && (entryId[end] !== 0 || entryId[end + 1] !== 0)) end += 2;
      strings.push(entryId.subarray(at, end).toString('utf16le'));
      at = end + 2;
    } else {
      while (end < entryId.length && entryId[end] !== 0) end++;
      strings.push(entryId.subarray(at, end).toString('latin1'));
      at = end + 1;
    }
  }
  return { name: strings[0], addressType: strings[1].toUpperCase(), email: strings[2] };
}

/** PtypMultipleBinary as stored in a property context ([MS-PST] 2.3.3.4.2): count, offsets, the values. */
export function splitMultipleBinary(data: Buffer): Buffer[] {
  if (data.length < 4) return [];
  const count = data.readUInt32LE(0);
  if (count * 4 + 4 > data.length) return [];
  const offsets = Array.from({ length: count }, (_, index) => data.readUInt32LE(4 + index * 4));
  return offsets.map((offset, index) => data.subarray(offset, index + 1 < count ? offsets[index + 1] : data.length));
}

const NID_TYPE_SEARCH_FOLDER = 0x03;

/** What of the library's table (PSTTable7C) the row-matrix alignment below needs. */
type RowMatrixTable = {
  BLOCK_SIZE: number;
  numberOfDataSets: number;
  TCI_bm: number;
  rowNodeInfo?: { startOffset: number; length(): number; pstNodeInputStream: { indexItems?: Array<{ size: number }>; length: { toNumber(): number } } };
};

/**
 * The library finds row r of a table context in a row matrix of data blocks of 8,176 bytes each, as
 * Outlook writes them: each block padded after its last whole row. [MS-PST] 2.3.4.4.1 only asks that no
 * row span two blocks, and other writers end each block after its last row; the library is told the
 * block size the file actually uses, or it reads rows past the first block from the wrong place.
 */
function alignRowMatrix(table: unknown): void {
  const matrix = table as RowMatrixTable | null;
  const info = matrix?.rowNodeInfo;
  const blocks = info?.pstNodeInputStream.indexItems;
  // Only a row matrix in its own subnode (a data tree of several blocks); one kept in the heap is small.
  if (!matrix || !info || !blocks || blocks.length < 2 || info.startOffset !== 0) return;
  if (info.length() !== info.pstNodeInputStream.length.toNumber()) return;
  const first = blocks[0].size;
  if (first > 0 && first < matrix.BLOCK_SIZE && matrix.TCI_bm > 0 && first % matrix.TCI_bm === 0) {
    matrix.BLOCK_SIZE = first;
    // The row count was worked out with the padded block size: again, as getItems() does.
    const length = info.length();
    matrix.numberOfDataSets = Math.trunc(Math.trunc(length / first) * Math.trunc(first / matrix.TCI_bm) + (length % first) / matrix.TCI_bm);
  }
}

/** The library folder's contents table (private in its types). */
type FolderContents = {
  initEmailsTable(): void;
  emailsTable: { rowCount: number; getItems(start: number, count: number): Array<Map<number, PropertyItem>> } | null;
  fallbackEmailsTable: Array<{ descriptorIdentifier: number }> | null;
};

/** Set on the library's PSTFile: how it decodes string properties (see the patch of PSTObject). */
type StringDecoder = (data: Buffer, stringType: number, messageCodepage: number | null) => string;
const PT_BINARY = 0x0102;
const PT_UNICODE = 0x001f;
const PT_STRING8 = 0x001e;

interface PropertyItem {
  entryValueType: number;
  entryValueReference: number;
  isExternalValueReference: boolean;
  data: Buffer;
}

/** The library's objects keep their properties in `pstTableItems`; typed access for this module. */
type WithProperties = {
  pstTableItems?: Map<number, PropertyItem> | null;
  getBinaryItem(tag: number): Buffer | null;
  getIntItem(tag: number, defaultValue?: number): number;
  getStringItem(tag: number): string;
};

function props(object: unknown): WithProperties {
  return object as WithProperties;
}

function hasProperty(object: unknown, tag: number): boolean {
  return props(object).pstTableItems?.has(tag) ?? false;
}

/** PT_LONG values as signed integers ([MS-OXCDATA] 2.11.1): the library reads them unsigned. */
function intProperty(object: unknown, tag: number): number | null {
  if (!hasProperty(object, tag)) return null;
  return props(object).getIntItem(tag) | 0;
}

function stringProperty(object: unknown, tag: number): string | null {
  if (!hasProperty(object, tag)) return null;
  const value = props(object).getStringItem(tag);
  return value === '' ? null : value;
}

function binaryProperty(object: unknown, tag: number): Buffer | null {
  return hasProperty(object, tag) ? props(object).getBinaryItem(tag) : null;
}

/**
 * `text` without the NULs it ends with (string properties are often stored with their terminator), as
 * text.replace(/\0+$/, '') gives it; without a regular expression, which tries every position of the
 * string (a body of some KB, every time a string property is read).
 */
export function withoutTrailingNuls(text: string): string {
  let end = text.length;
  while (end > 0 && text.charCodeAt(end - 1) === 0) end -= 1;
  return end === text.length ? text : text.slice(0, end);
}

/** The NID inside a 24-byte PST entry ID ([MS-PST] 2.4.3.2): flags, provider UID, then the NID. */
export function nidOfEntryId(entryId: Buffer | null): number | null {
  return entryId && entryId.length >= 24 ? entryId.readUInt32LE(20) : null;
}

/**
 * The library reports its own trouble with console.log / console.error; the PST layer reports problems
 * as values instead, so the library's chatter is kept off the user's terminal.
 */
function quietly<T>(work: () => T): T {
  const saved = { log: console.log, error: console.error, warn: console.warn };
  const silent = () => {};
  console.log = console.error = console.warn = silent;
  try {
    return work();
  } finally {
    Object.assign(console, saved);
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message.split('\n')[0] : String(error);
}

class ExtractorPstReader implements PstReader {
  readonly store: PstStore;
  readonly root: PstFolder;
  readonly problems: ReadProblem[] = [];
  private readonly file: PSTFile;
  private readonly libraryFolders = new Map<number, PSTFolder>();

  constructor(header: PstHeader, options: OpenOptions) {
    try {
      this.file = quietly(() => new extractor.PSTFile(header.path));
    } catch (error) {
      throw new PstError('E_PST_CORRUPT', { file: header.path, what: describe(error) }, { cause: error });
    }
    // 8-bit strings are decoded in the code page of the Windows that wrote them (see codepage.ts and the
    // patch of PSTObject.getStringItem): --codepage, else the item's PR_MESSAGE_CODEPAGE, else the store's.
    let storeCodepage = options.codepage ?? 1252;
    (this.file as unknown as { decodeString: StringDecoder }).decodeString = (data, type, messageCodepage) =>
      withoutTrailingNuls(type === PT_UNICODE ? data.toString('utf16le') : decodeCodepage(data, options.codepage ?? messageCodepage ?? storeCodepage));
    try {
      const messageStore = quietly(() => this.file.getMessageStore());
      const subtreeNid = nidOfEntryId(binaryProperty(messageStore, TAG.ipmSubtreeEntryId));
      const subtree = subtreeNid === null ? null : this.loadFolder(subtreeNid);
      if (options.codepage === undefined && header.format === 'ansi') {
        storeCodepage = this.detectCodepage(subtree ?? quietly(() => this.file.getRootFolder())) ?? 1252;
      }
      const recordKey = binaryProperty(messageStore, TAG.recordKey) ?? Buffer.alloc(0);
      const displayName = quietly(() => messageStore.displayName) || '';
      this.store = {
        path: header.path,
        kind: header.kind,
        format: header.format,
        encryption: header.encryption,
        displayName,
        fileSize: header.fileSize,
        codepage: storeCodepage,
        // The record key identifies the store for its whole life, and does not change as POP keeps
        // adding mail to it; the display name separates copies made from one template.
        fingerprint: createHash('sha256').update(recordKey).update(displayName, 'utf8').digest('hex'),
      };
      const rootFolder = quietly(() => this.file.getRootFolder());
      const roles = new FolderRoles(messageStore, rootFolder);
      // Without an IPM subtree entry ID (rare, damaged stores) the folder named like it is used.
      const top = subtree ?? this.findSubtreeByName(rootFolder) ?? rootFolder;
      this.root = this.buildTree(top, [], roles);
      roles.assignFallbacks(this.root);
    } catch (error) {
      if (error instanceof PstError) throw error;
      throw new PstError('E_PST_CORRUPT', { file: header.path, what: describe(error) }, { cause: error });
    }
  }

  /**
   * An ANSI store does not state its code page; its items do: PR_MESSAGE_CODEPAGE, else the locale
   * (PR_MESSAGE_LOCALE_ID), else the family of PR_INTERNET_CPID. The first item that tells decides.
   */
  private detectCodepage(top: PSTFolder): number | null {
    const queue: PSTFolder[] = [top];
    for (let visited = 0; queue.length > 0 && visited < 200; visited++) {
      const folder = queue.shift()!;
      const internal = folder as unknown as FolderContents;
      try {
        quietly(() => internal.initEmailsTable());
        alignRowMatrix(internal.emailsTable);
        const rows = internal.emailsTable ? quietly(() => internal.emailsTable!.getItems(0, Math.min(3, internal.emailsTable!.rowCount))) : [];
        for (const row of rows) {
          const nid = row.get(TAG.ltpRowId)?.entryValueReference;
          if (nid === undefined) continue;
          const item = this.loadMessage(nid);
          const found =
            intProperty(item, TAG.messageCodepage) ??
            ansiCodepageOfLocale(intProperty(item, TAG.messageLocaleId) ?? 0) ??
            ansiCodepageOfInternetCodepage(intProperty(item, TAG.internetCodepage) ?? 0);
          if (found !== null) return found;
        }
      } catch {
        // An unreadable folder tells nothing; the walk reports it later.
      }
      for (const nid of this.childFolderNids(folder, [], false)) {
        const child = this.loadFolder(nid);
        if (child) queue.push(child);
      }
    }
    return null;
  }

  private loadFolder(nid: number): PSTFolder | null {
    try {
      const object = quietly(() => PSTUtil.detectAndLoadPSTObject(this.file, Long.fromNumber(nid)));
      return object instanceof extractor.PSTFolder ? object : null;
    } catch {
      return null;
    }
  }

  /**
   * Stores without PR_IPM_SUBTREE_ENTRYID (OST files of Exchange accounts keep the mailbox under
   * 'Root - Mailbox/IPM_SUBTREE') are searched by the names Outlook gives the top folder, two levels
   * deep; public folders ('Root - Public') are not the user's mailbox.
   */
  private findSubtreeByName(rootFolder: PSTFolder): PSTFolder | null {
    const topNames = /^(top of personal folders|top of outlook data file|top of information store|ipm_subtree|個人用フォルダーの最上位|outlook データ ファイルのトップ)$/i;
    let level: PSTFolder[] = [rootFolder];
    for (let depth = 0; depth < 2; depth++) {
      const next: PSTFolder[] = [];
      for (const parent of level) {
        for (const nid of this.childFolderNids(parent, [], false)) {
          const folder = this.loadFolder(nid);
          if (!folder || /^root - public$/i.test(folder.displayName)) continue;
          if (topNames.test(folder.displayName.trim())) return folder;
          next.push(folder);
        }
      }
      level = next;
    }
    return null;
  }

  /** Child folder NIDs from the hierarchy table, search folders left out. */
  private childFolderNids(folder: PSTFolder, path: string[], report = true): number[] {
    const internal = folder as unknown as {
      initSubfoldersTable(): void;
      subfoldersTable: { getItems(): Array<Map<number, PropertyItem>> } | null;
    };
    // PR_SUBFOLDERS is only a hint (it can be false on a folder whose subfolders were moved in), and a
    // folder without a hierarchy table simply has none: the table decides.
    try {
      quietly(() => internal.initSubfoldersTable());
      alignRowMatrix(internal.subfoldersTable);
      const rows = quietly(() => internal.subfoldersTable?.getItems() ?? []);
      const nids: number[] = [];
      for (const row of rows) {
        const nid = row.get(TAG.ltpRowId)?.entryValueReference;
        if (nid === undefined) continue;
        // Search folders are views over other folders: their items live elsewhere and are migrated there.
        if ((nid & 0x1f) === NID_TYPE_SEARCH_FOLDER) continue;
        nids.push(nid);
      }
      return nids;
    } catch (error) {
      if (report) this.problems.push({ problem: true, folderPath: path, nid: null, code: 'E_FOLDER_UNREADABLE', detail: describe(error) });
      return [];
    }
  }

  private buildTree(folder: PSTFolder, path: string[], roles: FolderRoles): PstFolder {
    const nid = Number(folder.descriptorNodeId.toString());
    this.libraryFolders.set(nid, folder);
    const node: PstFolder = {
      nid,
      name: path.length === 0 ? '' : folder.displayName,
      path,
      role: roles.roleOf(nid, folder),
      containerClass: quietly(() => folder.containerClass) || '',
      contentCount: quietly(() => folder.contentCount),
      children: [],
    };
    for (const childNid of this.childFolderNids(folder, path)) {
      const child = this.loadFolder(childNid);
      if (!child) {
        this.problems.push({
          problem: true,
          folderPath: path,
          nid: childNid,
          code: 'E_FOLDER_UNREADABLE',
          detail: `subfolder ${childNid} cannot be read`,
        });
        continue;
      }
      node.children.push(this.buildTree(child, [...path, child.displayName], roles));
    }
    return node;
  }

  *items(folder: PstFolder, share?: ItemShare): Iterable<MessageSummary | ReadProblem> {
    const library = this.libraryFolders.get(folder.nid);
    if (!library) return;
    const internal = library as unknown as FolderContents;
    try {
      quietly(() => internal.initEmailsTable());
      alignRowMatrix(internal.emailsTable);
    } catch (error) {
      yield { problem: true, folderPath: folder.path, nid: null, code: 'E_FOLDER_UNREADABLE', detail: describe(error) };
      return;
    }
    // The contents table lists the items; when it cannot be read, the library falls back to the
    // node B-tree's children of the folder, which is what readpst does too.
    const nids: Array<() => number | null> = [];
    if (internal.emailsTable) {
      // Only each row's ID (PidTagLtpRowId, which getItems reads before the columns) is wanted: a view of
      // the table with no columns reads it alone, not every cell of the row, and leaves the table as it was.
      const table = Object.create(internal.emailsTable, { numColumns: { value: 0, writable: true } }) as NonNullable<FolderContents['emailsTable']>;
      for (let row = 0; row < table.rowCount; row++) {
        nids.push(() => quietly(() => table.getItems(row, 1)[0]?.get(TAG.ltpRowId)?.entryValueReference ?? null));
      }
    } else {
      for (const node of internal.fallbackEmailsTable ?? []) nids.push(() => node.descriptorIdentifier);
    }
    for (const [row, nidOf] of nids.entries()) {
      if (share && row % share.of !== share.index) continue;
      let nid: number | null = null;
      try {
        nid = nidOf();
        if (nid === null) throw new Error(`contents table row ${row} has no item`);
        const summary = summarize(this.loadMessage(nid), nid, folder.nid);
        if (this.lastLoaded?.nid === nid) this.lastLoaded.summary = summary;
        yield summary;
      } catch (error) {
        yield { problem: true, folderPath: folder.path, nid, code: 'E_ITEM_UNREADABLE', detail: describe(error) };
      }
    }
    if (nids.length !== folder.contentCount && (!share || share.index === 0)) {
      yield {
        problem: true,
        folderPath: folder.path,
        nid: null,
        code: 'E_COUNT_MISMATCH',
        detail: `the folder says it holds ${folder.contentCount} items; its contents table lists ${nids.length}`,
      };
    }
  }

  /**
   * The item loaded last. Export and the engine read an item in full right after its summary, and
   * loading it (node, property context, subnodes) is most of the cost of either; its summary, read
   * for items(), is kept too, for readMessage.
   */
  private lastLoaded: { nid: number; message: PSTMessage; summary?: MessageSummary } | null = null;

  private loadMessage(nid: number): PSTMessage {
    if (this.lastLoaded?.nid === nid) return this.lastLoaded.message;
    const object = quietly(() => PSTUtil.detectAndLoadPSTObject(this.file, Long.fromNumber(nid)));
    if (!(object instanceof extractor.PSTMessage)) throw new Error(`node ${nid} is not an item`);
    this.lastLoaded = { nid, message: object };
    return object;
  }

  readMessage(nid: number): PstMessage {
    let read: PstMessage;
    try {
      const message = this.loadMessage(nid);
      const summary = this.lastLoaded?.nid === nid ? this.lastLoaded.summary : undefined;
      read = quietly(() => toPstMessage(message, nid, 0, summary));
    } catch (error) {
      throw new PstError('E_ITEM_UNREADABLE', { file: this.store.path, nid, folder: '', what: describe(error) }, { cause: error });
    }
    return this.withSmtpAddresses(read);
  }

  /** X.500 addresses (lower case) to SMTP, from every place the PST states both; built once, when needed. */
  private exchangeAddresses: Map<string, string> | null = null;

  /**
   * An Exchange (EX) address stored without its SMTP address (the sender of an OST's sent items, typically)
   * is often stated with it elsewhere in the same PST: on a recipient row (PR_EMAIL_ADDRESS beside
   * PR_SMTP_ADDRESS) or as another item's sender. Those pairs resolve it; embedded messages too.
   */
  private withSmtpAddresses(message: PstMessage): PstMessage {
    const unresolved = (address: PstAddress | null) => address !== null && address.addressType === 'EX' && address.email.startsWith('/');
    const resolve = <T extends PstAddress>(address: T): T => {
      if (!unresolved(address)) return address;
      const smtp = this.exchangeDirectory().get(address.email.toLowerCase());
      return smtp ? { ...address, email: smtp, addressType: 'SMTP' } : address;
    };
    const needed = [message.sender, message.sentRepresenting, ...message.recipients].some(unresolved);
    // Nothing to resolve, here or in an embedded message (most items): the item as it was read.
    if (!needed && !message.attachments.some((attachment) => attachment.method === 'embedded')) return message;
    return {
      ...message,
      ...(needed
        ? {
            sender: message.sender && resolve(message.sender),
            sentRepresenting: message.sentRepresenting && resolve(message.sentRepresenting),
            recipients: message.recipients.map(resolve),
          }
        : {}),
      attachments: message.attachments.map((attachment) =>
        attachment.method === 'embedded'
          ? {
              ...attachment,
              embedded: () => {
                const inner = attachment.embedded();
                return inner && this.withSmtpAddresses(inner);
              },
            }
          : attachment,
      ),
    };
  }

  private exchangeDirectory(): Map<string, string> {
    if (this.exchangeAddresses) return this.exchangeAddresses;
    const found = new Map<string, string>();
    const note = (x500: string | null, smtp: string | null) => {
      if (x500 && smtp && x500.startsWith('/') && smtp.includes('@') && !found.has(x500.toLowerCase())) found.set(x500.toLowerCase(), smtp);
    };
    const visit = (folder: PstFolder) => {
      for (const entry of this.items(folder)) {
        if ('problem' in entry) continue;
        try {
          quietly(() => {
            const message = this.loadMessage(entry.nid);
            note(message.senderEmailAddress, stringProperty(message, TAG.senderSmtp));
            note(message.sentRepresentingEmailAddress, stringProperty(message, TAG.sentRepresentingSmtp));
            const internal = message as unknown as { processRecipients(): void; recipientTable: { getItems(): Array<Map<number, PropertyItem>> } | null; pstFile: PSTFile };
            internal.processRecipients();
            alignRowMatrix(internal.recipientTable);
            for (const row of internal.recipientTable?.getItems() ?? []) {
              const recipient = new extractor.PSTRecipient(internal.pstFile, row as never);
              note(recipient.emailAddress, stringProperty(recipient, TAG.recipientSmtp) ?? (recipient.smtpAddress || null));
            }
          });
        } catch {
          // An item that cannot be read tells nothing; reading it for itself reports it.
        }
      }
      folder.children.forEach(visit);
    };
    visit(this.root);
    this.exchangeAddresses = found;
    return found;
  }

  close(): void {
    this.file.close();
  }
}

function summarize(message: PSTMessage, nid: number, folderNid: number): MessageSummary {
  return quietly(() => {
    const messageClass = message.messageClass || '';
    return {
      nid,
      folderNid,
      messageClass,
      kind: classifyMessageClass(messageClass),
      subject: message.subject || '',
      size: message.messageSize.toNumber(),
      messageDeliveryTime: message.messageDeliveryTime ?? null,
      clientSubmitTime: message.clientSubmitTime ?? null,
      creationTime: message.creationTime ?? null,
      lastModificationTime: message.modificationTime ?? null,
      internetMessageId: message.internetMessageId || null,
      hasAttachments: message.hasAttachments,
    };
  });
}

function address(name: string | null, email: string | null, addressType: string | null, smtp: string | null): PstAddress | null {
  if (!name && !email && !smtp) return null;
  const type = (addressType || 'SMTP').toUpperCase();
  return { name: name || '', email: smtp || email || '', addressType: smtp ? 'SMTP' : type };
}

/** PR_HTML as bytes: stored as binary in the message's charset, or (rarely) as a string property. */
function htmlBytes(message: PSTMessage): { bytes: Buffer | null; forcedCodepage: number | null } {
  const item = props(message).pstTableItems?.get(TAG.html);
  if (!item) return { bytes: null, forcedCodepage: null };
  if (item.entryValueType === PT_BINARY) return { bytes: binaryProperty(message, TAG.html), forcedCodepage: null };
  if (item.entryValueType === PT_UNICODE || item.entryValueType === PT_STRING8) {
    const text = props(message).getStringItem(TAG.html);
    return { bytes: Buffer.from(text, 'utf8'), forcedCodepage: 65001 };
  }
  return { bytes: null, forcedCodepage: null };
}

function recipientsOf(message: PSTMessage): PstRecipient[] {
  // The table is read once: the library's getRecipient(i) reads it all again for every i.
  const internal = message as unknown as {
    processRecipients(): void;
    recipientTable: { getItems(): Array<Map<number, PropertyItem>> } | null;
    pstFile: PSTFile;
  };
  internal.processRecipients();
  alignRowMatrix(internal.recipientTable);
  const rows = internal.recipientTable?.getItems() ?? [];
  return rows.map((row) => {
    const recipient = new extractor.PSTRecipient(internal.pstFile, row as never);
    const type = recipient.recipientType === 2 ? 'cc' : recipient.recipientType === 3 ? 'bcc' : 'to';
    const smtp = stringProperty(recipient, TAG.recipientSmtp) ?? (recipient.smtpAddress || null);
    const found = address(recipient.displayName, recipient.emailAddress, recipient.addrType, smtp);
    return { type, name: found?.name ?? '', email: found?.email ?? '', addressType: found?.addressType ?? '' };
  });
}

const ATTACH_METHODS: Record<number, AttachMethod> = { 0: 'none', 1: 'by-value', 2: 'by-reference', 3: 'by-reference', 4: 'by-reference', 5: 'embedded', 6: 'ole' };

function attachmentsOf(message: PSTMessage, depth: number): PstAttachment[] {
  const count = message.numberOfAttachments;
  const attachments: PstAttachment[] = [];
  for (let index = 0; index < count; index++) {
    const attachment: PSTAttachment = message.getAttachment(index);
    const method = ATTACH_METHODS[attachment.attachMethod] ?? 'other';
    attachments.push({
      index,
      method,
      filename: attachment.longFilename || attachment.filename || attachment.displayName || '',
      mimeTag: attachment.mimeTag || '',
      contentId: attachment.contentId || '',
      size: attachment.size,
      hidden: intProperty(attachment, TAG.attachmentHidden) === 1,
      renderingPosition: intProperty(attachment, TAG.renderingPosition),
      pathname: stringProperty(attachment, TAG.attachLongPathname) ?? stringProperty(attachment, TAG.attachPathname) ?? '',
      content: () =>
        quietly(() => {
          const stream = attachment.fileInputStream;
          if (!stream) return Buffer.alloc(0);
          const bytes = Buffer.alloc(stream.length.toNumber());
          if (bytes.length > 0) stream.readCompletely(bytes);
          return bytes;
        }),
      open: () => quietly(() => openNodeData(attachment.fileInputStream as unknown as NodeStream | null)),
      embedded: () =>
        method === 'embedded'
          ? quietly(() => {
              const inner = attachment.embeddedPSTMessage;
              return inner ? toPstMessage(inner, 0, depth + 1) : null;
            })
          : null,
    });
  }
  return attachments;
}

/** What openNodeData uses of pst-extractor's PSTNodeInputStream. */
interface NodeStream {
  length: { toNumber(): number };
  encrypted: boolean;
  /** The whole data when it is in memory (one block, or decompressed), else null. */
  allData: Buffer | null;
  /** The data blocks, in order, when they are read from the file. */
  indexItems: Array<{ fileOffset: { toNumber(): number }; size: number }>;
  pstFile: { pstFD: number };
  readCompletely(into: Buffer): void;
}

/**
 * A node's data (an attachment's bytes) read in order into the buffers it is given: straight from the
 * file into them, block by block, decrypted in place. The library's own stream reads each block into a
 * buffer of its own and copies it, through its page cache: for an attachment of some MB, garbage of
 * twice its size in the reader thread.
 */
function openNodeData(stream: NodeStream | null): ReturnType<PstAttachment['open']> {
  const length = stream ? stream.length.toNumber() : 0;
  const blocks = stream && stream.allData === null && stream.pstFile.pstFD > 0 ? stream.indexItems : null;
  let at = 0;
  let block = 0;
  let inBlock = 0;
  return {
    length,
    read: (into: Buffer) => {
      if (at + into.length > length) throw new Error(`a read past the end of the attachment (${length} bytes)`);
      if (into.length === 0) return;
      if (!blocks) {
        quietly(() => stream!.readCompletely(into));
      } else {
        let filled = 0;
        while (filled < into.length) {
          const item = blocks[block];
          if (!item) throw new Error(`the attachment's blocks end before its ${length} bytes`);
          const take = Math.min(item.size - inBlock, into.length - filled);
          const got = readSync(stream!.pstFile.pstFD, into, filled, take, item.fileOffset.toNumber() + inBlock);
          if (got !== take) throw new Error('the PST file ends inside an attachment');
          filled += take;
          inBlock += take;
          if (inBlock === item.size) {
            block += 1;
            inBlock = 0;
          }
        }
        if (stream!.encrypted) PSTUtil.decode(into);
      }
      at += into.length;
    },
  };
}

/** The property tag of a named property in this file, or null when the file does not map it. */
function namedTag(message: PSTMessage, [id, set]: readonly [number, number]): number | null {
  const file = (message as unknown as { pstFile: PSTFile }).pstFile;
  const tag = file.getNameToIdMapItem(id, set);
  return tag === -1 || tag === undefined ? null : tag;
}

function namedDate(message: PSTMessage, name: readonly [number, number]): Date | null {
  const tag = namedTag(message, name);
  if (tag === null || !hasProperty(message, tag)) return null;
  return (message as unknown as { getDateItem(tag: number): Date | null }).getDateItem(tag);
}

function namedString(message: PSTMessage, name: readonly [number, number]): string {
  const tag = namedTag(message, name);
  return tag === null ? '' : (stringProperty(message, tag) ?? '');
}

/** A library getter that may throw on a damaged or missing property: '' or null instead. */
function safely<T>(read: () => T, fallback: T): T {
  try {
    return read() ?? fallback;
  } catch {
    return fallback;
  }
}

function contactDetails(message: PSTMessage): PstContactDetails {
  const contact = message as unknown as Record<string, unknown>;
  const text = (key: string) => safely(() => String(contact[key] ?? ''), '').trim();
  const date = (key: string) => safely(() => (contact[key] instanceof Date ? (contact[key] as Date) : null), null);
  const phones: PstContactDetails['phones'] = [];
  const phone = (key: string, type: PstContactDetails['phones'][number]['type']) => {
    const number = text(key);
    if (number) phones.push({ type, number });
  };
  phone('businessTelephoneNumber', 'work');
  phone('business2TelephoneNumber', 'work');
  phone('homeTelephoneNumber', 'home');
  phone('home2TelephoneNumber', 'home');
  phone('mobileTelephoneNumber', 'cell');
  phone('primaryTelephoneNumber', 'voice');
  phone('otherTelephoneNumber', 'voice');
  phone('businessFaxNumber', 'fax');
  phone('homeFaxNumber', 'fax');
  phone('pagerTelephoneNumber', 'pager');
  const addresses: PstContactDetails['addresses'] = [];
  const address = (type: 'work' | 'home' | 'other', street: string, city: string, region: string, postalCode: string, country: string) => {
    const found = { type, street: text(street), city: text(city), region: text(region), postalCode: text(postalCode), country: text(country) };
    if (found.street || found.city || found.region || found.postalCode || found.country) addresses.push(found);
  };
  address('work', 'workAddressStreet', 'workAddressCity', 'workAddressState', 'workAddressPostalCode', 'workAddressCountry');
  address('home', 'homeAddressStreet', 'homeAddressCity', 'homeAddressStateOrProvince', 'homeAddressPostalCode', 'homeAddressCountry');
  address('other', 'otherAddressStreet', 'otherAddressCity', 'otherAddressStateOrProvince', 'otherAddressPostalCode', 'otherAddressCountry');
  return {
    displayName: text('displayName') || text('subject'),
    givenName: text('givenName'),
    surname: text('surname'),
    middleName: text('middleName'),
    prefix: text('displayNamePrefix'),
    suffix: text('generation'),
    nickname: text('nickname'),
    yomiGivenName: namedString(message, NAMED.yomiFirstName),
    yomiSurname: namedString(message, NAMED.yomiLastName),
    company: text('companyName'),
    department: text('departmentName'),
    jobTitle: text('title'),
    emails: ['email1EmailAddress', 'email2EmailAddress', 'email3EmailAddress'].map(text).filter((email) => email !== ''),
    phones,
    addresses,
    birthday: date('birthday'),
    anniversary: date('anniversary'),
    urls: ['businessHomePage', 'personalHomePage'].map(text).filter((url) => url !== ''),
  };
}

const BUSY_STATUS: Record<number, PstAppointmentDetails['busyStatus']> = { 0: 'free', 1: 'tentative', 2: 'busy', 3: 'oof' };

function appointmentDetails(message: PSTMessage): PstAppointmentDetails {
  // The library reads these named properties only on the items it makes PSTAppointments; meeting
  // requests carry the same properties, so its getters are applied to any item.
  const appointment = new Proxy({} as Record<string, unknown>, {
    get: (_, name) => Object.getOwnPropertyDescriptor(PSTAppointment.prototype, name)?.get?.call(message),
  });
  const recurring = safely(() => Boolean(appointment.isRecurring), false);
  const goid = namedTag(message, NAMED.globalObjectId);
  const organizerName = (message.sentRepresentingName || message.senderName || '').trim();
  const organizerSmtp = stringProperty(message, TAG.sentRepresentingSmtp) ?? stringProperty(message, TAG.senderSmtp);
  return {
    start: safely(() => appointment.startTime as Date | null, null),
    end: safely(() => appointment.endTime as Date | null, null),
    allDay: safely(() => Boolean(appointment.subType), false),
    location: safely(() => String(appointment.location ?? ''), '').trim(),
    recurrence: recurring ? safely(() => String(appointment.recurrencePattern ?? ''), '') || null : null,
    organizer: address(organizerName || null, message.sentRepresentingEmailAddress || message.senderEmailAddress || null, message.sentRepresentingAddressType || null, organizerSmtp),
    busyStatus: safely(() => BUSY_STATUS[Number(appointment.busyStatus)] ?? null, null),
    globalObjectId: goid !== null ? (binaryProperty(message, goid)?.toString('hex').toUpperCase() || null) : null,
  };
}

const TASK_STATUS: Record<number, PstTaskDetails['status']> = { 0: 'NEEDS-ACTION', 1: 'IN-PROCESS', 2: 'COMPLETED', 3: 'NEEDS-ACTION', 4: 'CANCELLED' };

function taskDetails(message: PSTMessage): PstTaskDetails {
  const task = message as unknown as Record<string, unknown>;
  const percent = safely(() => Number(task.percentComplete), NaN);
  return {
    start: namedDate(message, NAMED.taskStartDate),
    due: namedDate(message, NAMED.taskDueDate),
    completed: safely(() => task.taskDateCompleted as Date | null, null),
    percentComplete: Number.isFinite(percent) ? percent : null,
    status: safely(() => TASK_STATUS[Number(task.taskStatus)] ?? null, null),
  };
}

function distributionListMembers(message: PSTMessage): PstAddress[] {
  const tag = namedTag(message, NAMED.distributionListOneOffMembers);
  const data = tag === null ? undefined : props(message).pstTableItems?.get(tag)?.data;
  if (!data) return [];
  return splitMultipleBinary(data)
    .map(parseOneOffEntryId)
    .filter((member): member is PstAddress => member !== null);
}

/** The fields of contacts, distribution lists, appointments and tasks, by the item's class. */
function detailsOf(message: PSTMessage): Pick<PstMessage, 'contact' | 'appointment' | 'task' | 'distributionListMembers'> {
  if (/^ipm\.distlist(\.|$)/i.test(message.messageClass || '')) return { distributionListMembers: distributionListMembers(message) };
  const item: object = message;
  if (item instanceof PSTContact) return { contact: contactDetails(message) };
  if (item instanceof PSTAppointment || /^ipm\.schedule\.meeting\./i.test(message.messageClass || '')) return { appointment: appointmentDetails(message) };
  if (item instanceof PSTTask) return { task: taskDetails(message) };
  return {};
}

/**
 * `summary`: the item's summary when items() read it already (any folder's: it is given folderNid 0 here).
 * Its fields are copied one by one, not spread: properties added after an object spread cost V8 some
 * 4 µs each (a new hidden class made every time), which was 70 µs of every message read here.
 */
function toPstMessage(message: PSTMessage, nid: number, depth: number, summary?: MessageSummary): PstMessage {
  const html = htmlBytes(message);
  const head = summary ?? summarize(message, nid, 0);
  return {
    nid: head.nid,
    folderNid: 0,
    messageClass: head.messageClass,
    kind: head.kind,
    subject: head.subject,
    size: head.size,
    messageDeliveryTime: head.messageDeliveryTime,
    clientSubmitTime: head.clientSubmitTime,
    creationTime: head.creationTime,
    lastModificationTime: head.lastModificationTime,
    internetMessageId: head.internetMessageId,
    hasAttachments: head.hasAttachments,
    transportHeaders: message.transportMessageHeaders || null,
    sender: address(message.senderName, message.senderEmailAddress, message.senderAddrtype, stringProperty(message, TAG.senderSmtp)),
    sentRepresenting: address(
      message.sentRepresentingName,
      message.sentRepresentingEmailAddress,
      message.sentRepresentingAddressType,
      stringProperty(message, TAG.sentRepresentingSmtp),
    ),
    recipients: recipientsOf(message),
    body: message.body || null,
    html: html.bytes,
    rtfCompressed: binaryProperty(message, TAG.rtfCompressed),
    internetCodepage: html.forcedCodepage ?? intProperty(message, TAG.internetCodepage),
    messageCodepage: intProperty(message, TAG.messageCodepage),
    messageFlags: intProperty(message, TAG.messageFlags) ?? 0,
    flagStatus: intProperty(message, TAG.flagStatus),
    lastVerbExecuted: intProperty(message, TAG.lastVerbExecuted),
    importance: intProperty(message, TAG.importance),
    priority: intProperty(message, TAG.priority),
    conversationIndex: binaryProperty(message, TAG.conversationIndex),
    inReplyTo: stringProperty(message, TAG.inReplyTo),
    references: stringProperty(message, TAG.references),
    attachments: attachmentsOf(message, depth),
    nativeBody: intProperty(message, TAG.nativeBody),
    ...detailsOf(message),
  };
}

/**
 * Opens a PST or OST file. Checks the file first (exists, is a PST, complete, readable encryption) and
 * throws a PstError saying what is wrong; never hands a bad file to the library.
 *
 * The patch gives each file its own named-property map, but the library's static getters still answer
 * for the last file opened: a thread reads one PST at a time (close a reader before opening the next;
 * the engine reads in a worker thread of its own).
 */
export function openPst(path: string, options: OpenOptions = {}): PstReader {
  const header = readPstHeader(path);
  return new ExtractorPstReader(header, options);
}
