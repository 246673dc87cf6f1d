/**
 * What is known of the servers pst2imap moves mail to, in one place. `plan` without `--to` uses a
 * preset's facts; with `--to` it shows the preset beside what the server itself advertises.
 */
import type { ServerFacts } from '../plan/types.js';

export type ProviderName = 'outlook' | 'office365' | 'generic';

export interface Provider {
  name: ProviderName;
  /** How people call it, for the plan's header. */
  label: string;
  host: string | null;
  port: number;
  /** Implicit TLS (port 993). */
  secure: boolean;
  /** Sign-in: Microsoft accepts only OAuth2 (XOAUTH2) since September 2024. */
  auth: 'oauth2' | 'password';
  /** Largest message the server takes, in bytes. */
  messageLimit: number | null;
  connections: number;
  /** APPENDs in flight per connection where the server offers LITERAL+ (pipelining); 1: none. */
  pipeline: number;
  /** Messages per second that stay clear of throttling. */
  messagesPerSecond: number;
  /** The server drops \Flagged given with APPEND (Outlook.com does): it is set with STORE afterwards. */
  dropsFlaggedOnAppend: boolean;
  facts: ServerFacts;
}

/**
 * Outlook.com: '/' as delimiter, special folders Sent, Drafts, Deleted, Junk and Archive; 35 MB per
 * message (the documented limit for Outlook.com and Exchange Online's default); a few names at the top
 * of the mailbox belong to the service ('Files' holds OneDrive attachments in some clients).
 */
const outlookFacts: ServerFacts = {
  delimiter: '/',
  specialUse: { inbox: 'INBOX', sent: 'Sent', drafts: 'Drafts', trash: 'Deleted', junk: 'Junk', archive: 'Archive' },
  mailboxes: {},
  utf8Accept: false,
  appendLimit: 35 * 1024 * 1024,
  reservedNames: ['Files'],
  maxNameLength: 255,
  capabilities: [],
};

const outlook: Provider = {
  name: 'outlook',
  label: 'Outlook.com',
  host: 'outlook.office365.com',
  port: 993,
  secure: true,
  auth: 'oauth2',
  messageLimit: 35 * 1024 * 1024,
  connections: 2,
  // Paced at 5 messages a second anyway: a short pipeline covers the round trip across the ocean.
  pipeline: 8,
  messagesPerSecond: 5,
  dropsFlaggedOnAppend: true,
  facts: outlookFacts,
};

export const PROVIDERS: Record<ProviderName, Provider> = {
  outlook,
  // Microsoft 365 mailboxes are served by the same Exchange Online front end as Outlook.com.
  office365: { ...outlook, name: 'office365', label: 'Microsoft 365' },
  generic: {
    name: 'generic',
    label: 'IMAP server',
    host: null,
    port: 993,
    secure: true,
    auth: 'password',
    messageLimit: null,
    connections: 2,
    pipeline: 128,
    messagesPerSecond: 10,
    dropsFlaggedOnAppend: false,
    facts: {
      delimiter: '/',
      specialUse: {},
      mailboxes: {},
      utf8Accept: false,
      appendLimit: null,
      reservedNames: [],
      maxNameLength: null,
      capabilities: [],
    },
  },
};
