#!/usr/bin/env bash
# Runs every check: ruff, the runner package's Python 3.9 syntax (vermin), the web app's checks
# (scripts/test-frontend.sh, when the front end is there), then pytest on SQLite, then on PostgreSQL
# when DATABASE_URL is set. Installs the virtualenv first.
#
# System packages (podman and a one-node SLURM cluster, with apt, as root) are installed only under
# CI=true or with --system; otherwise the tests that need them skip, and this script says which and
# how to run them. Under CI=true a skipped system test is a failure.
#
#   ./test.sh                  everything that needs nothing outside the repository and .venv
#   ./test.sh --system         also install podman, SLURM (and the browser of the web app's e2e tests)
#   ./test.sh -k publish       extra arguments go to pytest
set -euo pipefail
cd "$(dirname "$0")"

system=false
[ "${CI:-}" = true ] && system=true
args=()
for arg in "$@"; do
    if [ "$arg" = --system ]; then system=true; else args+=("$arg"); fi
done
if [ "$system" = true ]; then export NODEWORKS_TEST_SYSTEM=1; fi

source scripts/ensure-venv.sh
ensure_venv

echo "==> ruff"
.venv/bin/ruff check .

echo "==> vermin: the runner package runs on Python 3.9"
.venv/bin/vermin -q -t=3.9- --no-tips --violations --eval-annotations runner_client/nodeworks_runner

if [ -x scripts/test-frontend.sh ]; then
    echo "==> the web app (scripts/test-frontend.sh)"
    scripts/test-frontend.sh
fi

if [ "$system" = true ]; then
    echo "==> podman and SLURM for the container and SLURM executor tests (scripts/ci/setup-*.sh, as root)"
    if ! scripts/ci/setup-podman.sh >/dev/null; then
        [ "${CI:-}" != true ] || exit 1
        echo "(podman could not be set up: the container executor tests will skip)"
    fi
    if ! scripts/ci/setup-slurm.sh >/dev/null; then
        [ "${CI:-}" != true ] || exit 1
        echo "(SLURM could not be set up: the SLURM executor tests will skip)"
    fi
else
    cat <<'EOF'
==> not installing system packages (run ./test.sh --system, or CI=true, to install them with apt, as root):
    these tests will skip unless podman / SLURM are already set up here:
      tests/runner/test_container_executor.py   (podman: scripts/ci/setup-podman.sh)
      tests/runner/test_slurm_executor.py       (one-node SLURM: scripts/ci/setup-slurm.sh)
      tests/test_examples.py::test_slurm_example_runs_on_slurm
EOF
fi
shared="${NODEWORKS_SHARED_DIR:-../shared}"
if [ ! -d "$shared/nodeworks-samples" ]; then
    echo "==> $shared/nodeworks-samples is missing: the tests of the real Nodeworks sample files will skip"
    echo "    (they are not in the repository; put the shared folder beside the clone or set NODEWORKS_SHARED_DIR)"
fi

echo "==> pytest on SQLite"
env -u DATABASE_URL .venv/bin/python -m pytest -q ${args[@]+"${args[@]}"}

if [ -n "${DATABASE_URL:-}" ]; then
    echo "==> pytest on ${DATABASE_URL%%://*} (DATABASE_URL); the runner package's own unit tests ran above"
    .venv/bin/python -m pytest -q tests accounts workflows runners ${args[@]+"${args[@]}"}
fi
