#!/usr/bin/env bash
# Development only, before the first release: rebuild the single initial migration from the
# current models. Once a release is out, add migrations with `flask db migrate` instead.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
rm -f migrations/versions/*.py
WEBAPP_INSTANCE_PATH="$tmp" DATABASE_URL="sqlite:///$tmp/regen.sqlite3" WEBAPP_SANDBOX=0 \
  .venv/bin/flask --app webapp db migrate -m "initial schema" >/dev/null
rm -rf "$tmp"
.venv/bin/ruff format -q migrations/versions || true
ls migrations/versions
