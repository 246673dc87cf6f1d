/**
 * What src/mime hands the engine and `export`: one PST item rebuilt as the message it was. The bytes are
 * all that survives a migration, so everything the server must keep is in them, in the flags or in the
 * INTERNALDATE.
 */
import type { FolderRole } from '../pst/types.js';

/** IMAP system flags and keywords pst2imap sets (RFC 3501 2.3.2; $Forwarded from RFC 5788's registry). */
export type ImapFlag = '\\Seen' | '\\Flagged' | '\\Answered' | '\\Draft' | '$Forwarded';

/** Something of the item that could not be carried as it was, reported, never dropped silently. */
export interface RebuildWarning {
  code:
    | 'attachment-by-reference'
    | 'attachment-ole'
    | 'attachment-unreadable'
    | 'embedded-unreadable'
    | 'rtf-kept-as-attachment'
    | 'body-charset-unknown'
    | 'address-unresolved';
  /** Plain words for a person: which attachment, which charset, ... */
  detail: string;
}

export interface RebuildContext {
  /** PstStore.fingerprint: the seed of derived Message-IDs, so that a re-run derives the same one. */
  storeFingerprint: string;
  /** Role of the item's folder: sent and drafts keep Bcc and get \Draft as Outlook shows them. */
  folderRole: FolderRole | null;
  /** Set by the rebuild itself for a message embedded in another (an attached e-mail): such messages are
   * often flagged unsent although they were received, so their stored headers decide. */
  embedded?: boolean;
}

export interface RebuiltMessage {
  /** RFC 5322 message, CRLF line ends, exactly what is APPENDed or written to an .eml file. */
  bytes: Buffer;
  flags: ImapFlag[];
  /** INTERNALDATE: delivery time for received mail, submit time for sent mail, else creation or
   * modification time; null only when the item carries no time at all. */
  internalDate: Date | null;
  /** The Message-ID header of `bytes`, with its angle brackets. */
  messageId: string;
  /** True when the PST held no Message-ID and `messageId` was derived from the store and the item. */
  messageIdDerived: boolean;
  warnings: RebuildWarning[];
}
