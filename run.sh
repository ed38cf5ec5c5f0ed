#!/usr/bin/env bash
# Runs the whole system on this machine: installs into .venv, migrates (SQLite under ./data unless
# DATABASE_URL is set), creates an admin and a sample workflow, starts the background worker, serves
# the API and the admin on http://127.0.0.1:8000, and starts one local runner (executors local and
# shell) for the admin's workflows, until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")"
source scripts/ensure-venv.sh
ensure_venv

HOST="${HOST:-127.0.0.1}" PORT="${PORT:-8000}"
PY=.venv/bin/python
$PY manage.py migrate --no-input -v0
$PY manage.py ensure_admin
$PY manage.py load_sample ../shared/nodeworks-samples/node_ex.nc --user admin --name "node_ex sample" 2>/dev/null \
    || $PY manage.py load_sample scripts/samples/worked_example.nc --user admin --name "worked example"

# Each child runs in its own process group (setsid), so stopping it stops its workers too:
# SIGTERM first (the runner finishes its tasks, the worker its jobs), SIGKILL after 10 s.
pids=()
cleanup() {
    trap - EXIT INT TERM
    for pid in "${pids[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done
    for _ in $(seq 100); do
        alive=0
        for pid in "${pids[@]}"; do kill -0 -- "-$pid" 2>/dev/null && alive=1; done
        [ "$alive" = 0 ] && break
        sleep 0.1
    done
    for pid in "${pids[@]}"; do kill -KILL -- "-$pid" 2>/dev/null || true; done
}
trap cleanup EXIT INT TERM

echo "==> background worker (django-q2)"
setsid $PY manage.py qcluster &
pids+=($!)

echo "==> serving on http://$HOST:$PORT  (API docs: /api/v1/docs, admin: /admin/)"
# Threaded workers: a runner's long-poll holds a thread, never a whole process.
setsid .venv/bin/gunicorn nodeworks_server.wsgi:application --bind "$HOST:$PORT" \
    --workers 2 --worker-class gthread --threads 16 --access-logfile - &
pids+=($!)

echo "==> a local runner for admin's workflows (executors local, shell)"
token_file=$($PY manage.py ensure_local_runner --user admin --name local --executors local,shell)
for _ in $(seq 50); do curl -fs "http://$HOST:$PORT/api/v1/status" >/dev/null 2>&1 && break; sleep 0.2; done
NODEWORKS_RUNNER_URL="http://$HOST:$PORT" NODEWORKS_RUNNER_TOKEN="$(cat "$token_file")" \
    NODEWORKS_RUNNER_CONFIG="$(dirname "$token_file")/local-runner.json" \
    setsid .venv/bin/nodeworks-runner run --name local --executors local,shell \
    --state-dir "$(dirname "$token_file")/runner" &
pids+=($!)
echo "==> ready: log in at http://$HOST:$PORT/admin/ and execute the sample:"
echo "    curl -X POST -H 'Authorization: Bearer <JWT from /api/v1/login>' http://$HOST:$PORT/api/v1/workflow/execute/1"
wait -n "${pids[@]}"
