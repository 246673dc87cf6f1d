/**
 * Where the checkpoint store lives by default: one SQLite file (state.db) for every job, in the user's
 * state directory as the XDG Base Directory Specification defines it ($XDG_STATE_HOME, "data that should
 * persist between restarts but is not important or portable enough for the data directory"), and in
 * %LOCALAPPDATA% on Windows, which is not roamed between machines (a journal belongs to one machine).
 */
import { homedir } from 'node:os';
import { join } from 'node:path';

export const STATE_FILE_NAME = 'state.db';

export function stateDir(
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
): string {
  if (platform === 'win32') {
    const localAppData = env.LOCALAPPDATA || join(env.USERPROFILE || homedir(), 'AppData', 'Local');
    return join(localAppData, 'pst2imap');
  }
  // The specification says a relative XDG_STATE_HOME is invalid and must be ignored.
  const xdgStateHome = env.XDG_STATE_HOME && env.XDG_STATE_HOME.startsWith('/') ? env.XDG_STATE_HOME : '';
  return join(xdgStateHome || join(env.HOME || homedir(), '.local', 'state'), 'pst2imap');
}

/** The store used when `--state` is not given. */
export function defaultStatePath(
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
): string {
  return join(stateDir(env, platform), STATE_FILE_NAME);
}
