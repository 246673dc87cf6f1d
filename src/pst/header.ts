/**
 * The PST/OST file header ([MS-PST] 2.2.2.6), read by the project itself before the file is handed to
 * the library: a user who points the tool at the wrong file, a half-copied archive or an encrypted one
 * must get a sentence saying so, not a library's stack trace.
 */
import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { PstError } from '../errors.js';
import type { Encryption, StoreFormat, StoreKind } from './types.js';

export interface PstHeader {
  path: string;
  fileSize: number;
  kind: StoreKind;
  format: StoreFormat;
  wVer: number;
  encryption: Encryption;
  /** root.ibFileEof: the size the file had when it was last written. */
  fileEof: number;
  /** Offsets of the node and block B-tree root pages. */
  nodeBtreeRoot: number;
  blockBtreeRoot: number;
}

/** Enough for the Unicode header (564 bytes) and the ANSI one (512). */
const HEADER_SIZE = 564;

export function readPstHeader(path: string): PstHeader {
  const absolute = resolve(path);
  let stats;
  try {
    stats = statSync(absolute);
  } catch (error) {
    throw new PstError('E_FILE_NOT_FOUND', { file: absolute }, { cause: error });
  }
  if (stats.isDirectory()) throw new PstError('E_IS_DIRECTORY', { file: absolute });
  if (stats.size === 0) throw new PstError('E_FILE_EMPTY', { file: absolute });

  const header = Buffer.alloc(HEADER_SIZE);
  const fd = openSync(absolute, 'r');
  let read: number;
  let fileSize: number;
  try {
    fileSize = fstatSync(fd).size;
    read = readSync(fd, header, 0, HEADER_SIZE, 0);
  } finally {
    closeSync(fd);
  }
  if (read < 4 || header.toString('latin1', 0, 4) !== '!BDN') {
    throw new PstError('E_NOT_PST', { file: absolute });
  }
  // wMagicClient: 'SM' for a PST, 'SO' for an OST.
  const kind: StoreKind = header.toString('latin1', 8, 10) === 'SO' ? 'ost' : 'pst';
  const wVer = header.readUInt16LE(10);
  let format: StoreFormat;
  if (wVer === 14 || wVer === 15) format = 'ansi';
  else if (wVer >= 23 && wVer < 36) format = 'unicode';
  else if (wVer === 36 || wVer === 37) format = 'unicode-4k';
  else throw new PstError('E_UNSUPPORTED_FORMAT', { file: absolute, version: wVer });

  const needed = format === 'ansi' ? 512 : HEADER_SIZE;
  if (read < needed) {
    throw new PstError('E_TRUNCATED', { file: absolute, size: fileSize, expected: needed });
  }

  // Field offsets differ between the ANSI (32-bit) and Unicode (64-bit) headers.
  const ansi = format === 'ansi';
  const cryptOffset = ansi ? 461 : 513;
  const fileEof = ansi ? header.readUInt32LE(168) : Number(header.readBigUInt64LE(184));
  const nodeBtreeRoot = ansi ? header.readUInt32LE(188) : Number(header.readBigUInt64LE(224));
  const blockBtreeRoot = ansi ? header.readUInt32LE(196) : Number(header.readBigUInt64LE(240));
  const cryptMethod = header[cryptOffset];
  const encryption: Encryption = cryptMethod === 0 ? 'none' : cryptMethod === 1 ? 'compressible' : 'high';
  if (cryptMethod > 1) throw new PstError('E_HIGH_ENCRYPTION', { file: absolute });

  // A copy cut short: the header states the size the file had; the B-tree roots must lie inside it.
  const pageSize = format === 'unicode-4k' ? 4096 : 512;
  if (fileSize < fileEof || nodeBtreeRoot + pageSize > fileSize || blockBtreeRoot + pageSize > fileSize) {
    throw new PstError('E_TRUNCATED', { file: absolute, size: fileSize, expected: fileEof });
  }
  return {
    path: absolute,
    fileSize,
    kind,
    format,
    wVer,
    encryption,
    fileEof,
    nodeBtreeRoot,
    blockBtreeRoot,
  };
}
