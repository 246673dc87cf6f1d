/** src/mime: a PST item in, the message it was out (bytes, flags, INTERNALDATE); items that are not mail as files. */
export { rebuildMessage, derivedMessageId } from './rebuild.js';
export { renderOtherItem, type OtherItemFile } from './other.js';
export { decompressRtf } from './rtf.js';
export type { ImapFlag, RebuildContext, RebuildWarning, RebuiltMessage } from './types.js';
