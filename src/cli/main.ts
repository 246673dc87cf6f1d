/**
 * The pst2imap command line: a thin shell that parses options, calls the library and prints.
 * Errors are turned into one translated line and a documented exit code here, and only here.
 */
import yargs from 'yargs';
import { EXIT, UsageError } from '../errors.js';
import { detectLanguage, language, setLanguage, t } from '../i18n/index.js';
import type { CommandModule } from 'yargs';
import { processIO, reportError, type CliIO } from './output.js';

type CommandFactory = (io: CliIO, setExitCode: (code: number) => void) => CommandModule<object, any>;

/**
 * The commands, in the order help lists them, each loaded only when needed: a command module imports
 * its whole stack (the engine and imapflow, MSAL, the MIME builder, better-sqlite3...), so a run loads
 * the one command it runs, --version none; help and a mistyped command load all of them (help lists them).
 */
const COMMANDS: Array<{ name: string; load: () => Promise<CommandFactory> }> = [
  { name: 'plan', load: async () => (await import('./plan.js')).planCommand },
  { name: 'export', load: async () => (await import('./export.js')).exportCommand },
  { name: 'login', load: async () => (await import('./login.js')).loginCommand },
  { name: 'logout', load: async () => (await import('./login.js')).logoutCommand },
  { name: 'migrate', load: async () => (await import('./migrate.js')).migrateCommand },
  { name: 'resume', load: async () => (await import('./resume.js')).resumeCommand },
  { name: 'status', load: async () => (await import('./status.js')).statusCommand },
  { name: 'verify', load: async () => (await import('./verify.js')).verifyCommand },
];

/** Runs the CLI on `argv` (without node and the script) and resolves to the exit code. */
export async function main(argv: string[], io: CliIO = processIO): Promise<number> {
  // The language and --debug are needed before yargs is built: its help texts come from the catalogue.
  const debug = argv.includes('--debug');
  setLanguage(detectLanguage(explicitLanguage(argv), io.env));

  let exitCode: number = EXIT.ok;
  const setExitCode = (code: number): void => {
    exitCode = code;
  };

  // The command named on the line, if any: only its module is loaded (see COMMANDS).
  const named = commandName(argv);
  const versionOnly = named === null && argv.includes('--version') && !argv.some((word) => word === '--help' || word === '-h');
  const wanted = versionOnly ? [] : COMMANDS.filter((entry) => named === null || entry.name === named);
  const factories = await Promise.all(wanted.map((entry) => entry.load()));

  const parser = yargs(argv)
    .scriptName('pst2imap')
    .locale(language())
    .detectLocale(false)
    .usage(t('cli.usage'))
    .option('lang', { type: 'string', choices: ['en', 'ja'], describe: t('cli.opt.lang') })
    .option('debug', { type: 'boolean', default: false, describe: t('cli.opt.debug') })
    .command(factories.map((factory) => factory(io, setExitCode)))
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

/**
 * The first word that is not an option, when it names a command; null otherwise (no command, or an
 * unknown one: then every command is loaded, for help and yargs' suggestions). The global options that
 * take a value (--lang) are skipped with it.
 */
function commandName(argv: string[]): string | null {
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i];
    if (word === '--') break;
    if (word === '--lang') {
      i += 1;
      continue;
    }
    if (word.startsWith('-')) continue;
    return COMMANDS.some((entry) => entry.name === word) ? word : null;
  }
  return null;
}

function explicitLanguage(argv: string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--lang') return argv[i + 1];
    if (argv[i].startsWith('--lang=')) return argv[i].slice('--lang='.length);
  }
  return undefined;
}
