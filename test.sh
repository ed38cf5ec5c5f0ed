#!/usr/bin/env bash
# Runs every check: ruff, the runner package's Python 3.9 syntax (vermin), then pytest on SQLite,
# then on PostgreSQL when DATABASE_URL is set. Installs what it needs first: the virtualenv, and
# podman and a one-node SLURM cluster for the container and SLURM executor tests (apt, as root).
# Extra arguments go to pytest (e.g. ./test.sh -k publish).
set -euo pipefail
cd "$(dirname "$0")"
source scripts/ensure-venv.sh
ensure_venv

echo "==> ruff"
.venv/bin/ruff check .

echo "==> vermin: the runner package runs on Python 3.9"
.venv/bin/vermin -q -t=3.9- --no-tips --violations --eval-annotations runner_client/nodeworks_runner

echo "==> podman and SLURM for the container and SLURM executor tests"
if ! scripts/ci/setup-podman.sh >/dev/null; then
    [ "${CI:-}" != true ] || exit 1
    echo "(container executor tests will skip)"
fi
if ! scripts/ci/setup-slurm.sh >/dev/null; then
    [ "${CI:-}" != true ] || exit 1
    echo "(SLURM executor tests will skip)"
fi

echo "==> pytest on SQLite"
env -u DATABASE_URL .venv/bin/python -m pytest -q "$@"

if [ -n "${DATABASE_URL:-}" ]; then
    echo "==> pytest on ${DATABASE_URL%%://*} (DATABASE_URL); the runner package's own unit tests ran above"
    .venv/bin/python -m pytest -q tests accounts workflows runners "$@"
fi
