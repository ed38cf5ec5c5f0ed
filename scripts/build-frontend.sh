#!/usr/bin/env bash
# Builds the web app into frontend/dist when its sources changed since the last build (a stamp holds
# the hash of package-lock.json, the configs, index.html and src/), as ensure-venv.sh does for Python.
# Without node/npm it says so and exits 0: the API works without the web app.
# Usage: scripts/build-frontend.sh [--force]
set -euo pipefail
cd "$(dirname "$0")/../frontend"

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "==> web app: node/npm not found, so the web app is not built (the API still works)."
    echo "    Install Node.js 20.19+ (Debian: apt-get install nodejs npm) and run scripts/build-frontend.sh."
    exit 0
fi

# The hash of everything the bundle is made from; dist/ is rebuilt only when it changes.
source_hash() {
    { find src -type f | LC_ALL=C sort; ls package.json package-lock.json index.html vite.config.ts tsconfig*.json; } \
        | xargs sha256sum | sha256sum | cut -d' ' -f1
}

# npm ci only when the lock file changed since node_modules was installed (npm ci wipes node_modules).
ensure_node_modules() {
    local want have
    want=$(sha256sum package-lock.json | cut -d' ' -f1)
    have=$(cat node_modules/.nodeworks-lock-hash 2>/dev/null || true)
    if [ "$want" != "$have" ]; then
        echo "==> web app: npm ci"
        npm ci --no-audit --no-fund --loglevel=error
        echo "$want" > node_modules/.nodeworks-lock-hash
    fi
}

stamp=dist/.build-stamp
want=$(source_hash)
if [ "${1:-}" != "--force" ] && [ -f dist/index.html ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
    echo "==> web app: up to date (frontend/dist)"
    exit 0
fi

ensure_node_modules
echo "==> web app: vite build"
npx --no-install vite build --logLevel warn
echo "$want" > "$stamp"

echo "==> web app bundle (frontend/dist):"
total=0 total_gz=0
while IFS= read -r file; do
    size=$(stat -c %s "$file")
    gz=$(gzip -9 -c "$file" | wc -c)
    total=$((total + size)) total_gz=$((total_gz + gz))
    printf '    %-48s %9s bytes  %8s gzipped\n' "${file#dist/}" "$size" "$gz"
done < <(find dist -type f \( -name '*.js' -o -name '*.css' -o -name '*.html' \) | LC_ALL=C sort)
printf '    %-48s %9s bytes  %8s gzipped\n' "total" "$total" "$total_gz"
