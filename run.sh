#!/usr/bin/env bash
# Runs the whole system on this machine until Ctrl-C: installs into .venv, builds the web app when
# its sources changed (scripts/build-frontend.sh, when the front end is there), migrates (SQLite under
# the data directory unless DATABASE_URL is set), creates the admin and publishes the examples of
# examples/ for it, starts the background worker, serves the web app, the API and the admin, and
# starts one local runner (executors local and shell, the plug-ins of examples/plugins) that is
# shared with all users, so anyone who signs up can run workflows at once.
#
# Settings: HOST (127.0.0.1), PORT (8000), NODEWORKS_DATA_DIR (./data), DATABASE_URL (SQLite).
set -euo pipefail
cd "$(dirname "$0")"
source scripts/ensure-venv.sh
ensure_venv

HOST="${HOST:-127.0.0.1}" PORT="${PORT:-8000}"
NODEWORKS_DATA_DIR="$(mkdir -p "${NODEWORKS_DATA_DIR:-data}" && cd "${NODEWORKS_DATA_DIR:-data}" && pwd)"
export NODEWORKS_DATA_DIR
URL="http://$HOST:$PORT"
PY=.venv/bin/python

if [ -x scripts/build-frontend.sh ]; then
    scripts/build-frontend.sh
fi

$PY manage.py migrate --no-input -v0
$PY manage.py ensure_admin
for example in parameter_sweep fan_out_gather shell_pipeline plot plugin_word_count; do
    $PY manage.py load_sample "examples/$example.nc" --user admin --name "example: $example"
done

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

echo "==> background worker (django-q2: lease reaping, timers)"
setsid $PY manage.py qcluster &
pids+=($!)

echo "==> server on $URL (gunicorn, threaded workers: a runner's long-poll holds a thread, not a process)"
setsid .venv/bin/gunicorn nodeworks_server.wsgi:application --bind "$HOST:$PORT" \
    --workers 2 --worker-class gthread --threads 32 --access-logfile - &
pids+=($!)

token_file=$($PY manage.py ensure_local_runner --user admin --name local --executors local,shell --shared-with-all)
up=false
for _ in $(seq 150); do
    if curl -fs "$URL/api/v1/status" >/dev/null 2>&1; then up=true; break; fi
    sleep 0.2
done
[ "$up" = true ] || { echo "the server did not answer on $URL/api/v1/status" >&2; exit 1; }

echo "==> runner 'local' (executors local, shell; plug-ins from examples/plugins), shared with all users"
NODEWORKS_RUNNER_URL="$URL" NODEWORKS_RUNNER_TOKEN="$(cat "$token_file")" \
    NODEWORKS_RUNNER_CONFIG="$NODEWORKS_DATA_DIR/local-runner.json" \
    setsid .venv/bin/nodeworks-runner run --name local --executors local,shell \
    --node-path "$PWD/examples/plugins" --state-dir "$NODEWORKS_DATA_DIR/runner" &
pids+=($!)

cat <<EOF
==> ready (Ctrl-C stops everything)
    web app    $URL/            (sign up there, or log in as admin)
    admin      $URL/admin/      user admin, password in $NODEWORKS_DATA_DIR/admin-password.txt
    API        $URL/api/v1/     docs at $URL/api/v1/docs
    data       $NODEWORKS_DATA_DIR
    examples   published for admin from examples/; the README shows how to publish and run one as a new user
    runner     'local' runs every user's tasks for executors local and shell
EOF
wait -n "${pids[@]}"
