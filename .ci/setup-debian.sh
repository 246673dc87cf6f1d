#!/usr/bin/env bash
# Installs the Debian tools the test suite checks against: a real IMAP server (dovecot-imapd) and the
# independent PST readers (readpst from pst-utils, pffexport from pff-tools), plus mbsync (isync) for the
# benchmarks, and tmux for the interactive tests. Idempotent: installs only what is missing. Run as root (CI is root); developers: sudo.
set -euo pipefail

needed=()
command -v dovecot >/dev/null 2>&1 || needed+=(dovecot-imapd)
command -v readpst >/dev/null 2>&1 || needed+=(pst-utils)
command -v pffexport >/dev/null 2>&1 || needed+=(pff-tools)
command -v mbsync >/dev/null 2>&1 || needed+=(isync)
# A real terminal for the tests of interactive prompts (--pick).
command -v tmux >/dev/null 2>&1 || needed+=(tmux)
# Self-signed certificates for the TLS tests of the test Dovecot.
command -v openssl >/dev/null 2>&1 || needed+=(openssl)

if [ ${#needed[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${needed[@]}"
fi

# The package may start a system-wide Dovecot on ports 143/993; the tests start their own on free
# loopback ports and need nothing else listening.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet dovecot 2>/dev/null; then
  systemctl stop dovecot || true
fi
if pgrep -x dovecot >/dev/null 2>&1 && [ -f /etc/dovecot/dovecot.conf ]; then
  dovecot -c /etc/dovecot/dovecot.conf stop 2>/dev/null || true
fi
