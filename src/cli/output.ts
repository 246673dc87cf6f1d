import { inspect } from 'node:util';
import { Pst2ImapError, exitCodeOf, type ExitCode } from '../errors.js';
import { t } from '../i18n/index.js';

/** Where the CLI writes: the process's streams, or a test's. */
export interface CliIO {
  stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
}

export const processIO: CliIO = {
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  env: process.env,
};

/**
 * One line for a person (what, where, what to do) and the documented exit code. The stack and the
 * causes only with --debug: a user facing a damaged PST needs the sentence, not the trace.
 */
export function reportError(error: unknown, io: CliIO, debug: boolean): ExitCode {
  const line =
    error instanceof Pst2ImapError
      ? t(error.code, error.params) + (error.detail && error.code !== 'E_USAGE' ? ` [${error.detail}]` : '')
      : t('internalError', { message: error instanceof Error ? error.message : String(error) });
  io.stderr.write(`pst2imap: ${oneLine(line)}\n`);
  if (debug) io.stderr.write(`${inspect(error, { depth: 6 })}\n`);
  return exitCodeOf(error);
}

export function warn(io: CliIO, message: string): void {
  io.stderr.write(`pst2imap: ${t('warning', { message: oneLine(message) })}\n`);
}

/** Library and server words can hold line breaks; an error stays one line. */
function oneLine(text: string): string {
  return text.replace(/\s*[\r\n]+\s*/g, ' ').trim();
}
