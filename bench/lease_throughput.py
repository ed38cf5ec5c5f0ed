#!/usr/bin/env python
"""Lease throughput of the runner protocol, against a raw PostgreSQL baseline.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/lease_throughput.py

What it does (see bench/README.md and docs/benchmarks.md):

1. (Re)creates a fresh database `nodeworks_bench` (`--database`) on the server DATABASE_URL points at,
   migrates it, creates a user and registers a runner.
2. Starts gunicorn (gthread, 2 workers x 8 threads) on a free port against that database.
3. For each batch size (1 and 50): creates a run of N unconnected no-op nodes (all queued at once), then
   4 client processes loop `lease(max_tasks=B, wait_s=0)` → `results` (all succeeded) over keep-alive
   HTTP connections until the queue is empty. Throughput = tasks / wall time from a common start.
4. Baseline: the same loop without Django, HTTP or JSON payload assembly: 4 processes with psycopg, each
   `SELECT ... FOR UPDATE SKIP LOCKED` + `UPDATE ... RETURNING` to lease B rows of the same
   `workflows_task` table (a fresh run of N queued tasks, same indexes, same row width), then one
   conditional `UPDATE` (fenced by lease id and state) to complete them.
5. Prints tasks/s per batch size, the ratio server/raw and the targets (≥ 500 tasks/s at batch 1,
   ≥ 5,000 tasks/s at batch 50); `--json FILE` writes the figures.

Needs PostgreSQL (`psql` is not needed; psycopg connects to the maintenance database named in DATABASE_URL,
or `postgres`). Nothing in the development database is touched.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing as mp
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
PROTOCOL = "1"
CLIENTS = 4


# ---------------------------------------------------------------- database and server


def database_urls(url: str, name: str) -> tuple[str, str]:
    """(maintenance URL, bench URL) on the server `url` points at."""
    parsed = urlparse(url)
    if parsed.scheme not in ("postgres", "postgresql", "pgsql"):
        sys.exit("DATABASE_URL must point at PostgreSQL (postgresql://user@host:port/db)")
    maintenance = parsed.path.lstrip("/") or "postgres"
    if maintenance == name:
        maintenance = "postgres"
    return (
        urlunparse(parsed._replace(path="/" + maintenance, scheme="postgresql")),
        urlunparse(parsed._replace(path="/" + name, scheme="postgresql")),
    )


def recreate_database(maintenance_url: str, name: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(maintenance_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def server_env(bench_url: str, data_dir: str) -> dict:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=bench_url,
        NODEWORKS_DATA_DIR=data_dir,
        DJANGO_SETTINGS_MODULE="nodeworks_server.settings",
        DEBUG="false",  # DEBUG keeps every query in memory; a real deployment runs without it
        LOG_LEVEL="WARNING",
        PYTHONPATH=str(ROOT),
    )
    return env


def django_helper(env: dict, code: str) -> str:
    """Runs `code` in a Django-initialised subprocess; returns its last line of output."""
    script = "import django\ndjango.setup()\n" + textwrap.dedent(code)
    out = subprocess.run([PY, "-c", script], env=env, cwd=ROOT, check=True, capture_output=True, text=True)
    return out.stdout.strip().splitlines()[-1]


SETUP = """
import json
from django.contrib.auth import get_user_model
from runners.services import runner_register
user = get_user_model().objects.create_user(username="bench", email="bench@example.org", password="bench password 123")
runner, token = runner_register(user=user, name="bench", tags=[], executors=["local"])
print(json.dumps({"user_id": user.pk, "runner_id": runner.pk, "token": token}))
"""

MAKE_RUN = """
import json, time
from django.contrib.auth import get_user_model
from workflows.documents import document_from_object
from workflows.services.publishing import workflow_publish
from workflows.services.runs import run_create

N, LABEL = {n}, {label!r}
def node(i):
    name = f"n{{i:06d}}"
    return {{
        "type": "Node", "name": name, "uniquename": name, "pos": [0, 0], "path": ["math", "Add"],
        "terminals": {{"a": {{"value": i, "opts": {{"in": True, "multiinput": True}}}},
                       "out": {{"value": None, "opts": {{"out": True}}}}}},
    }}
user = get_user_model().objects.get(username="bench")
started = time.perf_counter()
workflow, _ = workflow_publish(user=user, document=document_from_object({{n["uniquename"]: n for n in map(node, range(N))}}),
                               name=f"bench {{LABEL}}", message="bench")
run = run_create(user=user, workflow=workflow)
print(json.dumps({{"run_id": run.pk, "seconds": time.perf_counter() - started}}))
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_gunicorn(env: dict, port: int, workers: int, threads: int, log) -> subprocess.Popen:
    gunicorn = shutil.which("gunicorn", path=str(Path(PY).parent)) or "gunicorn"
    process = subprocess.Popen(
        [
            gunicorn,
            "nodeworks_server.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--worker-class",
            "gthread",
            "--threads",
            str(threads),
            "--keep-alive",
            "30",
            "--log-level",
            "warning",
        ],
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("gunicorn exited at start; see its log")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/api/v1/status")
            if conn.getresponse().status == 200:
                return process
        except OSError:
            pass
        time.sleep(0.2)
    process.terminate()
    raise RuntimeError("gunicorn did not answer /api/v1/status within 30 s")


# ---------------------------------------------------------------- HTTP clients


def http_client(port: int, token: str, batch: int, combined: bool, start, results_queue) -> None:
    headers = {
        "Authorization": f"Runner {token}",
        "X-Nodeworks-Protocol": PROTOCOL,
        "Content-Type": "application/json",
        "Connection": "keep-alive",
    }
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def post(path: str, body: dict) -> dict:
        conn.request("POST", "/api/v1/runners/" + path, json.dumps(body), headers)
        response = conn.getresponse()
        payload = response.read()
        if response.status != 200:
            raise RuntimeError(f"{path}: {response.status} {payload[:300]!r}")
        return json.loads(payload)

    lease_body = {"max_tasks": batch, "wait_s": 0, "executors": ["local"]}
    done = calls = 0
    start.wait()
    began = time.perf_counter()
    tasks = post("lease", lease_body)["tasks"]
    calls += 1
    while tasks:
        body = {"results": [{"lease_id": t["lease_id"], "state": "succeeded", "outputs": {"out": 1}} for t in tasks]}
        if combined:  # the results call leases the next batch too: one call per batch
            body["lease"] = {"max_tasks": batch, "executors": ["local"]}
        answer = post("results", body)
        calls += 1
        accepted = sum(1 for r in answer["results"] if r["accepted"])
        if accepted != len(tasks):
            raise RuntimeError(f"{len(tasks) - accepted} results refused: {answer['results'][:3]}")
        done += accepted
        tasks = answer["next"]
        if not tasks:
            tasks = post("lease", lease_body)["tasks"]
            calls += 1
    results_queue.put({"done": done, "calls": calls, "began": began, "ended": time.perf_counter()})
    conn.close()


# ---------------------------------------------------------------- raw PostgreSQL baseline

RAW_LEASE = """
WITH picked AS (
    SELECT id FROM workflows_task
    WHERE state = 'queued' AND owner_id = %(owner)s AND executor = 'local'
      AND (not_before IS NULL OR not_before <= now())
    ORDER BY priority DESC, id
    LIMIT %(batch)s
    FOR UPDATE SKIP LOCKED
)
UPDATE workflows_task t
SET state = 'leased', lease_id = gen_random_uuid(), runner_id = %(runner)s,
    leased_at = now(), expires_at = now() + interval '60 seconds', started = NULL
FROM picked WHERE t.id = picked.id AND t.state = 'queued'
RETURNING t.id, t.lease_id, t.attempt, t.run_id, t.node_data, t.input_sources, t.requirements, t.expires_at
"""

RAW_COMPLETE = """
UPDATE workflows_task t
SET state = 'succeeded', outputs = '{"out": 1}'::jsonb, finished = now(), error = '', finished_lease_id = t.lease_id
FROM unnest(%(ids)s::bigint[], %(leases)s::uuid[]) AS r(id, lease)
WHERE t.id = r.id AND t.lease_id = r.lease AND t.state IN ('leased', 'running')
"""


def raw_client(url: str, owner: int, runner: int, batch: int, start, results_queue) -> None:
    import psycopg

    done = calls = 0
    with psycopg.connect(url) as conn:
        start.wait()
        began = time.perf_counter()
        while True:
            with conn.transaction():
                rows = conn.execute(RAW_LEASE, {"owner": owner, "runner": runner, "batch": batch}).fetchall()
            calls += 1
            if not rows:
                break
            # The server sends each task's node object; the baseline reads it too, and decodes nothing more.
            with conn.transaction():
                completed = conn.execute(RAW_COMPLETE, {"ids": [r[0] for r in rows], "leases": [r[1] for r in rows]}).rowcount
            calls += 1
            if completed != len(rows):
                raise RuntimeError(f"{len(rows) - completed} completions refused")
            done += completed
    results_queue.put({"done": done, "calls": calls, "began": began, "ended": time.perf_counter()})


# ---------------------------------------------------------------- measurement


def measure(target, args: tuple, expected: int) -> dict:
    ctx = mp.get_context("fork")
    start = ctx.Barrier(CLIENTS)
    results_queue = ctx.Queue()
    processes = [ctx.Process(target=target, args=(*args, start, results_queue)) for _ in range(CLIENTS)]
    for process in processes:
        process.start()
    reports = [results_queue.get(timeout=900) for _ in processes]
    for process in processes:
        process.join(timeout=30)
        if process.exitcode:
            raise RuntimeError(f"a client process failed (exit code {process.exitcode})")
    done = sum(r["done"] for r in reports)
    if done != expected:
        raise RuntimeError(f"{done} tasks completed, {expected} expected")
    seconds = max(r["ended"] for r in reports) - min(r["began"] for r in reports)
    return {
        "tasks": done,
        "seconds": round(seconds, 3),
        "tasks_per_s": round(done / seconds, 1),
        "calls": sum(r["calls"] for r in reports),
        "calls_per_s": round(sum(r["calls"] for r in reports) / seconds, 1),
        "per_client": [r["done"] for r in reports],
    }


def analyze(url: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("ANALYZE workflows_task")


def vacuum(url: str) -> None:
    """Clears the previous phases' leased tasks out of the queue index before a phase starts.

    Their index entries stay (dead) until VACUUM, at the head of the queue order, and every claim
    steps over them: back to back, a phase would pay for the ones before it (20,000 dead entries
    cost ~0.45 ms per claim here), and the order of the phases would decide the figures.
    Autovacuum does the same between bursts in a deployment, but not within the seconds between
    two phases.
    """
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE) workflows_task")


def before_phase(url: str, args) -> None:
    if args.analyze:
        analyze(url)
    if not args.no_vacuum:
        vacuum(url)


def check_run(env: dict, run_id: int) -> str:
    return django_helper(
        env,
        f"""
        from workflows.models import Run, Task
        run = Run.objects.get(pk={run_id})
        states = sorted(set(Task.objects.filter(run=run).values_list("state", flat=True)))
        print(run.state + " (tasks: " + ",".join(states) + ")")
        """,
    )


def machine() -> dict:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import psycopg

    return {
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "psycopg": psycopg.__version__,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default="nodeworks_bench", help="database to (re)create (default nodeworks_bench)")
    parser.add_argument("--batches", default="1,50", help="batch sizes (max_tasks), comma-separated")
    parser.add_argument("--tasks", default="1:5000,50:20000", help="tasks per batch size, e.g. 1:5000,50:20000")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--skip-raw", action="store_true", help="skip the raw PostgreSQL baseline")
    parser.add_argument(
        "--modes",
        default="separate,combined",
        help="separate: lease and results calls; combined: results carry the next lease (default both)",
    )
    parser.add_argument("--keep", action="store_true", help="leave the server running until Ctrl-C (for profiling)")
    parser.add_argument(
        "--analyze",
        action="store_true",
        help="ANALYZE workflows_task after creating each run (fresh planner statistics; see docs/benchmarks.md)",
    )
    parser.add_argument(
        "--no-vacuum",
        action="store_true",
        help="do not VACUUM workflows_task before each phase (phases then pay for the dead entries of the earlier ones)",
    )
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()

    url = os.environ.get("DATABASE_URL", "")
    if not url:
        sys.exit("set DATABASE_URL to a PostgreSQL server, e.g. postgresql://postgres@127.0.0.1:5432/postgres")
    batches = [int(b) for b in args.batches.split(",")]
    modes = [mode for mode in args.modes.split(",") if mode]
    sizes = {int(k): int(v) for k, v in (item.split(":") for item in args.tasks.split(","))}
    maintenance_url, bench_url = database_urls(url, args.database)

    print(f"==> fresh database {args.database}", flush=True)
    recreate_database(maintenance_url, args.database)
    data_dir = tempfile.mkdtemp(prefix="nodeworks-bench-")
    env = server_env(bench_url, data_dir)
    subprocess.run([PY, "manage.py", "migrate", "--no-input", "-v0"], env=env, cwd=ROOT, check=True)
    setup = json.loads(django_helper(env, SETUP))

    port = free_port()
    log_path = Path(data_dir) / "gunicorn.log"
    print(f"==> gunicorn gthread {args.workers} workers x {args.threads} threads on :{port} (log {log_path})", flush=True)
    figures: dict = {
        "machine": machine(),
        "server": {"workers": args.workers, "threads": args.threads},
        "analyze": args.analyze,
        "vacuum_before_each_phase": not args.no_vacuum,
        "results": {},
    }
    with open(log_path, "w") as log:
        server = start_gunicorn(env, port, args.workers, args.threads, log)
        try:
            for mode in modes:
                for batch in batches:
                    n = sizes.get(batch, 20_000)
                    made = json.loads(django_helper(env, MAKE_RUN.format(n=n, label=f"http {mode} b{batch}")))
                    before_phase(bench_url, args)
                    print(f"==> HTTP {mode}, batch {batch}: {n} queued tasks (run {made['run_id']})", flush=True)
                    result = measure(http_client, (port, setup["token"], batch, mode == "combined"), n)
                    result["run_state"] = check_run(env, made["run_id"])
                    figures["results"][f"http_{mode}_b{batch}"] = result
                    rate, calls, state = result["tasks_per_s"], result["calls_per_s"], result["run_state"]
                    print(f"    {rate:>9,.0f} tasks/s  ({calls:,.0f} calls/s, {result['seconds']} s; run {state})", flush=True)
            if args.keep:
                print(f"==> server left running on :{port}; Ctrl-C to stop", flush=True)
                server.wait()
        finally:
            server.terminate()
            server.wait(timeout=30)

    if not args.skip_raw:
        for batch in batches:
            n = sizes.get(batch, 20_000)
            made = json.loads(django_helper(env, MAKE_RUN.format(n=n, label=f"raw b{batch}")))
            before_phase(bench_url, args)
            print(f"==> raw PostgreSQL, batch {batch}: {n} queued tasks", flush=True)
            result = measure(raw_client, (bench_url, setup["user_id"], setup["runner_id"], batch), n)
            figures["results"][f"raw_b{batch}"] = result
            rate, calls = result["tasks_per_s"], result["calls_per_s"]
            print(f"    {rate:>9,.0f} tasks/s  ({calls:,.0f} transactions/s, {result['seconds']} s)", flush=True)

    targets = {1: 500, 50: 5000}
    print("\n==> summary (tasks/s)")
    print(f"{'mode':>9} {'batch':>6} {'server':>10} {'raw PG':>10} {'ratio':>7} {'target':>8}")
    for mode in modes:
        for batch in batches:
            server_rate = figures["results"][f"http_{mode}_b{batch}"]["tasks_per_s"]
            raw = figures["results"].get(f"raw_b{batch}", {}).get("tasks_per_s")
            ratio = f"{server_rate / raw:.2f}" if raw else "-"
            target = targets.get(batch)
            verdict = "" if target is None else ("met" if server_rate >= target else "MISSED")
            print(f"{mode:>9} {batch:>6} {server_rate:>10,.0f} {raw or 0:>10,.0f} {ratio:>7} {target or '-':>8} {verdict}")
            figures["results"][f"ratio_{mode}_b{batch}"] = round(server_rate / raw, 3) if raw else None
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n")
    shutil.rmtree(data_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
