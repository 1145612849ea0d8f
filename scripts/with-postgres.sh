#!/usr/bin/env bash
# Runs a command (the test suite) with a PostgreSQL server for the tests that need one.
# The server OPENRSP_TEST_PG names (default: the machine's, postgresql://postgres@127.0.0.1:5432/test)
# is used when it answers; otherwise a throwaway cluster is made for this run alone with Debian's
# pg_virtualenv (installed first when missing and run as root) and removed when the command ends.
set -euo pipefail
cd "$(dirname "$0")/.."

url="${OPENRSP_TEST_PG:-postgresql://postgres@127.0.0.1:5432/test}"
if .venv/bin/python - "$url" <<'PY'
import sys

import psycopg

try:
    psycopg.connect(sys.argv[1], connect_timeout=3).close()
except Exception:
    sys.exit(1)
PY
then
  export OPENRSP_TEST_PG="$url"
  exec "$@"
fi

echo "with-postgres: no PostgreSQL answers at $url: starting a throwaway cluster for this run"
if ! command -v pg_virtualenv >/dev/null || ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  if [ "$(id -u)" != 0 ]; then
    echo "with-postgres: install Debian's postgresql package (for pg_virtualenv), or set OPENRSP_TEST_PG" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends postgresql postgresql-common >/dev/null
fi
# pg_virtualenv sets PGHOST, PGPORT, PGUSER, PGPASSWORD and PGDATABASE for the command it runs.
exec pg_virtualenv -- sh -c \
  'export OPENRSP_TEST_PG="postgresql://$PGUSER:$PGPASSWORD@$PGHOST:$PGPORT/$PGDATABASE"; exec "$@"' \
  sh "$@"
