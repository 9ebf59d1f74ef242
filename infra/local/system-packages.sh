#!/usr/bin/env bash
# The Debian packages the test suite starts on loopback: PostgreSQL 15 (a real catalog server) and Chromium
# (the report renders in it, headless). Installs only what is missing; needs root (or sudo) when it installs.
set -euo pipefail

missing=()
if ! command -v pg_config >/dev/null || [[ ! -x "$(pg_config --bindir)/initdb" ]]; then
    missing+=(postgresql-15 libpq-dev)  # libpq-dev: /usr/bin/pg_config, which finds the server's
fi
command -v chromium >/dev/null || missing+=(chromium)
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "installing Debian packages: ${missing[*]}" >&2
sudo=""
[[ "$(id -u)" -eq 0 ]] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
