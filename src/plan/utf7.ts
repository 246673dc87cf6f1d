/**
 * Modified UTF-7 for IMAP mailbox names (RFC 3501 5.1.3): how a name like 受信トレイ travels to a
 * server that does not accept UTF-8 names (RFC 6855).
 */

/** Printable US-ASCII except '&' stands for itself; '&' is '&-'; the rest is '&' base64(UTF-16BE) '-'. */
export function encodeModifiedUtf7(name: string): string {
  let out = '';
  let pending: number[] = [];
  const flush = () => {
    if (pending.length === 0) return;
    const bytes = Buffer.alloc(pending.length * 2);
    pending.forEach((unit, i) => bytes.writeUInt16BE(unit, i * 2));
    out += `&${bytes.toString('base64').replace(/=+$/, '').replace(/\//g, ',')}-`;
    pending = [];
  };
  for (let i = 0; i < name.length; i++) {
    const code = name.charCodeAt(i);
    if (code >= 0x20 && code <= 0x7e) {
      flush();
      out += code === 0x26 ? '&-' : name[i];
    } else {
      pending.push(code);
    }
  }
  flush();
  return out;
}

export function decodeModifiedUtf7(wire: string): string {
  return wire.replace(/&([^-]*)-/g, (_, encoded: string) => {
    if (encoded === '') return '&';
    const bytes = Buffer.from(encoded.replace(/,/g, '/'), 'base64');
    let text = '';
    for (let i = 0; i + 1 < bytes.length; i += 2) text += String.fromCharCode(bytes.readUInt16BE(i));
    return text;
  });
}
