/**
 * IMAP flags and INTERNALDATE from an item's MAPI properties ([MS-OXCMSG] 2.2.1.6 PidTagMessageFlags,
 * [MS-OXOFLAG] 2.2.1.1 PidTagFlagStatus, [MS-OXOMSG] 2.2.1.33 PidTagLastVerbExecuted).
 */
import type { PstMessage } from '../pst/types.js';
import type { ImapFlag, RebuildContext } from './types.js';

export const MSGFLAG_READ = 0x01;
export const MSGFLAG_UNSENT = 0x08;
export const MSGFLAG_FROMME = 0x20;

const FLAG_STATUS_FLAGGED = 2;
const VERB_REPLY_TO_SENDER = 102;
const VERB_REPLY_TO_ALL = 103;
const VERB_FORWARD = 104;

export function imapFlags(message: Pick<PstMessage, 'messageFlags' | 'flagStatus' | 'lastVerbExecuted'>): ImapFlag[] {
  const flags: ImapFlag[] = [];
  if (message.messageFlags & MSGFLAG_READ) flags.push('\\Seen');
  if (message.flagStatus === FLAG_STATUS_FLAGGED) flags.push('\\Flagged');
  if (message.lastVerbExecuted === VERB_REPLY_TO_SENDER || message.lastVerbExecuted === VERB_REPLY_TO_ALL) flags.push('\\Answered');
  if (message.lastVerbExecuted === VERB_FORWARD) flags.push('$Forwarded');
  if (message.messageFlags & MSGFLAG_UNSENT) flags.push('\\Draft');
  return flags;
}

/**
 * Mail the user wrote rather than received: it sits in Sent Items, Drafts or the Outbox, is unsent, or
 * Outlook marked it as from the user. Such mail keeps its Bcc and is dated by its submit time.
 */
export function isOwnMail(message: Pick<PstMessage, 'messageFlags'>, context: Pick<RebuildContext, 'folderRole'>): boolean {
  return (
    context.folderRole === 'sent' ||
    context.folderRole === 'drafts' ||
    context.folderRole === 'outbox' ||
    (message.messageFlags & (MSGFLAG_UNSENT | MSGFLAG_FROMME)) !== 0
  );
}

/** INTERNALDATE: when it arrived (received mail), when it was sent (own mail), else made or changed. */
export function internalDate(
  message: Pick<PstMessage, 'messageFlags' | 'messageDeliveryTime' | 'clientSubmitTime' | 'creationTime' | 'lastModificationTime'>,
  context: Pick<RebuildContext, 'folderRole'>,
): Date | null {
  const first = isOwnMail(message, context)
    ? (message.clientSubmitTime ?? message.messageDeliveryTime)
    : (message.messageDeliveryTime ?? message.clientSubmitTime);
  return first ?? message.creationTime ?? message.lastModificationTime ?? null;
}

/**
 * Received mail keeps the internet headers it arrived with. A copy of the user's own mail that came back
 * (sent to themselves, MSGFLAG_FROMME) was received too; only what sits in Sent Items, Drafts or the
 * Outbox, or was never sent, is rebuilt from its properties.
 */
export function usesStoredHeaders(message: Pick<PstMessage, 'messageFlags' | 'transportHeaders'>, context: Pick<RebuildContext, 'folderRole' | 'embedded'>): boolean {
  if (!message.transportHeaders?.trim()) return false;
  if (context.embedded) return true;
  return (
    (message.messageFlags & MSGFLAG_UNSENT) === 0 &&
    context.folderRole !== 'sent' &&
    context.folderRole !== 'drafts' &&
    context.folderRole !== 'outbox'
  );
}
