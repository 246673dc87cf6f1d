/** The PST layer's public face: open a file, get plain data. */
export { openPst } from './reader.js';
export { readPstHeader, type PstHeader } from './header.js';
export { classifyMessageClass } from './classify.js';
export * from './types.js';
