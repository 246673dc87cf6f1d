/**
 * The pst2imap command line: a thin shell that parses options, calls the library and prints.
 * Errors are turned into one translated line and a documented exit code here, and only here.
 */
import yargs from 'yargs';
import { EXIT, UsageError } from '../errors.js';
import { detectLanguage, language, setLanguage, t } from '../i18n/index.js';
import { processIO, reportError, type CliIO } from './output.js';
import { loginCommand, logoutCommand } from './login.js';
import { exportCommand } from './export.js';
import { migrateCommand } from './migrate.js';
import { planCommand } from './plan.js';
import { resumeCommand } from './resume.js';
import { statusCommand } from './status.js';
import { verifyCommand } from './verify.js';

/** Runs the CLI on `argv` (without node and the script) and resolves to the exit code. */
export async function main(argv: string[], io: CliIO = processIO): Promise<number> {
  // The language and --debug are needed before yargs is built: its help texts come from the catalogue.
  const debug = argv.includes('--debug');
  setLanguage(detectLanguage(explicitLanguage(argv), io.env));

  let exitCode: number = EXIT.ok;
  const setExitCode = (code: number): void => {
    exitCode = code;
  };

  const parser = yargs(argv)
    .scriptName('pst2imap')
    .locale(language())
    .detectLocale(false)
    .usage(t('cli.usage'))
    .option('lang', { type: 'string', choices: ['en', 'ja'], describe: t('cli.opt.lang') })
    .option('debug', { type: 'boolean', default: false, describe: t('cli.opt.debug') })
    .command(planCommand(io, setExitCode))
    .command(exportCommand(io, setExitCode))
    .command(loginCommand(io, setExitCode))
    .command(logoutCommand(io, setExitCode))
    .command(migrateCommand(io, setExitCode))
    .command(resumeCommand(io, setExitCode))
    .command(statusCommand(io, setExitCode))
    .command(verifyCommand(io, setExitCode))
    .demandCommand(1)
    .recommendCommands()
    .strict()
    .epilogue(t('cli.epilogue'))
    .help()
    .alias('help', 'h')
    .version()
    .wrap(Math.min(110, io.stdout.columns ?? 100))
    .exitProcess(false)
    .fail((message, error) => {
      throw error ?? new UsageError({ problem: message });
    });

  try {
    await parser.parseAsync();
    return exitCode;
  } catch (error) {
    return reportError(error, io, debug);
  }
}

function explicitLanguage(argv: string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--lang') return argv[i + 1];
    if (argv[i].startsWith('--lang=')) return argv[i].slice('--lang='.length);
  }
  return undefined;
}
