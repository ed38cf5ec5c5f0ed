#!/usr/bin/env python
"""Idle cost: what 200 long-polling runners with no work cost the server, and how fast one queued task is picked up.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/idle_cost.py \
        [--duration 60] [--json out.json] [--smoke]

1. (Re)creates its own database `nodeworks_idle_bench` (`--database`), migrates it, registers `--runners`
   (200) runners (real runner tokens) of one user, publishes a one-node workflow, and starts gunicorn as
   run.sh does (gthread, 2 workers x 32 threads; default server settings).
2. `--runners` client threads (one keep-alive HTTP connection each) loop as the runner package's lease loop
   does: `POST /api/v1/runners/lease {max_tasks: 1, wait_s: 20, executors: ["local"]}`, sleeping
   `retry_after_s` when the server answers that every waiting slot of its process is taken.
3. Idle window (`--duration` s, default 60, after a 3 s settling time): server CPU % = CPU seconds (user +
   system, /proc/<pid>/stat) of gunicorn's master and workers / wall seconds, in % of one core; PostgreSQL
   transactions/s = the delta of `xact_commit + xact_rollback` in pg_stat_database for the bench database
   (the server runs in autocommit, so a statement outside a transaction block counts as one: this counts
   round trips that did work, not statements inside a transaction block); PostgreSQL CPU % of the backends
   connected to the bench database (/proc, the backends alive at the end of the window); lease calls/s.
4. Pickup (`--pickups`, default 20, ~1 s apart): `POST workflow/execute` of the one-node workflow through the
   user API; pickup latency = from just before that request is sent to the moment a client thread reads the
   lease answer holding the task (the client then reports it succeeded). p50 and p95.
5. Prints a table against the targets (idle <= 5 % of a core, pickup p50 <= 50 ms) and writes `--json FILE`.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from server_probe import (
    ROOT,
    Api,
    cpu_seconds,
    database_urls,
    django_helper,
    exit_on_sigterm,
    free_port,
    percentile,
    process_tree,
    recreate_database,
    row,
    server_env,
    start_gunicorn,
    stop_server,
    versions,
)

PY = sys.executable
PROTOCOL = "1"

SETUP = """
import json
from django.contrib.auth import get_user_model
from accounts.services import api_token_create
from runners.services import runner_register
from workflows.documents import document_from_object
from workflows.services.publishing import workflow_publish
user = get_user_model().objects.create_user(username="idle", email="idle@example.org", password="idle password 123")
_, token = api_token_create(user=user, name="bench")
runners = [runner_register(user=user, name=f"idle-{{i}}", tags=[], executors=["local"])[1] for i in range({runners})]
node = {{"type": "Node", "name": "one", "uniquename": "one", "path": ["types", "Integer"],
         "terminals": {{"v": {{"value": 1, "opts": {{"in": True}}}}, "o": {{"opts": {{"out": True}}}}}}}}
workflow, _ = workflow_publish(user=user, document=document_from_object({{"one": node}}), name="one node", message="bench")
print(json.dumps({{"token": token, "runners": runners, "workflow": workflow.pk}}))
"""


class Clients:
    """Simulated runners: threads in a lease loop; they record when a task reaches them."""

    def __init__(self, port: int, tokens: list[str], wait_s: float):
        self.port, self.wait_s = port, wait_s
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.calls = 0
        self.turned_away = 0
        self.errors: list[str] = []
        self.picked: list[tuple[float, int]] = []  # (perf_counter at the answer, run id)
        self.threads = [threading.Thread(target=self._loop, args=(token,), daemon=True) for token in tokens]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()
            time.sleep(0.005)  # as runners starting over a while, not in one burst

    def _loop(self, token: str) -> None:
        headers = {
            "Authorization": f"Runner {token}",
            "X-Nodeworks-Protocol": PROTOCOL,
            "Content-Type": "application/json",
        }
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.wait_s + 30)
        lease = json.dumps({"max_tasks": 1, "wait_s": self.wait_s, "executors": ["local"]})
        while not self.stop.is_set():
            try:
                conn.request("POST", "/api/v1/runners/lease", lease, headers)
                response = conn.getresponse()
                payload = response.read()
                answered = time.perf_counter()
                if response.status != 200:
                    raise RuntimeError(f"lease: {response.status} {payload[:200]!r}")
                answer = json.loads(payload)
                with self.lock:
                    self.calls += 1
                tasks = answer.get("tasks") or []
                if tasks:
                    with self.lock:
                        self.picked.extend((answered, task["run_id"]) for task in tasks)
                    results = [{"lease_id": t["lease_id"], "state": "succeeded", "outputs": {"o": 1}} for t in tasks]
                    conn.request("POST", "/api/v1/runners/results", json.dumps({"results": results}), headers)
                    conn.getresponse().read()
                elif answer.get("retry_after_s"):
                    with self.lock:
                        self.turned_away += 1
                    self.stop.wait(float(answer["retry_after_s"]))
            except Exception as exc:
                with self.lock:
                    self.errors.append(repr(exc)[:200])
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.wait_s + 30)
                self.stop.wait(1.0)
        conn.close()

    def snapshot(self) -> tuple[int, int]:
        with self.lock:
            return self.calls, self.turned_away


def pg_counters(url: str, name: str) -> tuple[int, list[int]]:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        xacts = conn.execute(
            "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = %s", (name,)
        ).fetchone()[0]
        pids = [r[0] for r in conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", (name,)).fetchall()]
    return int(xacts), pids


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default="nodeworks_idle_bench")
    parser.add_argument("--runners", type=int, default=200)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of the idle window")
    parser.add_argument("--pickups", type=int, default=20)
    parser.add_argument("--wait-s", type=float, default=20.0, help="the clients' long-poll (the runner's default)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=32)
    parser.add_argument("--smoke", action="store_true", help="20 runners, 5 s, 5 pickups, wait_s 2 (no targets)")
    parser.add_argument("--json", help="write the rows to this file")
    args = parser.parse_args()
    exit_on_sigterm()
    if args.smoke:
        # A short long-poll too: gunicorn's graceful stop waits for the calls in flight.
        args.runners, args.duration, args.pickups, args.wait_s = 20, 5.0, 5, 2.0

    url = os.environ.get("DATABASE_URL", "")
    if not url:
        sys.exit("set DATABASE_URL to a PostgreSQL server, e.g. postgresql://postgres@127.0.0.1:5432/postgres")
    maintenance_url, bench_url = database_urls(url, args.database)
    print(f"==> fresh database {args.database}", flush=True)
    recreate_database(maintenance_url, args.database)
    data_dir = tempfile.mkdtemp(prefix="nodeworks-idle-")
    env = server_env(bench_url, data_dir)
    subprocess.run([PY, "manage.py", "migrate", "--no-input", "-v0"], env=env, cwd=ROOT, check=True)
    setup = json.loads(django_helper(env, SETUP.format(runners=args.runners)))

    port = free_port()
    log_path = Path(data_dir) / "gunicorn.log"
    print(f"==> gunicorn gthread {args.workers} workers x {args.threads} threads on :{port} (log {log_path})", flush=True)
    figures: dict = {}
    with open(log_path, "w") as log:
        server = start_gunicorn(env, port, args.workers, args.threads, log)
        clients = Clients(port, setup["runners"], args.wait_s)
        try:
            print(f"==> {args.runners} runners long-polling (wait_s {args.wait_s:g})", flush=True)
            clients.start()
            time.sleep(1.0 if args.smoke else 3.0)
            pids = process_tree(server.pid)
            cpu0 = sum(cpu_seconds(pid) for pid in pids)
            xacts0, _ = pg_counters(bench_url, args.database)
            _, backends = pg_counters(bench_url, args.database)
            pg_cpu0 = {pid: cpu_seconds(pid) for pid in backends}
            calls0, away0 = clients.snapshot()
            wall0 = time.monotonic()
            time.sleep(args.duration)
            wall = time.monotonic() - wall0
            cpu = sum(cpu_seconds(pid) for pid in pids) - cpu0
            calls1, away1 = clients.snapshot()
            xacts1, backends = pg_counters(bench_url, args.database)
            pg_cpu = sum(cpu_seconds(pid) - pg_cpu0.get(pid, 0.0) for pid in backends)
            figures.update(
                server_cpu_pct=100 * cpu / wall,
                pg_xacts_per_s=(xacts1 - xacts0 - 2) / wall,  # minus our own two reads
                pg_cpu_pct=100 * pg_cpu / wall,
                lease_calls_per_s=(calls1 - calls0) / wall,
                turned_away_per_s=(away1 - away0) / wall,
                pg_backends=len(backends),
            )
            print(
                f"    server CPU {figures['server_cpu_pct']:.1f} % of a core, PostgreSQL {figures['pg_xacts_per_s']:.1f} "
                f"transactions/s and {figures['pg_cpu_pct']:.1f} % CPU ({len(backends)} backends), "
                f"{figures['lease_calls_per_s']:.1f} lease answers/s ({figures['turned_away_per_s']:.1f}/s with retry_after_s)",
                flush=True,
            )

            print(f"==> {args.pickups} pickups", flush=True)
            api = Api(port, setup["token"])
            latencies, execute_s = [], []
            for _ in range(args.pickups):
                time.sleep(random.uniform(0.8, 1.2))
                with clients.lock:
                    before = len(clients.picked)
                sent = time.perf_counter()
                # reuse off: run 1's result would otherwise be taken at once and nothing queued (workflows/lifecycle/reuse.py)
                run = api.call("POST", f"workflow/execute/{setup['workflow']}", b'{"reuse": false}', expect=201)["run"]["id"]
                execute_s.append(time.perf_counter() - sent)
                deadline = time.monotonic() + 30
                while time.monotonic() < deadline:
                    with clients.lock:
                        got = [at for at, run_id in clients.picked[before:] if run_id == run]
                    if got:
                        latencies.append(got[0] - sent)
                        break
                    time.sleep(0.001)
                else:
                    raise RuntimeError(f"run {run}'s task was not picked up within 30 s")
                print(f"    pickup {1000 * latencies[-1]:7.1f} ms (execute call {1000 * execute_s[-1]:.1f} ms)", flush=True)
            figures.update(
                pickup_p50_ms=1000 * percentile(latencies, 50),
                pickup_p95_ms=1000 * percentile(latencies, 95),
                execute_p50_ms=1000 * percentile(execute_s, 50),
                pickups_ms=[round(1000 * s, 2) for s in latencies],
            )
        finally:
            clients.stop.set()
            stop_server(server)
    if clients.errors:
        print(f"    client errors: {len(clients.errors)}, first: {clients.errors[0]}")

    smoke = args.smoke
    rows = [
        row(
            "idle cost", f"{args.runners} idle runners: server CPU", figures["server_cpu_pct"], "% of a core",
            None if smoke else "<= 5 % of a core",
        ),
        row("idle cost", f"{args.runners} idle runners: PostgreSQL transactions/s", figures["pg_xacts_per_s"], "1/s"),
        row("idle cost", f"{args.runners} idle runners: PostgreSQL backends CPU", figures["pg_cpu_pct"], "% of a core"),
        row("idle cost", f"{args.runners} idle runners: lease answers/s", figures["lease_calls_per_s"], "1/s"),
        row("idle cost", "pickup latency p50", figures["pickup_p50_ms"], "ms", None if smoke else "<= 50 ms"),
        row("idle cost", "pickup latency p95", figures["pickup_p95_ms"], "ms"),
        row("idle cost", "execute call of 1 node p50", figures["execute_p50_ms"], "ms"),
    ]
    print(f"\n==> idle cost ({args.runners} runners, {args.duration:g} s idle, {args.pickups} pickups)")
    for r in rows:
        met = ""
        if r["target"]:
            met = "met" if r["value"] <= float(r["target"].split()[1]) else "MISSED"
        print(f"{r['metric']:<52} {r['value']:>9.1f} {r['unit']:<12} {r['target'] or '':<18} {met}")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2) + "\n")
        detail = Path(args.json).with_suffix(".detail.json")
        detail.write_text(json.dumps({"machine": versions(), "figures": figures}, indent=2) + "\n")
    shutil.rmtree(data_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
