#!/usr/bin/env bash
# Installs what building, running and testing leadpath needs on Debian 12, only when missing.
# Usage: scripts/deps.sh build|test
set -euo pipefail
what=${1:-build}
pkgs=(build-essential cmake pkg-config libmicrohttpd-dev libjansson-dev libsqlite3-dev libpq-dev
      libsodium-dev libcurl4-openssl-dev libssl-dev libgmime-3.0-dev libphonenumber-dev libhpdf-dev g++ python3)
# tzdata: the time zones of the company's settings, checked when saved and read by the SLA clock (lib/util/tz.c).
pkgs+=(tzdata)
if [ "$what" = test ]; then
  # python3-aiosmtpd, dovecot-imapd and curl: the loopback SMTP and IMAP servers of the
  # conversation tests (tests/e2e/mailservers.mjs) and the client that talks to them;
  # sqlite3: the kill -9 and backup tests' integrity checks; clang: the libFuzzer targets
  # (tests/fuzz, scripts/fuzz.sh), which gcc cannot build; poppler-utils: pdftotext reads the invoice PDFs.
  pkgs+=(libcmocka-dev chromium postgresql wrk python3-aiosmtpd dovecot-imapd curl sqlite3 clang poppler-utils)
fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
if ((${#missing[@]})); then
  echo "deps: installing ${missing[*]}"
  SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# npm packages (UI libraries and browser tests) from the committed lockfile.
if [ -f package-lock.json ]; then
  if [ ! -d node_modules ] || [ package-lock.json -nt node_modules ]; then
    npm ci --no-audit --no-fund --loglevel=error
    touch node_modules
  fi
fi
