/**
 * How the bench calls pst2imap. `export` and `migrate` are being built; when they land, the two argv
 * lines below are all there is to adjust (their options as the README documents the shared ones). A
 * command is used only when `pst2imap <command> --help` succeeds; otherwise every run that needs it says
 * "not available yet" and measures nothing for it.
 *
 * The CLI runs from the sources through tsx (bench/cli.ts), or from the build (bin/pst2imap.js, after
 * `npm run build`) with `--built`.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from './proc.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

export interface ImapTargetForCli {
  port: number;
  user: string;
  password: string;
}

/** `pst2imap export <pst> --to DIR`: one .eml per message under DIR. */
export const exportArgs = (pst: string, dir: string): string[] => ['export', pst, '--to', dir, '--quiet'];

/**
 * `pst2imap migrate <pst> --to imap://127.0.0.1:PORT`, password from PST2IMAP_PASSWORD, each run under
 * its own target root with special folders kept apart, so runs side by side never meet in one mailbox.
 */
export const migrateArgs = (pst: string, target: ImapTargetForCli, stateDir: string, connections: number, targetRoot: string): string[] => [
  'migrate', pst, '--to', `imap://127.0.0.1:${target.port}`, '--provider', 'generic', '--auth', 'password', '--user', target.user,
  '--state', join(stateDir, 'state.db'), '--connections', String(connections), '--target-root', targetRoot, '--no-special', '--quiet',
];

export interface Pst2imapCli {
  /** Program and leading arguments. */
  command: string;
  prefix: string[];
  label: string;
}

export function cli(built: boolean): Pst2imapCli {
  if (built) {
    if (!existsSync(join(ROOT, 'dist', 'cli', 'main.js'))) throw new Error('--built: dist/ is missing, run `npm run build` first');
    return { command: process.execPath, prefix: [join(ROOT, 'bin', 'pst2imap.js')], label: 'node bin/pst2imap.js (dist/)' };
  }
  return { command: process.execPath, prefix: ['--import', 'tsx', join(ROOT, 'bench', 'cli.ts')], label: 'node --import tsx bench/cli.ts (src/)' };
}

/** Whether `pst2imap <command> --help` exits 0 (yargs refuses an unknown command in strict mode). */
export async function hasCommand(program: Pst2imapCli, command: 'export' | 'migrate'): Promise<boolean> {
  const result = await run(program.command, [...program.prefix, command, '--help'], { cwd: ROOT, timeoutMs: 60_000 });
  return result.code === 0 && new RegExp(`pst2imap ${command}\\b`).test(result.stdout);
}

export function cliEnv(password: string): NodeJS.ProcessEnv {
  return { ...process.env, PST2IMAP_PASSWORD: password, NO_COLOR: '1' };
}

export { ROOT };
