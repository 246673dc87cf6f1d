/** StoredCopies: which copy on the server a look-up after a lost answer may claim (plain data). */
import { StoredCopies } from '../../src/engine/stored-copies.js';

const at = (uid: number, uidValidity = 7) => ({ uidValidity, uid });

it('gives a copy no item accounts for, by mailbox, UIDVALIDITY and UID, and none once all are claimed', () => {
  const copies = new StoredCopies();
  // Two items of the PST share a Message-ID; the first was stored as UID 10.
  copies.remember('Archive/2019', { ...at(10), messageId: '<twin@example.com>' });
  const found = [at(10), at(11)];
  expect(copies.unclaimed('Archive/2019', '<twin@example.com>', found)).toEqual(at(11));
  copies.remember('Archive/2019', { ...at(11), messageId: '<twin@example.com>' });
  expect(copies.unclaimed('Archive/2019', '<twin@example.com>', found)).toBeNull();
  // The same UID in another mailbox, or under another UIDVALIDITY, is another copy.
  expect(copies.unclaimed('Inbox', '<twin@example.com>', [at(10)])).toEqual(at(10));
  expect(copies.unclaimed('Archive/2019', '<twin@example.com>', [at(10, 8)])).toEqual(at(10, 8));
  expect(copies.unclaimed('Archive/2019', '<twin@example.com>', [])).toBeNull();
});

it('counts copies without UIDs (a Maildir) by mailbox and Message-ID, brackets or not', () => {
  const copies = new StoredCopies();
  const none = { uidValidity: null, uid: null };
  copies.remember('Inbox', { ...none, messageId: '<a@example.com>' });
  expect(copies.unclaimed('Inbox', 'a@example.com', [none])).toBeNull();
  expect(copies.unclaimed('Inbox', '<a@example.com>', [none, none])).toEqual(none);
  expect(copies.unclaimed('Sent', '<a@example.com>', [none])).toEqual(none);
  copies.remember('Inbox', { ...none, messageId: ' <a@example.com> ' });
  expect(copies.unclaimed('Inbox', '<a@example.com>', [none, none])).toBeNull();
});

it('counts a copy stored without a UID (a server without UIDPLUS) against the copies a look-up finds with UIDs', () => {
  const copies = new StoredCopies();
  // Twins again; the first was stored, but the server gave no APPENDUID.
  copies.remember('Inbox', { uidValidity: null, uid: null, messageId: '<twin@example.com>' });
  expect(copies.unclaimed('Inbox', '<twin@example.com>', [at(5)])).toBeNull();
  expect(copies.unclaimed('Inbox', '<twin@example.com>', [at(5), at(6)])).toEqual(at(5));
});
