/** What a migration remembers of the copies it stored, to look up a message whose answer was lost. */
import { normalizeMessageId, type StoredAt } from '../target/target.js';

/**
 * The copies on the server that items of the job account for: what a look-up after a lost answer must
 * not claim a second time. A copy stored with a UID (APPENDUID) is remembered by its mailbox,
 * UIDVALIDITY and UID, as numbers in a set per mailbox: a few dozen bytes a message, where a string key
 * per message grew a run of 100,000 messages by tens of MB. One stored without (a Maildir, a server
 * without UIDPLUS) can only be counted, by mailbox and Message-ID.
 */
export class StoredCopies {
  private readonly uids = new Map<string, Map<number, Set<number>>>();
  private readonly withoutUid = new Map<string, number>();

  remember(mailbox: string, record: { uidValidity: number | null; uid: number | null; messageId: string | null }): void {
    if (record.uid !== null && record.uidValidity !== null) {
      let byValidity = this.uids.get(mailbox);
      if (!byValidity) this.uids.set(mailbox, (byValidity = new Map()));
      let uids = byValidity.get(record.uidValidity);
      if (!uids) byValidity.set(record.uidValidity, (uids = new Set()));
      uids.add(record.uid);
    } else if (record.messageId) {
      const key = StoredCopies.idKey(mailbox, record.messageId);
      this.withoutUid.set(key, (this.withoutUid.get(key) ?? 0) + 1);
    }
  }

  /**
   * A copy among `found` (the server's copies with this Message-ID) that no item accounts for, or null:
   * the copies whose UID no item holds, less as many as items stored this Message-ID without a UID.
   */
  unclaimed(mailbox: string, messageId: string, found: StoredAt[]): StoredAt | null {
    const byValidity = this.uids.get(mailbox);
    const free = found.filter((at) => at.uid === null || at.uidValidity === null || !byValidity?.get(at.uidValidity)?.has(at.uid));
    const counted = this.withoutUid.get(StoredCopies.idKey(mailbox, messageId)) ?? 0;
    return free.length > counted ? free[0]! : null;
  }

  private static idKey(mailbox: string, messageId: string): string {
    return `${mailbox}\u0000${normalizeMessageId(messageId)}`;
  }
}
