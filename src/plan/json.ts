/**
 * The plan as JSON for scripts (`plan --json`): schema 'pst2imap.plan/1', documented field by field in
 * docs/plan-json.md. Fields are only ever added within a schema version.
 */
import type { Plan, PlanFolder } from './plan.js';

export const PLAN_SCHEMA = 'pst2imap.plan/1';

const iso = (date: Date | null) => (date ? date.toISOString() : null);

function folderJson(folder: PlanFolder): Record<string, unknown> {
  return {
    path: folder.path,
    role: folder.role,
    containerClass: folder.containerClass,
    selected: folder.selected,
    target: folder.target,
    wireName: folder.wireName,
    mergedSpecial: folder.mergedSpecial,
    targetExists: folder.targetExists,
    targetMessages: folder.targetMessages,
    nameChanges: folder.nameChanges,
    contentCount: folder.contentCount,
    itemsRead: folder.itemsRead,
    send: folder.send,
    sendBytes: folder.sendBytes,
    skipped: folder.skipped,
    nonMail: folder.nonMail,
    undated: folder.undated,
    oldest: iso(folder.oldest),
    newest: iso(folder.newest),
    problems: folder.problems.map(({ nid, code, detail }) => ({ nid, code, detail })),
    children: folder.children.map(folderJson),
  };
}

export function planToJson(plan: Plan, extra: { pst: Record<string, unknown>; estimateSeconds: number }): Record<string, unknown> {
  return {
    schema: PLAN_SCHEMA,
    pst: extra.pst,
    server: {
      delimiter: plan.server.delimiter,
      specialUse: plan.server.specialUse,
      utf8Accept: plan.server.utf8Accept,
      appendLimit: plan.server.appendLimit,
    },
    selection: {
      folders: plan.selection.folders,
      exclude: plan.selection.exclude,
      targetRoot: plan.selection.targetRoot,
      map: plan.selection.map,
      mergeSpecial: plan.selection.mergeSpecial,
      since: iso(plan.selection.since),
      before: iso(plan.selection.before),
      maxSize: plan.selection.maxSize,
    },
    sizeLimit: plan.sizeLimit,
    totals: { ...plan.totals, oldest: iso(plan.totals.oldest), newest: iso(plan.totals.newest) },
    estimateSeconds: Math.round(extra.estimateSeconds),
    root: folderJson(plan.root),
  };
}
