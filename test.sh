#!/usr/bin/env bash
# Runs every check: ruff, then pytest on SQLite, then on PostgreSQL when DATABASE_URL is set.
# Installs what it needs first. Extra arguments go to pytest (e.g. ./test.sh -k publish).
set -euo pipefail
cd "$(dirname "$0")"
source scripts/ensure-venv.sh
ensure_venv

echo "==> ruff"
.venv/bin/ruff check .

echo "==> pytest on SQLite"
env -u DATABASE_URL .venv/bin/python -m pytest -q "$@"

if [ -n "${DATABASE_URL:-}" ]; then
    echo "==> pytest on ${DATABASE_URL%%://*} (DATABASE_URL)"
    .venv/bin/python -m pytest -q "$@"
fi
