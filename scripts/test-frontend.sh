#!/usr/bin/env bash
# Checks the web app: npm ci, ESLint, tsc --noEmit, Vitest, the production build (bundle sizes
# printed), then the Playwright specs in a real chromium against a real server (gunicorn + qcluster)
# with real runner processes. Exits non-zero on any failure.
#
# The browser is Debian's chromium (/usr/bin/chromium; never a Playwright download). It is installed
# with apt only when CI=true or NODEWORKS_TEST_SYSTEM=1 (./test.sh --system); otherwise, when it is
# missing, the browser specs are skipped with a message. Under CI=true a missing browser is a failure.
# Extra arguments go to `playwright test` (e.g. scripts/test-frontend.sh shell.spec.ts).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
started=$SECONDS
# Each step's heading says how long the run has taken so far (the budget is a few minutes).
step() { echo "==> web app: $* (at $((SECONDS - started)) s)"; }
strict=false
[ "${CI:-}" = true ] && strict=true

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    if $strict; then
        echo "==> web app: node/npm not found (CI=true: a failure)" >&2
        exit 1
    fi
    echo "==> web app: node/npm not found: web app checks skipped (install Node.js 20.19+ to run them)"
    exit 0
fi

cd frontend
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if $strict || [ "$want" != "$(cat node_modules/.nodeworks-lock-hash 2>/dev/null || true)" ]; then
    step "npm ci"
    npm ci --no-audit --no-fund --loglevel=error
    echo "$want" > node_modules/.nodeworks-lock-hash
fi

step eslint
npx --no-install eslint . --max-warnings=0 --cache --cache-location node_modules/.cache/eslint/

step "tsc --noEmit"
npm run --silent typecheck

step vitest
npx --no-install vitest run

step build
"$repo/scripts/build-frontend.sh"

chromium=/usr/bin/chromium
if [ ! -x "$chromium" ] && { $strict || [ "${NODEWORKS_TEST_SYSTEM:-}" = 1 ]; }; then
    echo "==> web app: installing chromium (apt) for the browser specs"
    if [ "$(id -u)" = 0 ]; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core >/dev/null
    else
        sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core >/dev/null
    fi
fi
if [ ! -x "$chromium" ]; then
    if $strict; then
        echo "==> web app: $chromium is missing (CI=true: a failure)" >&2
        exit 1
    fi
    echo "==> web app: browser specs SKIPPED: $chromium is missing."
    echo "    Run ./test.sh --system (or NODEWORKS_TEST_SYSTEM=1 scripts/test-frontend.sh) to install it with apt."
    exit 0
fi

if [ ! -x "$repo/.venv/bin/python" ]; then
    # The specs start the real server from the project's virtualenv.
    (cd "$repo" && source scripts/ensure-venv.sh && ensure_venv)
fi

step "browser specs (playwright + $chromium)"
NODEWORKS_E2E_CHROMIUM="$chromium" npx --no-install playwright test -c tests/e2e/playwright.config.ts "$@"
echo "==> web app: all checks passed in $((SECONDS - started)) s"
