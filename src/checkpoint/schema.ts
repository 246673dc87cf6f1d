/**
 * The store's tables, versioned. A store written by an older pst2imap is brought up to date by running
 * the missing migrations in order, each in the same transaction as the version bump, so an interrupted
 * upgrade leaves the old version intact. A store from a newer pst2imap is refused (E_STATE tooNew).
 *
 * What is deliberately NOT here: passwords, tokens or any credential, and message content (no subjects,
 * no bodies). Reports read subjects from the PST again by node ID.
 */

export interface Migration {
  version: number;
  sql: string;
}

export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    sql: `
      CREATE TABLE jobs (
        id              INTEGER PRIMARY KEY,
        -- PstStore.fingerprint: identifies the PST whatever its path.
        pst_fingerprint TEXT NOT NULL,
        pst_path        TEXT NOT NULL,
        -- scheme://host:port or maildir:DIR, never with user:password@ (see describeTarget).
        target_url      TEXT NOT NULL,
        -- Account name on the server; '' for targets without one (Maildir).
        target_user     TEXT NOT NULL,
        options_json    TEXT NOT NULL,
        status          TEXT NOT NULL CHECK (status IN ('running', 'interrupted', 'finished')),
        -- Who last claimed the job: shown when a second process is refused. The lock itself is an OS
        -- file lock (job-lock.ts), released by the kernel even after kill -9.
        owner_pid       INTEGER,
        owner_host      TEXT,
        created_at      TEXT NOT NULL,
        updated_at      TEXT NOT NULL,
        UNIQUE (pst_fingerprint, target_url, target_user)
      );

      CREATE TABLE items (
        -- Plan order (folder by folder, as the plan lists them): pending() hands items out in this order
        -- and items() pages through a job by it, without OFFSET.
        seq             INTEGER PRIMARY KEY,
        job_id          INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
        -- Node ID of the item in the PST ([MS-PST] 2.2.2.1): unique within a PST and stable across reads.
        nid             INTEGER NOT NULL,
        -- The PST folder path as a JSON array of names: names may themselves contain '/'.
        folder_path     TEXT NOT NULL,
        target_mailbox  TEXT NOT NULL,
        state           TEXT NOT NULL
                        CHECK (state IN ('pending', 'in_flight', 'done', 'skipped', 'failed')),
        -- PR_MESSAGE_SIZE from the PST at planning time.
        size            INTEGER NOT NULL,
        -- Bytes actually appended (the rebuilt message), and their SHA-256 in hex.
        appended_size   INTEGER,
        content_hash    TEXT,
        -- The Message-ID the rebuilt message carries: how an in-flight item is looked up after a crash.
        message_id      TEXT,
        -- From the APPENDUID response code when the server has UIDPLUS (RFC 4315 3).
        uid_validity    INTEGER,
        uid             INTEGER,
        -- Sends started (each move to in_flight counts one).
        attempts        INTEGER NOT NULL DEFAULT 0,
        last_error      TEXT,
        skip_reason     TEXT,
        created_at      TEXT NOT NULL,
        updated_at      TEXT NOT NULL,
        in_flight_at    TEXT,
        done_at         TEXT,
        UNIQUE (job_id, nid),
        CHECK (state <> 'skipped' OR skip_reason IS NOT NULL),
        CHECK (state <> 'failed' OR last_error IS NOT NULL),
        CHECK ((uid IS NULL) = (uid_validity IS NULL))
      );

      CREATE INDEX items_by_state ON items (job_id, state, seq);
    `,
  },
];

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

/** One row: the version the store's tables are at (0 before the first migration). */
export const VERSION_TABLE = `CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)`;
