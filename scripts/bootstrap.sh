#!/usr/bin/env bash
# Installs what openrsp needs on a fresh Debian machine: system packages (once, when root and
# missing), then the pinned Python environment in .venv. Safe to run again: it skips what is there.
# `bootstrap.sh test` also installs what only the tests need (Chromium for the device-screen tests).
set -euo pipefail
cd "$(dirname "$0")/.."

SYSTEM_PACKAGES=(swig libpcsclite-dev pcscd pcsc-tools vsmartcard-vpcd openssl softhsm2)
if [ "${1:-}" = "test" ]; then
  SYSTEM_PACKAGES+=(chromium)
fi

missing=()
for pkg in "${SYSTEM_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "bootstrap: installing system packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "bootstrap: please install these Debian packages first: ${missing[*]}" >&2
    exit 1
  fi
fi

# Debian's python3 splits venv (and ensurepip) into python3-venv.
if ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    echo "bootstrap: installing python3-venv"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
  else
    echo "bootstrap: please install python3-venv first" >&2
    exit 1
  fi
fi

stamp=.venv/.installed
PIP_VERSION=26.3  # pinned: the installer is part of what makes a run repeatable
# Runtime pins always; the test pins for `bootstrap.sh test`. Every file is checked against the
# sha256 in the lock files (scripts/lock.py writes them).
locks=(-r requirements.lock)
if [ "${1:-}" = "test" ]; then
  locks+=(-r requirements-test.lock)
fi
if [ ! -f "$stamp" ] || [ requirements.lock -nt "$stamp" ] || [ requirements-test.lock -nt "$stamp" ] \
   || [ pyproject.toml -nt "$stamp" ] || { [ "${1:-}" = "test" ] && ! grep -qx test "$stamp"; }; then
  python3 -m venv .venv
  .venv/bin/pip install -q pip==$PIP_VERSION
  .venv/bin/pip install -q --require-hashes "${locks[@]}"
  .venv/bin/pip install -q --no-deps -e .
  echo "${1:-runtime}" > "$stamp"
fi
