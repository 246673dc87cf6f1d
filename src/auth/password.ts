/**
 * Where a password for a plain IMAP login comes from. Never from the command line: argv is visible to
 * every user of the machine (`ps`), so `--password VALUE` is refused by the CLI before it gets here.
 */
import { readFile } from 'node:fs/promises';
import { UsageError } from '../errors.js';
import { t } from '../i18n/index.js';

export interface PasswordSources {
  user: string;
  env: NodeJS.ProcessEnv;
  passwordFile?: string;
  /** A terminal to ask on; without one, a missing password is an error rather than a hang. */
  interactive: boolean;
}

export const PASSWORD_VARIABLE = 'PST2IMAP_PASSWORD';

export async function resolvePassword(sources: PasswordSources): Promise<string> {
  if (sources.passwordFile !== undefined) {
    let text: string;
    try {
      text = await readFile(sources.passwordFile, 'utf8');
    } catch (error) {
      const what = (error as NodeJS.ErrnoException).code ?? 'unreadable';
      throw new UsageError({ problem: t('usage.passwordFile', { file: sources.passwordFile, what }) });
    }
    // The first line only: editors add a trailing newline, and a password never spans lines.
    return text.split(/\r?\n/, 1)[0];
  }
  const fromEnv = sources.env[PASSWORD_VARIABLE];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  if (sources.interactive) {
    // Loaded only here: the prompt library weighs some 14 MB, for the runs that ask.
    const { password: promptPassword } = await import('@inquirer/prompts');
    return promptPassword({ message: `${sources.user}:`, mask: '*' });
  }
  throw new UsageError({ problem: t('usage.noPassword', { user: sources.user }) });
}
