/**
 * Turns what SQLite or the file system says about the store into one E_STATE error: the path, what is
 * wrong and what to do, in the user's language (src/i18n, keys `state.*`), with SQLite's own words kept
 * verbatim in `detail`. `reason` is the machine-readable part, for the engine and for tests.
 */
import { Pst2ImapError, type MessageParams } from '../errors.js';
import { t } from '../i18n/index.js';

export type StateProblem =
  | 'full'
  | 'io'
  | 'readonly'
  | 'busy'
  | 'jobLocked'
  | 'corrupt'
  | 'tooNew'
  | 'cantOpen';

const KEY_OF: Record<StateProblem, Parameters<typeof t>[0]> = {
  full: 'state.full',
  io: 'state.io',
  readonly: 'state.readonly',
  busy: 'state.busy',
  jobLocked: 'state.jobLocked',
  corrupt: 'state.corrupt',
  tooNew: 'state.tooNew',
  cantOpen: 'state.cantOpen',
};

export function stateError(
  path: string,
  reason: StateProblem,
  params: MessageParams = {},
  options: { cause?: unknown; detail?: string } = {},
): Pst2ImapError {
  return new Pst2ImapError('E_STATE', { path, what: t(KEY_OF[reason], params), reason, ...params }, options);
}

/** SQLite's primary result code of an error thrown by better-sqlite3 ('SQLITE_IOERR_WRITE' -> 'SQLITE_IOERR'). */
function sqliteCode(error: unknown): string | null {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || !code.startsWith('SQLITE_')) return null;
  const second = code.indexOf('_', 'SQLITE_'.length);
  return second === -1 ? code : code.slice(0, second);
}

const ERRNO_PROBLEM: Record<string, StateProblem> = {
  ENOSPC: 'full',
  EDQUOT: 'full',
  EROFS: 'readonly',
  EACCES: 'readonly',
  EPERM: 'readonly',
  EIO: 'io',
};

/**
 * The E_STATE error for `error`, or null when it is not a store problem (a bug in the caller, which must
 * stay visible as such). SQLite result codes: https://www.sqlite.org/rescode.html
 */
export function asStateError(path: string, error: unknown, busyTimeoutMs: number): Pst2ImapError | null {
  if (error instanceof Pst2ImapError) return error;
  const detail = error instanceof Error ? error.message : String(error);
  switch (sqliteCode(error)) {
    case 'SQLITE_FULL':
      return stateError(path, 'full', {}, { cause: error, detail });
    case 'SQLITE_IOERR':
      return stateError(path, 'io', {}, { cause: error, detail });
    case 'SQLITE_READONLY':
      return stateError(path, 'readonly', {}, { cause: error, detail });
    case 'SQLITE_BUSY':
    case 'SQLITE_LOCKED':
      return stateError(path, 'busy', { seconds: Math.max(1, Math.round(busyTimeoutMs / 1000)) }, { cause: error, detail });
    case 'SQLITE_CORRUPT':
    case 'SQLITE_NOTADB':
      return stateError(path, 'corrupt', {}, { cause: error, detail });
    case 'SQLITE_CANTOPEN':
    case 'SQLITE_PERM':
    case 'SQLITE_AUTH':
      return stateError(path, 'cantOpen', {}, { cause: error, detail });
    default:
      break;
  }
  const errno = (error as NodeJS.ErrnoException | null)?.code;
  if (typeof errno === 'string' && errno in ERRNO_PROBLEM) {
    return stateError(path, ERRNO_PROBLEM[errno]!, {}, { cause: error, detail });
  }
  if (errno === 'ENOENT' || errno === 'ENOTDIR' || errno === 'EISDIR') {
    return stateError(path, 'cantOpen', {}, { cause: error, detail });
  }
  return null;
}
