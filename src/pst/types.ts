/**
 * What the PST layer tells the rest of pst2imap. These types are the whole contract: nothing outside
 * src/pst imports pst-extractor, and nothing here exposes its classes.
 */

/** ANSI is the Outlook 97-2002 format (8-bit strings, 32-bit offsets); unicode-4k is the OST 2013+ format. */
export type StoreFormat = 'ansi' | 'unicode' | 'unicode-4k';
export type StoreKind = 'pst' | 'ost';
/** bCryptMethod of the header: 0 none, 1 compressible (Outlook's default), 2 high. */
export type Encryption = 'none' | 'compressible' | 'high';

export interface PstStore {
  /** Absolute path of the file. */
  path: string;
  kind: StoreKind;
  format: StoreFormat;
  encryption: Encryption;
  /** PR_DISPLAY_NAME of the message store. */
  displayName: string;
  fileSize: number;
  /** Code page of 8-bit strings (ANSI files): `--codepage`, else the store's, else 1252. */
  codepage: number;
  /** Stable identity of the file, independent of its path: hex of a hash over the store's record key
   * and header fields. Used by checkpoints and for deterministic Message-IDs. */
  fingerprint: string;
}

/** The role a folder plays, found from the store's entry IDs (names only as a fall-back). */
export type FolderRole = 'inbox' | 'sent' | 'drafts' | 'trash' | 'junk' | 'outbox' | 'archive';

export interface PstFolder {
  /** Node ID of the folder in the PST. */
  nid: number;
  /** PR_DISPLAY_NAME exactly as stored (may contain '/', be empty, or repeat a sibling's name). */
  name: string;
  /** Names from just below the IPM subtree down to this folder; [] for the IPM subtree itself. */
  path: string[];
  role: FolderRole | null;
  /** PR_CONTAINER_CLASS, '' when absent ('IPF.Note', 'IPF.Contact', ...). */
  containerClass: string;
  /** PR_CONTENT_COUNT as the PST states it; compared with what is actually read. */
  contentCount: number;
  children: PstFolder[];
}

/** Mail goes to IMAP; the other kinds cannot live there and are skipped (or exported as files). */
export type ItemKind =
  | 'mail'
  | 'contact'
  | 'appointment'
  | 'task'
  | 'note'
  | 'journal'
  | 'distlist'
  | 'other';

export interface MessageSummary {
  /** Node ID of the item: unique within the PST and stable across reads. */
  nid: number;
  folderNid: number;
  /** PR_MESSAGE_CLASS ('IPM.Note', 'IPM.Schedule.Meeting.Request', 'REPORT.IPM.Note.NDR', ...). */
  messageClass: string;
  kind: ItemKind;
  subject: string;
  /** PR_MESSAGE_SIZE in bytes (the PST's own estimate of the item's size). */
  size: number;
  messageDeliveryTime: Date | null;
  clientSubmitTime: Date | null;
  creationTime: Date | null;
  lastModificationTime: Date | null;
  /** PR_INTERNET_MESSAGE_ID, with its angle brackets as stored; null when absent. */
  internetMessageId: string | null;
  hasAttachments: boolean;
}

/** Something that could not be read; reported by folder and item, never dropped silently. */
export interface ReadProblem {
  problem: true;
  folderPath: string[];
  /** The item's node ID, or null when the problem concerns the folder. */
  nid: number | null;
  code: 'E_ITEM_UNREADABLE' | 'E_COUNT_MISMATCH' | 'E_FOLDER_UNREADABLE';
  /** Plain words for a person: what went wrong, with counts or the reader's error. */
  detail: string;
}

export function isReadProblem(value: MessageSummary | ReadProblem): value is ReadProblem {
  return (value as ReadProblem).problem === true;
}

export interface PstAddress {
  name: string;
  /** An SMTP address when one is known (X.500 / EX addresses resolved through PR_SMTP_ADDRESS and
   * friends); otherwise the raw address as stored, with addressType telling which. */
  email: string;
  /** 'SMTP', 'EX', ... (PR_ADDRTYPE). */
  addressType: string;
}

export interface PstRecipient extends PstAddress {
  type: 'to' | 'cc' | 'bcc';
}

export type AttachMethod = 'by-value' | 'by-reference' | 'embedded' | 'ole' | 'none' | 'other';

export interface PstAttachment {
  index: number;
  method: AttachMethod;
  /** PR_ATTACH_LONG_FILENAME, else PR_ATTACH_FILENAME, else PR_DISPLAY_NAME; '' when none. */
  filename: string;
  /** PR_ATTACH_MIME_TAG; '' when absent. */
  mimeTag: string;
  /** PR_ATTACH_CONTENT_ID; '' when absent. */
  contentId: string;
  /** PR_ATTACH_SIZE as stored. */
  size: number;
  /** PR_ATTACHMENT_HIDDEN or the inline rendering flags. */
  hidden: boolean;
  /** PR_RENDERING_POSITION: where an RTF body shows the attachment; -1 when it is not shown there. */
  renderingPosition: number | null;
  /** Where a by-reference attachment points: PR_ATTACH_LONG_PATHNAME, else PR_ATTACH_PATHNAME. */
  pathname?: string;
  /**
   * Raw bytes of a by-value (or OLE) attachment, exactly as stored: read anew on each call, into a
   * buffer of the caller's own, which it may free (src/mime releases it once the message is written).
   */
  content(): Buffer;
  /**
   * The same bytes a slice at a time, so that a large attachment is never held whole: `read` fills the
   * buffer it is given with the next bytes (throws when they cannot be read). Throws when the attachment
   * cannot be opened at all.
   */
  open(): { length: number; read(into: Buffer): void };
  /** The embedded message of a method-5 attachment, to any depth; null for other methods. */
  embedded(): PstMessage | null;
}

/** A contact's fields ([MS-OXOCNTC]), for a vCard: only what is set. */
export interface PstContactDetails {
  displayName: string;
  givenName: string;
  surname: string;
  middleName: string;
  prefix: string;
  suffix: string;
  nickname: string;
  /** Phonetic (furigana) names of Japanese contacts: PidLidYomiFirstName, PidLidYomiLastName. */
  yomiGivenName: string;
  yomiSurname: string;
  company: string;
  department: string;
  jobTitle: string;
  emails: string[];
  phones: Array<{ type: 'work' | 'home' | 'cell' | 'fax' | 'pager' | 'voice'; number: string }>;
  addresses: Array<{ type: 'work' | 'home' | 'other'; street: string; city: string; region: string; postalCode: string; country: string }>;
  birthday: Date | null;
  anniversary: Date | null;
  urls: string[];
}

/** An appointment's or meeting's fields ([MS-OXOCAL]), read from its named properties. */
export interface PstAppointmentDetails {
  start: Date | null;
  end: Date | null;
  /** PidLidAppointmentSubType: an all-day event (start and end at midnight, local time). */
  allDay: boolean;
  location: string;
  /** Outlook's own words for a recurring event's pattern ('every Monday from 9:00 to 10:00'); null if not recurring. */
  recurrence: string | null;
  organizer: PstAddress | null;
  busyStatus: 'free' | 'tentative' | 'busy' | 'oof' | null;
  /** PidLidGlobalObjectId in hex: the meeting's identity across calendars (iCalendar UID). */
  globalObjectId: string | null;
}

/** A task's fields ([MS-OXOTASK]). */
export interface PstTaskDetails {
  start: Date | null;
  due: Date | null;
  completed: Date | null;
  /** 0 to 1. */
  percentComplete: number | null;
  status: 'NEEDS-ACTION' | 'IN-PROCESS' | 'COMPLETED' | 'CANCELLED' | null;
}

export interface PstMessage extends MessageSummary {
  /** PR_TRANSPORT_MESSAGE_HEADERS; null for sent items, drafts and items created locally. */
  transportHeaders: string | null;
  sender: PstAddress | null;
  sentRepresenting: PstAddress | null;
  recipients: PstRecipient[];
  /** PR_BODY, decoded. */
  body: string | null;
  /** PR_HTML exactly as stored (bytes in the charset of internetCodepage). */
  html: Buffer | null;
  /** PR_RTF_COMPRESSED as stored (still compressed). */
  rtfCompressed: Buffer | null;
  /** PR_INTERNET_CPID. */
  internetCodepage: number | null;
  /** PR_MESSAGE_CODEPAGE. */
  messageCodepage: number | null;
  /** PR_MESSAGE_FLAGS: 0x1 read, 0x8 unsent, ... */
  messageFlags: number;
  /** PR_FLAG_STATUS: 2 flagged, 1 complete. */
  flagStatus: number | null;
  /** PR_LAST_VERB_EXECUTED: 102 reply, 103 reply all, 104 forward. */
  lastVerbExecuted: number | null;
  /** PR_IMPORTANCE 0 low, 1 normal, 2 high. */
  importance: number | null;
  /** PR_PRIORITY -1, 0, 1. */
  priority: number | null;
  conversationIndex: Buffer | null;
  inReplyTo: string | null;
  references: string | null;
  attachments: PstAttachment[];
  /** PidTagNativeBody ([MS-OXCMSG] 2.2.1.58.1): 1 plain text, 2 RTF, 3 HTML, 4 clear-signed; null when absent. */
  nativeBody?: number | null;
  /** Filled for contacts (and distribution lists: their name), appointments and meeting items, tasks. */
  contact?: PstContactDetails;
  /** Members of a distribution list (IPM.DistList), from PidLidDistributionListOneOffMembers. */
  distributionListMembers?: PstAddress[];
  appointment?: PstAppointmentDetails;
  task?: PstTaskDetails;
}

export interface OpenOptions {
  /** Override the code page of 8-bit strings in ANSI files. */
  codepage?: number;
}

/**
 * An open PST or OST. One reader per file per thread: the library beneath keeps state per process, so
 * two readers must never share it (see the PST layer's notes).
 */
/** Share `index` of `of` of a folder's items: the contents-table rows whose number is `index` modulo `of`. */
export interface ItemShare {
  index: number;
  of: number;
}

export interface PstReader {
  readonly store: PstStore;
  /** The IPM subtree (the folder the user sees as the top of the mailbox), children filled in. Search
   * folders are left out. */
  readonly root: PstFolder;
  /** Every item of a folder in contents-table order, then, if the count read differs from
   * PR_CONTENT_COUNT or an item could not be read, a ReadProblem for each. With `share`, only the
   * items of that share (the count's problem with share 0): threads that each open the PST read a
   * folder together, every item once. */
  items(folder: PstFolder, share?: ItemShare): Iterable<MessageSummary | ReadProblem>;
  /** Problems met while opening and walking folders (a search folder that could not be read, ...). */
  readonly problems: ReadProblem[];
  /** The whole item; throws PstError('E_ITEM_UNREADABLE') when it cannot be read. */
  readMessage(nid: number): PstMessage;
  close(): void;
}
