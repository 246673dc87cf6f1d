/**
 * Which folder is the Inbox, Sent Items, ... found the way Outlook finds them: by the entry IDs the
 * store keeps ([MS-OXOSFLD] 2.2), so that a Japanese 受信トレイ or a renamed folder is still the Inbox.
 * Names in common languages are only a fall-back for stores that lack the entry IDs.
 */
import type { PstFolder, FolderRole } from './types.js';

const TAG = {
  outbox: 0x35e2,
  wastebasket: 0x35e3,
  sentmail: 0x35e4,
  appointment: 0x36d0,
  drafts: 0x36d7,
  additionalRen: 0x36d8,
} as const;

/** PR_ADDITIONAL_REN_ENTRYIDS index of the Junk E-mail folder ([MS-OXOSFLD] 2.2.4). */
const JUNK_INDEX = 4;

const NAMES: Record<FolderRole, string[]> = {
  inbox: ['inbox', '受信トレイ', 'posteingang', 'boîte de réception', 'bandeja de entrada', 'posta in arrivo', '收件箱', '받은 편지함'],
  sent: ['sent items', 'sent', 'sent mail', '送信済みアイテム', '送信済み', 'gesendete elemente', 'éléments envoyés', 'elementos enviados', 'posta inviata'],
  drafts: ['drafts', '下書き', 'entwürfe', 'brouillons', 'borradores', 'bozze'],
  trash: ['deleted items', 'trash', 'deleted', '削除済みアイテム', 'gelöschte elemente', 'éléments supprimés', 'elementos eliminados', 'posta eliminata'],
  junk: ['junk e-mail', 'junk email', 'junk', 'spam', '迷惑メール', 'junk-e-mail', 'courrier indésirable', 'correo no deseado', 'posta indesiderata'],
  outbox: ['outbox', '送信トレイ', 'postausgang', "boîte d'envoi", 'bandeja de salida', 'posta in uscita'],
  archive: ['archive', 'archives', 'アーカイブ', 'archiv', 'archivo', 'archivio'],
};

type PropertyHolder = {
  pstTableItems?: Map<number, unknown> | null;
  getBinaryItem(tag: number): Buffer | null;
};

function entryIdNid(holder: unknown, tag: number): number | null {
  const object = holder as PropertyHolder;
  if (!object.pstTableItems?.has(tag)) return null;
  const entryId = object.getBinaryItem(tag);
  return entryId && entryId.length >= 24 ? entryId.readUInt32LE(20) : null;
}

/** PtypMultipleBinary ([MS-PST] 2.3.3.4.2): a count, the offsets, then the values. */
function multipleBinary(holder: unknown, tag: number): Buffer[] {
  const object = holder as PropertyHolder;
  if (!object.pstTableItems?.has(tag)) return [];
  const raw = object.getBinaryItem(tag);
  if (!raw || raw.length < 4) return [];
  const count = raw.readUInt32LE(0);
  if (4 + count * 4 > raw.length) return [];
  const offsets = Array.from({ length: count }, (_, i) => raw.readUInt32LE(4 + i * 4));
  return offsets.map((start, i) => raw.subarray(start, i + 1 < count ? offsets[i + 1] : raw.length));
}

export class FolderRoles {
  private readonly byNid = new Map<number, FolderRole>();

  constructor(messageStore: unknown, rootFolder: unknown) {
    const set = (nid: number | null, role: FolderRole) => {
      if (nid !== null && !this.byNid.has(nid)) this.byNid.set(nid, role);
    };
    set(entryIdNid(messageStore, TAG.sentmail), 'sent');
    set(entryIdNid(messageStore, TAG.wastebasket), 'trash');
    set(entryIdNid(messageStore, TAG.outbox), 'outbox');
    // Drafts and Junk are named on the root folder (and on the Inbox, checked as folders are met).
    this.readSpecialEntryIds(rootFolder);
  }

  private readSpecialEntryIds(folder: unknown): void {
    const drafts = entryIdNid(folder, TAG.drafts);
    if (drafts !== null && !this.byNid.has(drafts)) this.byNid.set(drafts, 'drafts');
    const junk = multipleBinary(folder, TAG.additionalRen)[JUNK_INDEX];
    if (junk && junk.length >= 24) {
      const nid = junk.readUInt32LE(20);
      if (nid !== 0 && !this.byNid.has(nid)) this.byNid.set(nid, 'junk');
    }
  }

  /**
   * The role of a folder met while walking the tree. The Inbox has no entry ID of its own on the store
   * (it is found through the receive folder table); Outlook writes the special-folder entry IDs on it as
   * on the root folder, which tells it apart from any other folder.
   */
  roleOf(nid: number, folder: unknown): FolderRole | null {
    const known = this.byNid.get(nid);
    if (known) return known;
    if (entryIdNid(folder, TAG.appointment) !== null || entryIdNid(folder, TAG.drafts) !== null) {
      this.readSpecialEntryIds(folder);
      if (![...this.byNid.values()].includes('inbox')) {
        this.byNid.set(nid, 'inbox');
        return 'inbox';
      }
    }
    return null;
  }

  /** Folders just below the top whose role was not found by entry ID, recognised by name. */
  assignFallbacks(top: PstFolder): void {
    const taken = new Set<FolderRole>();
    const walk = (folder: PstFolder) => {
      if (folder.role) taken.add(folder.role);
      folder.children.forEach(walk);
    };
    walk(top);
    for (const child of top.children) {
      if (child.role) continue;
      const name = child.name.trim().toLowerCase();
      const role = (Object.keys(NAMES) as FolderRole[]).find((candidate) => !taken.has(candidate) && NAMES[candidate].includes(name));
      if (role) {
        child.role = role;
        taken.add(role);
      }
    }
  }
}
