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
  E_AUTH_LOGIN_NEEDED: 'Sign-in needed for {user} ({why}). Run: pst2imap login --user {user}',
  E_AUTH_CODE_EXPIRED: 'The sign-in code for {user} expired before it was used. Run pst2imap login again and enter the code within 15 minutes.',
  E_AUTH_DECLINED: 'Sign-in for {user} was declined. Run pst2imap login again and accept the IMAP permission.',
  E_AUTH_WRONG_ACCOUNT: 'You signed in as {signedIn}, not {user}. Run pst2imap login again and sign in with {user}.',
  E_AUTH_CLIENT_ID:
    'No application (client) ID for Microsoft sign-in. Register one (README, "Register an app in Microsoft Entra"), then give --client-id, set PST2IMAP_CLIENT_ID, or put "clientId" in {configFile}.',
  E_AUTH_CLIENT_ID_FORMAT: 'The client ID "{clientId}" is not an application ID (it looks like 00000000-0000-0000-0000-000000000000). Copy it from the app\'s overview page in Microsoft Entra.',
  E_AUTH_CLIENT_REJECTED:
    'Microsoft refused the application (client) ID. Check the app registration (README, "Register an app in Microsoft Entra"): supported account types, "Allow public client flows", and the IMAP.AccessAsUser.All permission.',
  E_CONFIG: 'The settings file {file} cannot be used: {what}. Fix or delete it.',
  E_STATE: 'The checkpoint store {path} cannot be used: {what}.',
  // What is wrong with the checkpoint store ({what} of E_STATE), and what to do.
  'state.full':
    'the disk is full. Free some disk space, then run "pst2imap resume": what was sent is recorded, nothing is lost or sent twice',
  'state.io': 'reading or writing the file failed (a disk or network drive error). Check the disk, then run "pst2imap resume"',
  'state.readonly': 'it is read-only. Make the file and its folder writable, or choose another file with --state',
  'state.busy': 'another pst2imap kept it locked for more than {seconds} seconds. Try again when the other command has finished',
  'state.jobLocked':
    'another pst2imap (process {pid} on {host}) is already moving this PST to this account. Let it finish or stop it first: two at once could send mail twice',
  'state.corrupt':
    'the file is damaged or is not a pst2imap checkpoint store. Move it aside, or choose another file with --state',
  'state.tooNew': 'it was written by a newer pst2imap (store version {found}; this one knows up to {known}). Update pst2imap',
  'state.cantOpen': 'it cannot be opened or created. Check that its folder exists and belongs to you, or choose another file with --state',
  E_INTERRUPTED: 'Stopped. Run "pst2imap resume" to carry on where it stopped.',
  internalError: 'Unexpected error: {message}. Run again with --debug for details, and report it.',
  warning: 'warning: {message}',
  // The command line: help texts and usage problems.
  'cli.usage': 'Usage: $0 <command> [options]',
  'cli.epilogue': 'Exit codes: 0 done, 2 usage, 3 PST file, 4 server, 5 sign-in, 6 incomplete, 7 checkpoint store, 130 stopped. See the README.',
  'cli.opt.lang': 'Language of messages and help: en or ja (default: from LANG / LC_ALL)',
  'cli.opt.debug': 'Show details and stack traces of errors (never secrets)',
  'cli.opt.json': 'Print machine-readable JSON instead of text',
  'cli.opt.quiet': 'Print nothing but errors and the result',
  'cli.opt.folder': 'PST folder path or glob to include (repeatable), e.g. "Inbox/**"; default: every mail folder',
  'cli.opt.exclude': 'PST folder path or glob to leave out (repeatable)',
  'cli.opt.targetRoot': 'Put every non-special target folder under this prefix, e.g. "PST/2019"',
  'cli.opt.map': 'Send a PST folder to a chosen target folder: "PST path=Target path" (repeatable)',
  'cli.opt.special': 'Merge special folders (Inbox, Sent Items, ...) into the server\'s own; --no-special keeps them apart',
  'cli.opt.since': 'Only items dated on or after this day (YYYY-MM-DD, local time)',
  'cli.opt.before': 'Only items dated before this day (YYYY-MM-DD, local time)',
  'cli.opt.maxSize': 'Skip items larger than this (e.g. 25MB)',
  'cli.opt.pick': 'Choose the folders in an interactive list (needs a terminal)',
  'cli.opt.codepage': 'Code page of 8-bit text in old (ANSI) PST files, e.g. 932 for Japanese',
  'cli.opt.to': 'Target: imaps://host[:port], imap://host[:port] or maildir:DIR',
  'cli.opt.provider': 'Server preset: outlook, office365 or generic',
  'cli.opt.user': 'Account name on the server',
  'cli.opt.passwordFile': 'Read the password from this file (first line)',
  'cli.opt.password': 'Refused: a password on the command line shows in the process list',
  'cli.opt.rate': 'Messages per second used for the time estimate',
  'cli.opt.insecure': 'Do not verify the server\'s TLS certificate (not advised)',
  'cli.cmd.plan': 'Dry run: show the folder tree, where each folder will go, counts, sizes and what will be skipped. Writes nothing.',
  'cli.arg.pst': 'The PST or OST file',
  'usage.badSize': 'Invalid size "{value}" for --{option}: give bytes or a unit, e.g. 500KB, 35MB, 2GB.',
  'usage.badDate': 'Invalid date "{value}" for --{option}: use YYYY-MM-DD, e.g. 2019-04-01.',
  'usage.datesReversed': '--since {since} is not before --before {before}: nothing could be selected.',
  'usage.badMap': 'Invalid --map "{value}": use "PST path=Target path", e.g. --map "Inbox/Old=Archive/2019".',
  'usage.badRate': 'Invalid --{option} "{value}": give a positive number.',
  'usage.passwordArgument': 'A password given with --password would show in the process list. Use the PST2IMAP_PASSWORD environment variable, --password-file FILE, or type it at the prompt.',
  'usage.pickNeedsTty': '--pick needs a terminal to show the folder list. Use --folder and --exclude in scripts.',
  'usage.noPassword': 'No password for {user}: set PST2IMAP_PASSWORD, use --password-file FILE, or run in a terminal to be asked.',
  'usage.passwordFile': 'Cannot read the password file {file}: {what}.',
  'usage.needUser': '--to {target} needs --user: the account name on the server.',
  'cli.opt.tenant': 'Microsoft account type: consumers (Outlook.com, Hotmail, Live), organizations (work or school), common',
  'cli.opt.clientId': 'Application (client) ID registered in Microsoft Entra (or PST2IMAP_CLIENT_ID, or clientId in the config file)',
  'cli.cmd.login': 'Sign in to Outlook.com or Microsoft 365 with a code shown here (OAuth2 device code); the tokens are kept for later commands',
  'cli.cmd.logout': 'Forget the stored sign-in of an account',
  'login.prompt': 'To sign in, open {url} in any browser and enter the code {code} (valid for {minutes} minutes). Waiting...',
  'login.done': 'Signed in as {user}. The sign-in is kept in {file} (readable only by you); "pst2imap logout --user {user}" removes it.',
  'logout.done': 'The stored sign-in of {user} was removed.',
  'logout.none': 'No stored sign-in for {user}: nothing to remove.',
} as const;

export type MessageKey = keyof typeof en;
