/** src/mime: a PST item in, the message it was out (bytes, flags, INTERNALDATE). */
export { rebuildMessage, derivedMessageId } from './rebuild.js';
export { decompressRtf } from './rtf.js';
export type { ImapFlag, RebuildContext, RebuildWarning, RebuiltMessage } from './types.js';
