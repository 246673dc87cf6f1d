/**
 * One migrate at a time per job. Two processes sending the same PST to the same account would both see
 * the same items pending and send them twice, so the second one must refuse.
 *
 * The lock is an OS file lock, taken through SQLite on a small side file (state.db.job-<id>.lock): an
 * open BEGIN EXCLUSIVE transaction holds SQLite's EXCLUSIVE lock (fcntl on POSIX, LockFileEx on
 * Windows) for as long as this process lives. The kernel drops it when the process ends in any way,
 * kill -9 and power loss included, so there is never a stale lock to clean up by hand, and no PID
 * guessing. The main store stays free for the other jobs and for readers (`status`, reports).
 *
 * POSIX drops all of a process's fcntl locks on a file when ANY descriptor of it is closed, so this file
 * is only ever opened through SQLite, which tracks its own descriptors per inode.
 */
import Database from 'better-sqlite3';
import { chmodSync } from 'node:fs';

export function jobLockPath(storePath: string, jobId: number): string {
  return `${storePath}.job-${jobId}.lock`;
}

export class JobLock {
  private constructor(private connection: Database.Database | null) {}

  /** The lock, or null when another process (or another journal in this one) holds it. */
  static tryAcquire(lockPath: string): JobLock | null {
    const connection = new Database(lockPath, { timeout: 0 });
    try {
      chmodSync(lockPath, 0o600);
      connection.exec('BEGIN EXCLUSIVE');
      return new JobLock(connection);
    } catch (error) {
      connection.close();
      if ((error as { code?: string }).code === 'SQLITE_BUSY') return null;
      throw error;
    }
  }

  /**
   * Whether some process holds the lock now (for status: a job marked running whose process died); null
   * when it cannot be told (a store on read-only media can still be read).
   */
  static isHeld(lockPath: string): boolean | null {
    let probe: JobLock | null;
    try {
      probe = JobLock.tryAcquire(lockPath);
    } catch {
      return null;
    }
    if (!probe) return true;
    probe.release();
    return false;
  }

  release(): void {
    if (!this.connection) return;
    try {
      this.connection.exec('ROLLBACK');
    } finally {
      this.connection.close();
      this.connection = null;
    }
  }
}
