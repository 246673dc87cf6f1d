/** How to reach an IMAP server. Credentials live here only in memory, never in logs or state. */
export interface ImapConnectionOptions {
  host: string;
  port: number;
  /** Implicit TLS (imaps, port 993); otherwise STARTTLS is used when the server offers it. */
  secure: boolean;
  user: string;
  auth: { password: string } | { accessToken: string };
  /** Verify the server's certificate (default); `--insecure` turns it off. */
  verifyCertificate: boolean;
  /** Allow a password over an unencrypted connection to a host other than loopback. */
  allowPlaintext: boolean;
  /** Milliseconds to wait for the connection and the greeting. */
  timeoutMs: number;
}

export type TargetUrl =
  | { kind: 'imap'; host: string; port: number; secure: boolean; url: string }
  | { kind: 'maildir'; dir: string; url: string };
