/**
 * The plan: for every PST folder, whether it is taken, where it goes, and what happens to each item.
 * Pure: the folder tree, the items (fed one at a time, so a multi-GB PST is never held in memory), the
 * options and the server's facts in; a plan out. `plan` prints it, `migrate` and `export` follow it.
 */
import type { FolderRole, ItemKind, MessageSummary, PstFolder, ReadProblem } from '../pst/types.js';
import { isSelected, parsePattern, type FolderPattern } from './select.js';
import type { SelectionOptions, ServerFacts } from './types.js';
import { encodeModifiedUtf7 } from './utf7.js';

export type SkipReason = 'non-mail' | 'too-large' | 'outside-dates';

export type ItemDecision = { action: 'send' } | { action: 'skip'; reason: SkipReason };

/** What changed in a folder name to make it valid on the server, shown to the user. */
export interface NameChange {
  kind: 'delimiter' | 'invalid-character' | 'whitespace' | 'empty' | 'too-long' | 'reserved' | 'collision' | 'utf7';
  from: string;
  to: string;
}

export interface PlanFolder {
  nid: number;
  path: string[];
  role: FolderRole | null;
  containerClass: string;
  selected: boolean;
  /** Target mailbox, segments joined with the server's delimiter; null when not selected. */
  target: string | null;
  /** How the target travels on the wire when it differs (modified UTF-7). */
  wireName: string | null;
  /** The target is one of the server's special-use folders (merged, not created). */
  mergedSpecial: boolean;
  nameChanges: NameChange[];
  /** Whether the target already exists on the server, and its message count (null: unknown). */
  targetExists: boolean | null;
  targetMessages: number | null;
  contentCount: number;
  itemsRead: number;
  send: number;
  sendBytes: number;
  skipped: Record<SkipReason, number>;
  nonMail: Partial<Record<ItemKind, number>>;
  /** Items sent that have no date at all (kept: nothing says they are outside the dates). */
  undated: number;
  oldest: Date | null;
  newest: Date | null;
  problems: ReadProblem[];
  children: PlanFolder[];
}

export interface PlanTotals {
  folders: number;
  foldersSelected: number;
  send: number;
  sendBytes: number;
  skipped: Record<SkipReason, number>;
  nonMail: Partial<Record<ItemKind, number>>;
  problems: number;
  oldest: Date | null;
  newest: Date | null;
}

export interface Plan {
  selection: SelectionOptions;
  server: ServerFacts;
  /** The effective size limit: the smaller of --max-size and the server's APPENDLIMIT. */
  sizeLimit: number | null;
  root: PlanFolder;
  totals: PlanTotals;
}

/** Outlook.com's names for its special folders, used when the server does not advertise special-use. */
export const DEFAULT_SPECIAL_NAMES: Record<Exclude<FolderRole, 'outbox'>, string> = {
  inbox: 'INBOX',
  sent: 'Sent',
  drafts: 'Drafts',
  trash: 'Deleted',
  junk: 'Junk',
  archive: 'Archive',
};

/** The date an item is filed under: when it arrived, else when it was sent, else made or changed. */
export function itemDate(item: MessageSummary): Date | null {
  return item.messageDeliveryTime ?? item.clientSubmitTime ?? item.creationTime ?? item.lastModificationTime;
}

export function sizeLimitOf(selection: SelectionOptions, server: ServerFacts): number | null {
  const limits = [selection.maxSize, server.appendLimit].filter((limit): limit is number => limit !== null);
  return limits.length === 0 ? null : Math.min(...limits);
}

/** What happens to one item: the same rule for plan, migrate and export. */
export function decideItem(item: MessageSummary, selection: SelectionOptions, sizeLimit: number | null): ItemDecision {
  if (item.kind !== 'mail') return { action: 'skip', reason: 'non-mail' };
  if (sizeLimit !== null && item.size > sizeLimit) return { action: 'skip', reason: 'too-large' };
  const date = itemDate(item);
  if (date && ((selection.since && date < selection.since) || (selection.before && date >= selection.before))) {
    return { action: 'skip', reason: 'outside-dates' };
  }
  return { action: 'send' };
}

const FULLWIDTH_OFFSET = 0xfee0;

/** A look-alike for an ASCII character a name may not hold: '/' becomes '／', '*' '＊', '%' '％'. */
function lookAlike(char: string): string {
  const code = char.charCodeAt(0);
  return code > 0x20 && code < 0x7f ? String.fromCharCode(code + FULLWIDTH_OFFSET) : '_';
}

/** Makes one name segment valid on the server, recording each change. */
export function sanitizeSegment(name: string, server: ServerFacts, changes: NameChange[]): string {
  let value = name;
  const record = (kind: NameChange['kind'], next: string) => {
    if (next !== value) changes.push({ kind, from: value, to: next });
    value = next;
  };
  if (server.delimiter && value.includes(server.delimiter)) {
    record('delimiter', value.split(server.delimiter).join(lookAlike(server.delimiter)));
  }
  // IMAP list wildcards and control characters cannot be part of a mailbox name (RFC 3501 5.1).
  record('invalid-character', value.replace(/[*%]/g, lookAlike).replace(/[\u0000-\u001f\u007f]/g, ''));
  record('whitespace', value.trim().replace(/\.+$/, ''));
  if (value === '') record('empty', '_');
  if (server.maxNameLength !== null && [...value].length > server.maxNameLength) {
    record('too-long', [...value].slice(0, server.maxNameLength).join('').trimEnd());
  }
  return value;
}

interface Mapping {
  from: string[];
  to: string[];
}

function splitTarget(path: string): string[] {
  return path.split('/').map((segment) => segment.trim()).filter((segment) => segment !== '');
}

function samePrefix(prefix: string[], path: string[]): boolean {
  return (
    prefix.length <= path.length &&
    prefix.every((segment, i) => segment.localeCompare(path[i], undefined, { sensitivity: 'accent' }) === 0)
  );
}

/** Folders made for mail: IPF.Note and its kinds, IPF.Post, IMAP folders, and folders with no class. */
export function isMailContainer(containerClass: string): boolean {
  return /^(|ipf|ipf\.note(\..*)?|ipf\.post(\..*)?|ipf\.imap(\..*)?)$/i.test(containerClass) && !/outlookhomepage/i.test(containerClass);
}

function emptyCounts(): Record<SkipReason, number> {
  return { 'non-mail': 0, 'too-large': 0, 'outside-dates': 0 };
}

/**
 * Builds a plan item by item: `add` each item (or read problem) of each folder, then `finish`.
 * `topFolderName` names the target of items kept at the very top of the PST (no folder of their own).
 */
export class PlanBuilder {
  private readonly byNid = new Map<number, PlanFolder>();
  /** Folders sent by --map to a target the user named: they merge as asked, never renamed. */
  private readonly mappedExplicitly = new Set<number>();
  private readonly root: PlanFolder;
  private readonly sizeLimit: number | null;

  constructor(
    tree: PstFolder,
    private readonly selection: SelectionOptions,
    private readonly server: ServerFacts,
    options: { topFolderName: string },
  ) {
    this.sizeLimit = sizeLimitOf(selection, server);
    const include = selection.folders.map(parsePattern);
    const exclude = selection.exclude.map(parsePattern);
    const mappings: Mapping[] = selection.map
      .map(({ from, to }) => ({ from: parsePattern(from).segments, to: splitTarget(to) }))
      .sort((a, b) => b.from.length - a.from.length);
    this.root = this.buildFolder(tree, include, exclude, mappings, null, options.topFolderName);
    this.resolveCollisions();
  }

  private buildFolder(
    folder: PstFolder,
    include: FolderPattern[],
    exclude: FolderPattern[],
    mappings: Mapping[],
    specialAncestor: { role: FolderRole; depth: number } | null,
    topFolderName: string,
  ): PlanFolder {
    const selected = isSelected(folder.path, include, exclude);
    const special =
      folder.role && folder.role !== 'outbox' && this.selection.mergeSpecial
        ? { role: folder.role, depth: folder.path.length }
        : specialAncestor;
    const nameChanges: NameChange[] = [];
    let target: string[] | null = null;
    let mergedSpecial = false;
    if (selected) {
      const mapping = mappings.find((candidate) => samePrefix(candidate.from, folder.path));
      const own = (segments: string[]) => segments.map((segment) => sanitizeSegment(segment, this.server, nameChanges));
      if (mapping) {
        target = [...mapping.to, ...own(folder.path.slice(mapping.from.length))];
        if (mapping.from.length === folder.path.length) this.mappedExplicitly.add(folder.nid);
      } else if (special) {
        const role = special.role as Exclude<FolderRole, 'outbox'>;
        const base = splitTarget(this.server.specialUse[role] ?? DEFAULT_SPECIAL_NAMES[role]);
        target = [...base, ...own(folder.path.slice(special.depth))];
        mergedSpecial = folder.path.length === special.depth;
      } else {
        const rootSegments = splitTarget(this.selection.targetRoot);
        const path = folder.path.length === 0 ? [topFolderName] : folder.path;
        target = [...rootSegments, ...own(path)];
        if (rootSegments.length === 0) this.renameReserved(target, nameChanges);
      }
    }
    const joined = target ? target.join(this.server.delimiter || '/') : null;
    const existing = joined === null ? undefined : this.lookUpMailbox(joined);
    const node: PlanFolder = {
      nid: folder.nid,
      path: folder.path,
      role: folder.role,
      containerClass: folder.containerClass,
      selected,
      target: joined,
      wireName: null,
      mergedSpecial,
      nameChanges,
      targetExists: joined === null || Object.keys(this.server.mailboxes).length === 0 ? null : existing !== undefined,
      targetMessages: existing ?? null,
      contentCount: folder.contentCount,
      itemsRead: 0,
      send: 0,
      sendBytes: 0,
      skipped: emptyCounts(),
      nonMail: {},
      undated: 0,
      oldest: null,
      newest: null,
      problems: [],
      children: [],
    };
    this.byNid.set(folder.nid, node);
    node.children = folder.children.map((child) => this.buildFolder(child, include, exclude, mappings, special, topFolderName));
    return node;
  }

  /** A top-level name the provider keeps for itself (Outlook.com: 'Files', ...) is given a suffix. */
  private renameReserved(target: string[], changes: NameChange[]): void {
    const reserved = new Set(this.server.reservedNames.map((name) => name.toLowerCase()));
    if (target.length > 0 && reserved.has(target[0].toLowerCase())) {
      const renamed = `${target[0]} (PST)`;
      changes.push({ kind: 'reserved', from: target[0], to: renamed });
      target[0] = renamed;
    }
  }

  private lookUpMailbox(path: string): number | null | undefined {
    const wanted = path.toLowerCase();
    for (const [name, count] of Object.entries(this.server.mailboxes)) {
      // Only INBOX is case-insensitive in IMAP (RFC 3501 5.1); Outlook.com treats every name so.
      if (name.toLowerCase() === wanted) return count;
    }
    return undefined;
  }

  /**
   * Two PST folders whose own names would land in one mailbox: the later one (in PST order) gets ' (2)',
   * ' (3)'... Merging into a special folder or an explicit --map target is what the user asked for and
   * stays as it is. Names are compared without case, as Outlook.com does.
   */
  private resolveCollisions(): void {
    const taken = new Map<string, PlanFolder>();
    const visit = (folder: PlanFolder, parentRenamed: { from: string; to: string } | null) => {
      let renamed = parentRenamed;
      if (folder.target !== null) {
        if (parentRenamed && folder.target.startsWith(parentRenamed.from)) {
          folder.target = parentRenamed.to + folder.target.slice(parentRenamed.from.length);
        }
        const key = folder.target.toLowerCase();
        const owner = taken.get(key);
        if (owner && !folder.mergedSpecial && !this.mappedExplicitly.has(folder.nid)) {
          let n = 2;
          while (taken.has(`${key} (${n})`)) n++;
          const next = `${folder.target} (${n})`;
          folder.nameChanges.push({ kind: 'collision', from: folder.target, to: next });
          renamed = { from: folder.target, to: next };
          folder.target = next;
        }
        taken.set(folder.target.toLowerCase(), folder);
        if (!this.server.utf8Accept) {
          const wire = folder.target.split(this.server.delimiter || '/').map(encodeModifiedUtf7).join(this.server.delimiter || '/');
          if (wire !== folder.target) {
            folder.wireName = wire;
            folder.nameChanges.push({ kind: 'utf7', from: folder.target, to: wire });
          }
        }
      }
      folder.children.forEach((child) => visit(child, renamed));
    };
    visit(this.root, null);
  }

  /** One item of folder `folderNid`, or a problem met reading it. */
  add(folderNid: number, entry: MessageSummary | ReadProblem): void {
    const folder = this.byNid.get(folderNid);
    if (!folder) return;
    if ('problem' in entry) {
      folder.problems.push(entry);
      return;
    }
    folder.itemsRead++;
    const decision = decideItem(entry, this.selection, this.sizeLimit);
    if (decision.action === 'skip') {
      folder.skipped[decision.reason]++;
      if (decision.reason === 'non-mail') folder.nonMail[entry.kind] = (folder.nonMail[entry.kind] ?? 0) + 1;
      return;
    }
    folder.send++;
    folder.sendBytes += entry.size;
    const date = itemDate(entry);
    if (!date) {
      folder.undated++;
      return;
    }
    if (!folder.oldest || date < folder.oldest) folder.oldest = date;
    if (!folder.newest || date > folder.newest) folder.newest = date;
  }

  /**
   * Takes the item counts of an earlier plan of the same PST (another selection, same dates and sizes):
   * `--pick` changes which folders are taken, not what their items are, so nothing is read again.
   */
  adopt(earlier: Plan): Plan {
    for (const old of planFolders(earlier.root)) {
      const folder = this.byNid.get(old.nid);
      if (!folder) continue;
      Object.assign(folder, {
        itemsRead: old.itemsRead,
        send: old.send,
        sendBytes: old.sendBytes,
        skipped: { ...old.skipped },
        nonMail: { ...old.nonMail },
        undated: old.undated,
        oldest: old.oldest,
        newest: old.newest,
        problems: [...old.problems],
      });
    }
    return this.finish();
  }

  finish(): Plan {
    // A folder of contacts, appointments, tasks... (or the top of the PST) that holds no mail gets no
    // mailbox: an empty "Calendar" on the server helps nobody. Empty mail folders are kept: they are
    // the user's filing structure.
    for (const folder of planFolders(this.root)) {
      const mailFolder = folder.path.length > 0 && isMailContainer(folder.containerClass);
      if (folder.selected && folder.target !== null && !mailFolder && folder.send === 0 && !folder.mergedSpecial) {
        folder.target = null;
        folder.wireName = null;
        folder.nameChanges = [];
      }
    }
    const totals: PlanTotals = {
      folders: 0,
      foldersSelected: 0,
      send: 0,
      sendBytes: 0,
      skipped: emptyCounts(),
      nonMail: {},
      problems: 0,
      oldest: null,
      newest: null,
    };
    const visit = (folder: PlanFolder) => {
      totals.folders++;
      totals.problems += folder.problems.length;
      if (folder.selected) {
        totals.foldersSelected++;
        totals.send += folder.send;
        totals.sendBytes += folder.sendBytes;
        for (const reason of Object.keys(totals.skipped) as SkipReason[]) totals.skipped[reason] += folder.skipped[reason];
        for (const [kind, count] of Object.entries(folder.nonMail) as Array<[ItemKind, number]>) {
          totals.nonMail[kind] = (totals.nonMail[kind] ?? 0) + count;
        }
        if (folder.oldest && (!totals.oldest || folder.oldest < totals.oldest)) totals.oldest = folder.oldest;
        if (folder.newest && (!totals.newest || folder.newest > totals.newest)) totals.newest = folder.newest;
      }
      folder.children.forEach(visit);
    };
    visit(this.root);
    return { selection: this.selection, server: this.server, sizeLimit: this.sizeLimit, root: this.root, totals };
  }
}

/** How long sending would take: the slower of the message rate and the bandwidth. */
export function estimateSeconds(plan: Plan, rate: { messagesPerSecond: number; bytesPerSecond?: number }): number {
  const byCount = plan.totals.send / rate.messagesPerSecond;
  const byBytes = rate.bytesPerSecond ? plan.totals.sendBytes / rate.bytesPerSecond : 0;
  return Math.max(byCount, byBytes);
}

/** Every folder of the plan, in PST order. */
export function* planFolders(folder: PlanFolder): Generator<PlanFolder> {
  yield folder;
  for (const child of folder.children) yield* planFolders(child);
}
