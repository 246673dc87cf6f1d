/**
 * The errors pst2imap expects. Each carries a machine-readable code and the parameters of its message;
 * the text a person reads comes from the message catalogue (src/i18n), chosen in one place by the CLI,
 * which also maps codes to exit codes (EXIT_CODES below, documented in the README).
 */

export const EXIT = {
  ok: 0,
  /** A bug: anything not foreseen. */
  internal: 1,
  /** Options or arguments are wrong. */
  usage: 2,
  /** The PST/OST file cannot be used (missing, not a PST, truncated, encrypted...). */
  input: 3,
  /** The server cannot be reached or answered unexpectedly. */
  target: 4,
  /** Sign-in failed or is needed. */
  auth: 5,
  /** The job ran but some items failed, were unreadable, or verification found gaps. */
  incomplete: 6,
  /** The checkpoint store cannot be used. */
  state: 7,
  /** Stopped by Ctrl-C; `resume` continues. */
  interrupted: 130,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** Every error code, with the exit code it maps to. */
export const ERROR_CODES = {
  E_USAGE: EXIT.usage,
  E_FILE_NOT_FOUND: EXIT.input,
  E_IS_DIRECTORY: EXIT.input,
  E_FILE_EMPTY: EXIT.input,
  E_NOT_PST: EXIT.input,
  E_TRUNCATED: EXIT.input,
  E_HIGH_ENCRYPTION: EXIT.input,
  E_UNSUPPORTED_FORMAT: EXIT.input,
  E_PST_CORRUPT: EXIT.input,
  E_ITEM_UNREADABLE: EXIT.input,
  E_CODEPAGE: EXIT.usage,
  E_CONNECT: EXIT.target,
  E_TLS: EXIT.target,
  E_TARGET: EXIT.target,
  E_AUTH: EXIT.auth,
  E_AUTH_LOGIN_NEEDED: EXIT.auth,
  E_AUTH_CODE_EXPIRED: EXIT.auth,
  E_AUTH_DECLINED: EXIT.auth,
  E_AUTH_WRONG_ACCOUNT: EXIT.auth,
  E_AUTH_CLIENT_ID: EXIT.auth,
  E_AUTH_CLIENT_ID_FORMAT: EXIT.usage,
  E_AUTH_CLIENT_REJECTED: EXIT.auth,
  E_CONFIG: EXIT.usage,
  E_STATE: EXIT.state,
  E_INTERRUPTED: EXIT.interrupted,
  /** The output folder of `export` cannot be written. */
  E_OUTPUT_DIR: EXIT.usage,
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export type MessageParams = Record<string, string | number>;

export class Pst2ImapError extends Error {
  readonly code: ErrorCode;
  readonly params: MessageParams;
  /** Words of a server or a library, verbatim, kept apart from our own message. */
  readonly detail?: string;

  constructor(
    code: ErrorCode,
    params: MessageParams = {},
    options: { cause?: unknown; detail?: string } = {},
  ) {
    super(`${code} ${JSON.stringify(params)}${options.detail ? `: ${options.detail}` : ''}`, {
      cause: options.cause,
    });
    this.name = 'Pst2ImapError';
    this.code = code;
    this.params = params;
    this.detail = options.detail;
  }

  get exitCode(): ExitCode {
    return ERROR_CODES[this.code];
  }
}

/** Errors of the PST layer: the file, where and what. */
export class PstError extends Pst2ImapError {
  constructor(
    code: ErrorCode,
    params: MessageParams & { file: string },
    options: { cause?: unknown; detail?: string } = {},
  ) {
    super(code, params, options);
    this.name = 'PstError';
  }
}

export class UsageError extends Pst2ImapError {
  constructor(params: MessageParams & { problem: string }) {
    super('E_USAGE', params);
    this.name = 'UsageError';
  }
}

export function exitCodeOf(error: unknown): ExitCode {
  return error instanceof Pst2ImapError ? error.exitCode : EXIT.internal;
}
