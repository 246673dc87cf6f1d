/**
 * The known defects of pst-extractor 1.12.0 (listed with the shared PST corpus), each shown handled:
 * by the patch applied at install (patches/) or by the PST layer around the library. Each test fails
 * on the library as it is published.
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { openPst, isReadProblem, type MessageSummary, type PstFolder, type PstReader } from '../../src/pst/index.js';
import { sharedFixtures } from '../support/cli.js';

const require = createRequire(import.meta.url);
const fs = require('fs') as typeof import('fs');
const fixture = (name: string) => join(sharedFixtures, name);

function summaries(reader: PstReader): MessageSummary[] {
  const all: MessageSummary[] = [];
  const walk = (folder: PstFolder) => {
    for (const entry of reader.items(folder)) if (!isReadProblem(entry)) all.push(entry);
    folder.children.forEach(walk);
  };
  walk(reader.root);
  return all;
}

/** Counts calls of `object[method]` while `work` runs. */
function countCalls<T extends object>(object: T, method: keyof T, work: () => void): number {
  const original = object[method] as unknown as (...args: unknown[]) => unknown;
  let calls = 0;
  (object as Record<keyof T, unknown>)[method] = function (this: unknown, ...args: unknown[]) {
    calls++;
    return original.apply(this, args);
  };
  try {
    work();
  } finally {
    (object as Record<keyof T, unknown>)[method] = original;
  }
  return calls;
}

it('reads a message in a few reads of the file, not hundreds (page cache in the patch)', () => {
  const reader = openPst(fixture('aspose-Outlook.pst'));
  try {
    const items = summaries(reader);
    const reads = countCalls(fs, 'readSync', () => {
      for (const item of items) {
        const message = reader.readMessage(item.nid);
        message.attachments.forEach((attachment) => attachment.content());
      }
    });
    // The published library makes about 630 reads for each message.
    expect(reads / items.length).toBeLessThan(20);
  } finally {
    reader.close();
  }
});

it('keeps a named-property map per file, not one for the whole process (patch)', () => {
  const { PSTFile } = require('pst-extractor');
  const first = new PSTFile(fixture('aspose-Outlook.pst'));
  // Numeric names are stored under (property set index << 32 | name).
  const entries = [...(first.nodeMap.nameToId as Map<string, number>).entries()].filter(([key]) => /^\d+$/.test(key));
  expect(entries.length).toBeGreaterThan(0);
  const second = new PSTFile(fixture('hh-simple.pst'));
  const lookUp = (file: { getNameToIdMapItem(key: number, idx: number): number }, key: string) => {
    const value = BigInt(key);
    return file.getNameToIdMapItem(Number(value & 0xffffffffn), Number(value >> 32n));
  };
  // The two files map some names differently: otherwise this test could not tell the maps apart.
  expect(entries.some(([key, id]) => lookUp(second, key) !== id)).toBe(true);
  for (const [key, id] of entries) expect(lookUp(first, key)).toBe(id);
  first.close();
  second.close();
});

it('reads the recipient table once per message, not once per recipient (PST layer)', () => {
  const { PSTTable7C } = require('pst-extractor/dist/PSTTable7C.class.js');
  const reader = openPst(fixture('hh-200recipients.pst'));
  try {
    const [item] = summaries(reader);
    let recipients = 0;
    const tableReads = countCalls(PSTTable7C.prototype, 'getItems', () => {
      recipients = reader.readMessage(item.nid).recipients.length;
    });
    expect(recipients).toBe(200);
    expect(tableReads).toBeLessThan(5); // getRecipient(i) reads the table 200 times
  } finally {
    reader.close();
  }
});

it('reads 32-bit integers as signed (PST layer): PR_RENDERING_POSITION -1, not 4294967295', () => {
  const reader = openPst(fixture('aspose-Outlook.pst'));
  try {
    const positions = summaries(reader).flatMap((item) => reader.readMessage(item.nid).attachments.map((attachment) => attachment.renderingPosition));
    expect(positions).toContain(-1);
    expect(positions).not.toContain(4294967295);
  } finally {
    reader.close();
  }
});

it('skips search folders instead of failing on them (PST layer)', () => {
  // This file's root holds a search folder ("SPAM Search Folder 2") on which the library's
  // getSubFolders() throws; the layer reads every folder of the mailbox and reports no problem.
  const { PSTFile } = require('pst-extractor');
  const library = new PSTFile(fixture('hh-contacts97-2002.pst'));
  const silenced = console.error;
  console.error = () => {};
  const walk = (folder: { getSubFolders(): unknown[] }): void => folder.getSubFolders().forEach((child) => walk(child as never));
  try {
    expect(() => walk(library.getRootFolder())).toThrow();
  } finally {
    console.error = silenced;
    library.close();
  }
  const reader = openPst(fixture('hh-contacts97-2002.pst'));
  try {
    expect(reader.problems).toEqual([]);
    expect(reader.root.children.map((folder) => folder.name)).toEqual(['削除済みアイテム', '連絡先 (Contact dedicated)']);
  } finally {
    reader.close();
  }
});
