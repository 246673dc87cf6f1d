/**
 * The journal keeps a server's words about a failure (they tell the user what went wrong), but never a
 * secret: IMAP errors can echo the command that failed, and a LOGIN or AUTHENTICATE command carries the
 * password or the OAuth2 token (RFC 3501 6.2.2 / 6.2.3, the XOAUTH2 SASL mechanism).
 */
import { resolve } from 'node:path';

const LONGEST_KEPT_ERROR = 2000;

const SECRET_PATTERNS: Array<[RegExp, string]> = [
  // LOGIN user password (quoted or atoms): keep the user, drop the password.
  [/(\bLOGIN\s+(?:"(?:[^"\\]|\\.)*"|\S+)\s+)("(?:[^"\\]|\\.)*"|\S+)/gi, '$1[redacted]'],
  // AUTHENTICATE mechanism initial-response (SASL-IR, RFC 4959) and bare base64 continuation lines.
  [/(\bAUTHENTICATE\s+\S+\s+)\S+/gi, '$1[redacted]'],
  [/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi, '$1 [redacted]'],
  [/\b(auth=Bearer\s*)\S+/gi, '$1[redacted]'],
  // key=value or key: value pairs whose name says secret.
  [
    /\b((?:pass(?:word|wd)?|secret|token|access_token|refresh_token|id_token|client_secret|apikey|api_key)\s*[=:]\s*)("[^"]*"|'[^']*'|\S+)/gi,
    '$1[redacted]',
  ],
  // user:password@host in URLs.
  [/(\b[a-z][a-z0-9+.-]*:\/\/[^\s:@/]+:)[^\s@/]+@/gi, '$1[redacted]@'],
  // JSON Web Tokens (three base64url parts), as OAuth2 access tokens often are.
  [/\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/g, '[redacted]'],
];

/** `text` with anything that looks like a password or token replaced, and cut to a sane length. */
export function redactSecrets(text: string): string {
  let kept = text;
  for (const [pattern, replacement] of SECRET_PATTERNS) kept = kept.replace(pattern, replacement);
  return kept.length > LONGEST_KEPT_ERROR ? `${kept.slice(0, LONGEST_KEPT_ERROR)}…` : kept;
}

/** Names of option fields that must never reach the store, compared without case. */
const SECRET_KEY = /pass(word|wd)?$|secret|token|credential|cookie|^auth(orization)?$/i;

/**
 * A copy of `options` without fields whose name says secret, at any depth, so that options stored for
 * `resume` can never carry a password even if a caller passes the whole parsed command line.
 */
export function withoutSecretFields(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutSecretFields);
  if (value instanceof Date) return value.toISOString();
  if (value && typeof value === 'object') {
    const kept: Record<string, unknown> = {};
    for (const [key, field] of Object.entries(value)) {
      if (SECRET_KEY.test(key)) continue;
      kept[key] = withoutSecretFields(field);
    }
    return kept;
  }
  return value;
}

/**
 * The target as stored: scheme, host, port and path of the URL, without any user:password@ part or
 * query (a password could hide in either). The account name is kept apart, in `user`.
 */
export function describeTarget(url: string, user: string): { url: string; user: string } {
  const match = /^([a-z][a-z0-9+.-]*:)(.*)$/i.exec(url.trim());
  if (!match) return { url: url.trim(), user };
  const [, scheme, rest] = match as unknown as [string, string, string];
  // maildir:DIR: an absolute path, so that the same folder is the same job from any working directory.
  if (!rest.startsWith('//')) {
    return { url: `${scheme.toLowerCase()}${scheme.toLowerCase() === 'maildir:' ? resolve(rest) : rest}`, user };
  }
  let parsed: URL;
  try {
    parsed = new URL(url.trim());
  } catch {
    return { url: url.trim().replace(/\/\/[^/@]*@/, '//'), user };
  }
  const userFromUrl = decodeURIComponent(parsed.username);
  const path = parsed.pathname === '/' ? '' : parsed.pathname;
  // imap(s) is not a "special" scheme to the WHATWG URL parser, which then keeps the host's case.
  return { url: `${parsed.protocol}//${parsed.host.toLowerCase()}${path}`, user: user || userFromUrl };
}
