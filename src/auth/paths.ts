/**
 * Where pst2imap keeps what belongs to the user: credentials and settings in the config directory, job
 * state in the state directory. Secrets are written owner-only (file 0600 in a 0700 directory) and
 * atomically, so a crash never leaves half a token cache behind.
 */
import { chmod, mkdir, open, rename, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

export function configDir(env: NodeJS.ProcessEnv = process.env): string {
  if (process.platform === 'win32' && env.APPDATA) return join(env.APPDATA, 'pst2imap');
  return join(env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config'), 'pst2imap');
}

export async function ensurePrivateDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  // mkdir's mode does not apply to a directory that already existed, nor past the umask.
  await chmod(dir, 0o700);
}

/** Writes `content` to `path` readable by the owner only: a 0600 temporary file renamed into place. */
export async function writePrivateFile(path: string, content: string): Promise<void> {
  await ensurePrivateDir(dirname(path));
  const temporary = `${path}.${process.pid}.tmp`;
  const handle = await open(temporary, 'w', 0o600);
  try {
    await handle.writeFile(content, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  await chmod(temporary, 0o600);
  await rename(temporary, path);
}

export async function removeFile(path: string): Promise<boolean> {
  try {
    await rm(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}
