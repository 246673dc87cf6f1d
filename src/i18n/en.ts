/**
 * The English message catalogue: every text meant for people. `{name}` is replaced by a parameter.
 * Keys of errors are their codes (src/errors.ts). The Japanese catalogue (ja.ts) must have every key;
 * the type checker enforces it.
 */
export const en = {
  // Errors: one line each, saying what, where, and what to do.
  E_USAGE: '{problem}',
  E_FILE_NOT_FOUND: '{file}: no such file. Check the path to the PST or OST file.',
  E_IS_DIRECTORY: '{file}: is a directory, not a PST file. Give the path of the .pst or .ost file itself.',
  E_FILE_EMPTY: '{file}: the file is empty (0 bytes). Copy the PST again from its original place.',
  E_NOT_PST:
    '{file}: not a PST or OST file (no !BDN signature). Give the .pst file Outlook uses (File > Account Settings > Data Files).',
  E_TRUNCATED:
    '{file}: the file is truncated ({size} bytes, the header says {expected}). Copy it again, or repair it with Outlook\'s scanpst.exe.',
  E_HIGH_ENCRYPTION:
    '{file}: uses Outlook\'s "high" encryption, which cannot be read. In Outlook, export the folders to a new PST (File > Open & Export > Import/Export) and migrate that file.',
  E_UNSUPPORTED_FORMAT: '{file}: unsupported PST format version {version}. Open it in Outlook and export to a new PST.',
  E_PST_CORRUPT: '{file}: the PST structure is damaged ({what}). Repair it with Outlook\'s scanpst.exe and try again.',
  E_ITEM_UNREADABLE: '{file}: item {nid} in "{folder}" cannot be read ({what}).',
  E_CODEPAGE: 'Unknown code page "{codepage}". Give a Windows code page number such as 932 (Japanese) or 1252.',
  E_CONNECT: 'Cannot reach {server}: {what}. Check the address, the port and your network.',
  E_TLS: 'TLS with {server} failed: {what}. Check the server name; --insecure skips the check (not advised).',
  E_TARGET: 'The server {server} refused: {what}.',
  E_AUTH: 'Sign-in to {server} as {user} failed: {what}.',
  E_STATE: 'The checkpoint store {path} cannot be used: {what}.',
  E_INTERRUPTED: 'Stopped. Run "pst2imap resume" to carry on where it stopped.',
  internalError: 'Unexpected error: {message}. Run again with --debug for details, and report it.',
  warning: 'warning: {message}',
} as const;

export type MessageKey = keyof typeof en;
