#!/usr/bin/env bash
# Runs the README's walkthrough exactly as written (the bash blocks after "<!-- walkthrough" markers)
# against a running ./run.sh. Run it from a folder that has the repository's examples/ and .venv/
# (the repository itself, or a scratch folder with links to them: it writes gathered.nc and plot.png).
#
#   scripts/readme-walkthrough.sh                         # against http://127.0.0.1:8000 (./run.sh)
#   scripts/readme-walkthrough.sh http://127.0.0.1:8765   # the same commands against another address
#
# tests/test_readme_walkthrough.py runs it against a fresh ./run.sh, so the README cannot drift.
set -euo pipefail
readme="$(cd "$(dirname "$0")/.." && pwd)/README.md"
url="${1:-http://127.0.0.1:8000}"

block=$(awk '
    /^<!-- walkthrough/ { marked = 1; next }
    marked && /^```bash$/ { inside = 1; marked = 0; next }
    inside && /^```$/ { inside = 0; next }
    inside { print }
' "$readme")
[ -n "$block" ] || { echo "no walkthrough block in $readme" >&2; exit 1; }
block=${block//http:\/\/127.0.0.1:8000/$url}
exec bash -euo pipefail -c "$block"
