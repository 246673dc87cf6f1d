/**
 * The plan of a run, as `migrate` and `verify` need it: the same rules as `plan` (src/plan), applied to
 * the items the PST reader lists, with what the server says of itself. Each item of a selected folder
 * that has a mailbox becomes a RunItem, with the plan's decision (send, or skip and why).
 */
import { decideItem, itemDate, PlanBuilder, planFolders, type Plan, type SkipReason } from '../plan/index.js';
import type { SelectionOptions, ServerFacts } from '../plan/types.js';
import type { PstFolder } from '../pst/types.js';
import type { PstSource } from './source.js';

export interface RunItem {
  nid: number;
  folder: PstFolder;
  mailbox: string;
  /** PR_MESSAGE_SIZE. */
  size: number;
  subject: string;
  /** The item's date (itemDate) in ms since 1970: a run holds one RunItem per item, and a Date object is 96 bytes. */
  date: number | null;
  /** PR_INTERNET_MESSAGE_ID as stored, or null. */
  internetMessageId: string | null;
  /** null: send; else why it is skipped. */
  skip: SkipReason | null;
}

export interface RunPlan {
  plan: Plan;
  /** In PST order. */
  items: RunItem[];
}

/** A RunItem's date as events and reports give it: ISO 8601 text, or null. */
export function dateText(date: number | null): string | null {
  return date === null ? null : new Date(date).toISOString();
}

export const SKIP_WORDS: Record<SkipReason, string> = {
  'non-mail': 'not mail (IMAP cannot hold it)',
  'too-large': 'larger than the size limit',
  'outside-dates': 'outside the dates of --since / --before',
};

/**
 * Why --skip-existing left an item out. Unlike the reasons above, it is a fact about the server, not a
 * rule of this run: the message is there, so a later run without --skip-existing must not send it again.
 */
export const ALREADY_ON_SERVER = 'already on the server (same Message-ID in the target folder)';

export async function buildRunPlan(source: PstSource, selection: SelectionOptions, server: ServerFacts): Promise<RunPlan> {
  const topFolderName = source.store.displayName || 'PST';
  const builder = new PlanBuilder(source.root, selection, server, { topFolderName });
  const foldersByNid = new Map<number, PstFolder>();
  const collect = (folder: PstFolder) => {
    foldersByNid.set(folder.nid, folder);
    folder.children.forEach(collect);
  };
  collect(source.root);
  // Made once per item as the summaries come (100,000 items make 100,000 of them): the mailbox is known
  // once the plan is finished, and filled in then.
  const read: RunItem[] = [];
  const limit = sizeLimit(selection, server);
  for await (const chunk of source.scan()) {
    const folder = foldersByNid.get(chunk.folderNid)!;
    for (const entry of chunk.entries) {
      builder.add(chunk.folderNid, entry);
      if ('problem' in entry) continue;
      const decision = decideItem(entry, selection, limit);
      read.push({
        nid: entry.nid,
        folder,
        mailbox: '',
        size: entry.size,
        subject: entry.subject,
        date: itemDate(entry)?.getTime() ?? null,
        internetMessageId: entry.internetMessageId,
        skip: decision.action === 'skip' ? decision.reason : null,
      });
    }
  }
  const plan = builder.finish();
  const planByNid = new Map([...planFolders(plan.root)].map((folder) => [folder.nid, folder]));
  const items = read.filter((item) => {
    const planFolder = planByNid.get(item.folder.nid);
    if (!planFolder?.selected || planFolder.target === null) return false;
    item.mailbox = planFolder.target;
    return true;
  });
  return { plan, items };
}

function sizeLimit(selection: SelectionOptions, server: ServerFacts): number | null {
  const limits = [selection.maxSize, server.appendLimit].filter((limit): limit is number => limit !== null);
  return limits.length === 0 ? null : Math.min(...limits);
}
