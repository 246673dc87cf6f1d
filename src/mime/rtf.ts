/**
 * PR_RTF_COMPRESSED ([MS-OXRTFCP]) to RTF bytes. The PST layer hands the stored bytes over untouched:
 * pst-extractor's own LZFu preloads its dictionary wrongly and decodes the result as UTF-8, which
 * changes the bytes; @kenjiuno/decompressrtf follows the specification (both the compressed "LZFu" and
 * the uncompressed "MELA" forms).
 */
import { decompressRTF } from '@kenjiuno/decompressrtf';

export function decompressRtf(compressed: Buffer): Buffer {
  return Buffer.from(decompressRTF(Array.from(compressed)));
}
