/**
 * Reconciles the PST and the target: for every target folder of the selection, the Message-IDs the PST
 * sends there against those the server holds (one query per folder). A message is missing when the
 * server has fewer copies of its Message-ID than the PST has items with it; doubled when it has more.
 * Messages on the server that did not come from the PST are counted apart and are not a problem.
 *
 * The Message-ID of an item is the one recorded when it was sent (the checkpoint store), else the
 * PST's own, else the one the rebuild derives (the item is read again for it).
 */
import { existsSync } from 'node:fs';
import { openJournal } from '../checkpoint/index.js';
import type { SelectionOptions, ServerFacts } from '../plan/types.js';
import { normalizeMessageId, type Target, type TargetSession } from '../target/target.js';
import { ALREADY_ON_SERVER, buildRunPlan } from './run-plan.js';
import { PstSource } from './source.js';

export interface VerifyOptions {
  pstPath: string;
  codepage?: number;
  selection: SelectionOptions;
  target: Target;
  provider: { messageLimit: number | null; reservedNames: string[]; maxNameLength: number | null };
  /** The checkpoint store, read if it exists (never created). */
  statePath?: string;
}

export interface VerifyFolder {
  folder: string[];
  mailbox: string;
  /** Messages of the PST selection for this mailbox. */
  expected: number;
  /** Messages the mailbox holds, all of them. */
  onServer: number;
  missing: number;
  duplicates: number;
  /** Messages on the server that are not from the PST. */
  others: number;
  /** Message-IDs missing (the first few). */
  missingIds: string[];
}

export interface VerifyResult {
  folders: VerifyFolder[];
  expected: number;
  missing: number;
  duplicates: number;
}

const LISTED_IDS = 20;

export async function verify(options: VerifyOptions): Promise<VerifyResult> {
  const source = await PstSource.open({ pstPath: options.pstPath, codepage: options.codepage });
  let session: TargetSession | null = null;
  try {
    session = await options.target.open();
    const advertised = await session.facts();
    const server: ServerFacts = {
      ...advertised,
      appendLimit: advertised.appendLimit ?? options.provider.messageLimit,
      reservedNames: options.provider.reservedNames,
      maxNameLength: options.provider.maxNameLength,
    };
    const { items } = await buildRunPlan(source, options.selection, server);

    // Message-IDs recorded when the items were sent, and items skipped on purpose after the plan
    // (too large once rebuilt): those are not expected on the server.
    const recorded = new Map<number, string>();
    const skippedLater = new Set<number>();
    if (options.statePath === undefined || existsSync(options.statePath)) {
      const journal = openJournal(options.statePath);
      try {
        const job = journal
          .jobs()
          .find((info) => info.fingerprint === source.store.fingerprint && info.target.url === options.target.url && info.target.user.toLowerCase() === options.target.user.toLowerCase());
        const view = job ? journal.job(job.id) : null;
        if (view) {
          for (const item of view.items()) {
            if (item.messageId) recorded.set(item.nid, normalizeMessageId(item.messageId));
            if (item.state === 'skipped' && item.skipReason && item.skipReason !== ALREADY_ON_SERVER) skippedLater.add(item.nid);
          }
        }
      } finally {
        journal.close();
      }
    }

    const byMailbox = new Map<string, { folder: string[]; ids: Map<string, number> }>();
    for (const item of items) {
      if (item.skip || skippedLater.has(item.nid)) continue;
      let id = recorded.get(item.nid) ?? (item.internetMessageId ? normalizeMessageId(item.internetMessageId) : null);
      if (!id) {
        const rebuilt = await source.read(item.nid, item.folder.role);
        id = rebuilt.ok ? normalizeMessageId(rebuilt.messageId) : `unreadable item ${item.nid}`;
      }
      let entry = byMailbox.get(item.mailbox);
      if (!entry) {
        entry = { folder: item.folder.path, ids: new Map() };
        byMailbox.set(item.mailbox, entry);
      }
      entry.ids.set(id, (entry.ids.get(id) ?? 0) + 1);
    }

    const result: VerifyResult = { folders: [], expected: 0, missing: 0, duplicates: 0 };
    for (const [mailbox, { folder, ids }] of byMailbox) {
      const onServer = await session.messageIds(mailbox);
      const row: VerifyFolder = { folder, mailbox, expected: 0, onServer: 0, missing: 0, duplicates: 0, others: 0, missingIds: [] };
      for (const count of onServer.values()) row.onServer += count;
      for (const [id, wanted] of ids) {
        row.expected += wanted;
        const found = onServer.get(id) ?? 0;
        if (found < wanted) {
          row.missing += wanted - found;
          if (row.missingIds.length < LISTED_IDS) row.missingIds.push(id);
        } else if (found > wanted) {
          row.duplicates += found - wanted;
        }
      }
      for (const [id, count] of onServer) if (!ids.has(id)) row.others += count;
      result.folders.push(row);
      result.expected += row.expected;
      result.missing += row.missing;
      result.duplicates += row.duplicates;
    }
    return result;
  } finally {
    await session?.close().catch(() => {});
    await source.close();
  }
}
