/**
 * Addresses in the PST: Exchange (EX) addresses stored without their SMTP address are resolved through
 * the pairs the same PST states elsewhere (recipient rows, other items' senders), those it never states
 * stay as they are; one-off entry IDs (distribution list members) are read.
 */
import { join } from 'node:path';
import { openPst, isReadProblem, type MessageSummary, type PstFolder, type PstReader } from '../../src/pst/index.js';
import { parseOneOffEntryId, splitMultipleBinary } from '../../src/pst/reader.js';
import { sharedFixtures } from '../support/cli.js';

function folder(reader: PstReader, name: string): PstFolder {
  const found = reader.root.children.find((child) => child.name === name);
  if (!found) throw new Error(`no folder ${name}`);
  return found;
}

it('gives the sent items of an Exchange OST their sender\'s SMTP address', () => {
  const reader = openPst(join(sharedFixtures, 'aspose-sample.ost'));
  try {
    const sent = [...reader.items(folder(reader, 'Sent Items'))].filter((entry) => !isReadProblem(entry)) as MessageSummary[];
    expect(sent.length).toBeGreaterThan(5);
    const senders = sent.map((item) => reader.readMessage(item.nid).sender);
    // The PST stores them as X.500 names: '/o=Home Organization/.../cn=Saqib Razzaq2ee05199'.
    expect(senders.filter((sender) => sender?.addressType === 'EX')).toEqual([]);
    expect(new Set(senders.map((sender) => sender?.email))).toEqual(new Set(['saqib.razzaq@ex2010.local']));
  } finally {
    reader.close();
  }
});

it('leaves an X.500 address the PST never pairs with SMTP as it is, marked EX', () => {
  const reader = openPst(join(sharedFixtures, 'pstsdk-test_unicode.pst'));
  try {
    const [item] = [...reader.items(reader.root)].filter((entry) => !isReadProblem(entry)) as MessageSummary[];
    const message = reader.readMessage(item.nid);
    expect(message.sender).toEqual({ name: 'Terry Mahaffey', email: '/o=microsoft/ou=First Administrative Group/cn=Recipients/cn=terrymah', addressType: 'EX' });
  } finally {
    reader.close();
  }
});

it('reads one-off entry IDs, Unicode and 8-bit', () => {
  const uid = '812b1fa4bea310199d6e00dd010f5402';
  const unicode = Buffer.concat([Buffer.from(`00000000${uid}00000180`, 'hex'), Buffer.from('山田 太郎\0SMTP\0yamada@example.jp\0', 'utf16le')]);
  expect(parseOneOffEntryId(unicode)).toEqual({ name: '山田 太郎', addressType: 'SMTP', email: 'yamada@example.jp' });
  const ansi = Buffer.concat([Buffer.from(`00000000${uid}00000000`, 'hex'), Buffer.from('Bob\0smtp\0bob@example.org\0', 'latin1')]);
  expect(parseOneOffEntryId(ansi)).toEqual({ name: 'Bob', addressType: 'SMTP', email: 'bob@example.org' });
  expect(parseOneOffEntryId(Buffer.alloc(40))).toBeNull();
});

it('splits multi-valued binary properties', () => {
  const data = Buffer.from('02000000' + '0c000000' + '0e000000' + 'aabb' + 'ccddee', 'hex');
  expect(splitMultipleBinary(data).map((value) => value.toString('hex'))).toEqual(['aabb', 'ccddee']);
  expect(splitMultipleBinary(Buffer.from('ff000000', 'hex'))).toEqual([]);
});
