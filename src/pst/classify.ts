/**
 * What an item is, from its message class ([MS-OXCMSG] 2.2.1.3, PR_MESSAGE_CLASS): mail goes to IMAP;
 * contacts, appointments, tasks, notes, journal entries and distribution lists cannot live there.
 */
import type { ItemKind } from './types.js';

const RULES: Array<[RegExp, ItemKind]> = [
  // Meeting requests, responses and cancellations arrive as mail and are read as mail.
  [/^ipm\.schedule\.meeting(\.|$)/, 'mail'],
  [/^ipm\.note(\.|$)/, 'mail'],
  [/^ipm\.post(\.|$)/, 'mail'],
  [/^report\./, 'mail'],
  [/^ipm\.outlook\.recall(\.|$)/, 'mail'],
  [/^ipm\.sharing(\.|$)/, 'mail'],
  [/^ipm\.contact(\.|$)/, 'contact'],
  [/^ipm\.distlist(\.|$)/, 'distlist'],
  [/^ipm\.appointment(\.|$)/, 'appointment'],
  [/^ipm\.task(request)?(\.|$)/, 'task'],
  [/^ipm\.stickynote(\.|$)/, 'note'],
  [/^ipm\.activity(\.|$)/, 'journal'],
];

export function classifyMessageClass(messageClass: string): ItemKind {
  const normalised = messageClass.trim().toLowerCase();
  // An item without a class is a plain message: that is how some importers write them.
  if (normalised === '' || normalised === 'ipm') return 'mail';
  for (const [pattern, kind] of RULES) if (pattern.test(normalised)) return kind;
  return 'other';
}
