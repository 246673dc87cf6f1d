/**
 * Round trip over every message of every PST at hand: the shared corpus of real files and the project's
 * own fixtures. Each is rebuilt, parsed back with mailparser and compared with the PST's own properties
 * (the PST layer's reading of them is checked against libpff's pffexport in test/pst). The figures are
 * printed; any mismatch that is not explained fails the test.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ParsedMail } from 'mailparser';
import { openPst, isReadProblem, type PstFolder, type PstMessage, type PstReader } from '../../src/pst/index.js';
import { rebuildMessage } from '../../src/mime/index.js';
import { isOwnMail, usesStoredHeaders } from '../../src/mime/flags.js';
import { projectRoot, sharedFixtures } from '../support/cli.js';
import { compareMessage, emptyFidelity, fidelityReport, type Fidelity } from './fidelity.js';

function pstFiles(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).filter((name) => /\.(pst|ost)$/i.test(name)).sort().map((name) => join(dir, name)) : [];
}

const files = [...pstFiles(sharedFixtures), ...pstFiles(join(projectRoot, 'fixtures', 'pst'))];

async function roundTrip(reader: PstReader, label: string, fidelity: Fidelity): Promise<void> {
  const visit = async (folder: PstFolder) => {
    for (const entry of reader.items(folder)) {
      if (isReadProblem(entry) || entry.kind !== 'mail') continue;
      const message = reader.readMessage(entry.nid);
      const context = { storeFingerprint: reader.store.fingerprint, folderRole: folder.role };
      const rebuilt = await rebuildMessage(message, context);
      const parsed = await compareMessage(`${label}:${entry.nid}`, message, rebuilt, fidelity, {
        keepsBcc: isOwnMail(message, context),
        storedHeaders: usesStoredHeaders(message, context),
      });
      await compareEmbedded(`${label}:${entry.nid}`, message, parsed, fidelity);
    }
    for (const child of folder.children) await visit(child);
  };
  await visit(reader.root);
}

/** Embedded messages, to any depth: each message/rfc822 part against the PST's embedded item. */
async function compareEmbedded(where: string, message: PstMessage, parsed: ParsedMail, fidelity: Fidelity): Promise<void> {
  const embedded = message.attachments.filter((attachment) => attachment.method === 'embedded');
  const parts = parsed.attachments.filter((attachment) => attachment.contentType === 'message/rfc822');
  expect(parts).toHaveLength(embedded.length);
  for (const [index, attachment] of embedded.entries()) {
    const inner = attachment.embedded()!;
    const bytes = parts[index].content;
    const context = { storeFingerprint: 'embedded', folderRole: null, embedded: true };
    const innerParsed = await compareMessage(`${where}/${attachment.index}`, inner, { bytes, flags: [], internalDate: null, messageId: '', messageIdDerived: false, warnings: [] }, fidelity, {
      keepsBcc: isOwnMail(inner, context),
      storedHeaders: usesStoredHeaders(inner, context),
    });
    await compareEmbedded(`${where}/${attachment.index}`, inner, innerParsed, fidelity);
  }
}

it('finds PST files to compare', () => {
  expect(files.length).toBeGreaterThanOrEqual(20);
});

it('rebuilds every message of every PST with its subject, addresses, date, bodies and attachments', async () => {
  const total = emptyFidelity();
  for (const file of files) {
    const reader = openPst(file);
    try {
      await roundTrip(reader, file.split('/').pop()!, total);
    } finally {
      reader.close();
    }
  }
  console.log(fidelityReport('Round trip', total));
  expect(total.messages).toBeGreaterThan(150);
  expect(total.mismatches.filter((mismatch) => !mismatch.explained).map((mismatch) => `${mismatch.where} ${mismatch.field}`)).toEqual([]);
});
