#!/usr/bin/env python
"""End to end: real `nodeworks-runner` processes against a production-like server, side by side with Celery.

    .venv/bin/python bench/e2e.py                       # every scenario, full sizes (a few minutes)
    .venv/bin/python bench/e2e.py --smoke               # tiny sizes, no targets (CI: tests/test_bench_smoke.py)
    .venv/bin/python bench/e2e.py --only burn-down,hop --json out.json

It starts everything itself (see bench/README.md, "e2e.py"):

* a fresh PostgreSQL database (`--database`, default `nodeworks_e2e_bench`) on the server DATABASE_URL names
  (default postgresql://postgres@127.0.0.1:5432/postgres), migrated;
* gunicorn as run.sh and docs/deploy.md run it (gthread, 2 workers x 32 threads, access log, DEBUG off);
* real `nodeworks-runner` processes of the package installed in this venv, registered through the API with a
  user token (`nodeworks-runner register`), then `nodeworks-runner run --executors local --concurrency 4`;
* a Celery worker (prefork, 4 processes) on Redis at 127.0.0.1:6379, database 7 (`--redis-db`; only that
  database is flushed).

Scenarios (one table each: this project, Celery, "x Celery" = how many times faster we are, the target):

* burn-down: N independent no-op `types/Integer` nodes, 4 runners; tasks/s from the execute call to the run's
  `finished` in the database; every task must have been executed by a runner (outputs checked). Celery: N
  no-op tasks in a group, from the enqueue to all results in.
* hop: a chain of `math/Add` nodes on 1 runner: upstream `finished` -> downstream `started` p50/p95 from the
  tasks' own timestamps, and the whole chain's time per hop. Celery: a chain of no-op tasks, each recording
  the same gap.
* scaling: a burn-down of M tasks with and without an extra X queued tasks that no runner fits (tags):
  the per-task cost ratio (present / absent).

Then bench/ingest.py and bench/idle_cost.py, when present, are run with `--json` and their rows folded in.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

from lease_throughput import database_urls, django_helper, free_port, recreate_database  # noqa: E402

PY = sys.executable
BIN = Path(PY).parent
SCENARIOS = ("burn-down", "hop", "scaling")

SIZES = {
    # burn: tasks of the burn-down; chain: nodes of the chain; scale: tasks burnt down in the scaling
    # scenario, extra: tasks queued that no runner fits; runners/concurrency/celery workers
    "full": {"burn": 20_000, "chain": 1_000, "scale": 5_000, "extra": 100_000, "runners": 4, "concurrency": 4,
             "celery": 4, "warm": 200},
    "small": {"burn": 200, "chain": 20, "scale": 100, "extra": 1_000, "runners": 2, "concurrency": 2,
              "celery": 2, "warm": 10},
}


def say(text: str) -> None:
    print(text, flush=True)


# ---------------------------------------------------------------- workflows


def integer_node(i: int, tags=None) -> dict:
    name = f"n{i:06d}"
    node = {
        "type": "Node", "name": "Integer", "uniquename": name, "pos": [0, 0], "path": ["types", "Integer"],
        "terminals": {"int": {"value": i, "opts": {"out": True, "dtype": "<class 'int'>"}}},
    }
    if tags:
        node["requirements"] = {"tags": tags}
    return node


def chain_document(n: int) -> dict:
    doc = {}
    for i in range(n):
        name = f"a{i:05d}"
        doc[name] = {
            "type": "Node", "name": "Add", "uniquename": name, "pos": [i * 10, 0], "path": ["math", "Add"],
            "terminals": {"input": {"value": [1] if i == 0 else None, "opts": {"in": True, "multiinput": True}},
                          "result": {"value": None, "opts": {"out": True}}},
        }
        if i:
            conn = f"c{i:05d}"
            doc[conn] = {"type": "Connection", "name": conn, "uniquename": conn,
                         "input": [f"a{i - 1:05d}", "result"], "output": [name, "input"]}
    return doc


SETUP = """
import json
from django.contrib.auth import get_user_model
from accounts.services import api_token_create
user = get_user_model().objects.create_user(username="e2e", email="e2e@example.org", password="e2e bench password 123")
_, token = api_token_create(user=user, name="e2e")
print(json.dumps({"user_id": user.pk, "token": token}))
"""


class Bench:
    def __init__(self, args):
        self.args = args
        self.size = SIZES[args.sizes]
        url = os.environ.get("DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/postgres"
        self.maintenance_url, self.db_url = database_urls(url, args.database)
        self.tmp = Path(tempfile.mkdtemp(prefix="nodeworks-e2e-"))
        self.env = dict(os.environ)
        self.env.update(
            DATABASE_URL=self.db_url, NODEWORKS_DATA_DIR=str(self.tmp / "data"), DEBUG="false", LOG_LEVEL="WARNING",
            DJANGO_SETTINGS_MODULE="nodeworks_server.settings", PYTHONPATH=str(ROOT),
        )
        self.server = None
        self.port = 0
        self.token = ""
        self.runners: list[subprocess.Popen] = []
        self.runner_count = 0
        self.lease_wait_s = 2.0 if args.sizes == "small" else 20.0  # the runner's default --lease-wait: 20 s
        self.rows: list[dict] = []

    # ------------------------------------------------------------ infrastructure

    def start_server(self) -> None:
        say(f"==> fresh database {self.args.database}")
        recreate_database(self.maintenance_url, self.args.database)
        (self.tmp / "data").mkdir()
        subprocess.run([PY, "manage.py", "migrate", "--no-input", "-v0"], env=self.env, cwd=ROOT, check=True)
        self.token = json.loads(django_helper(self.env, SETUP))["token"]
        self.port = free_port()
        log = open(self.tmp / "gunicorn.log", "w")  # noqa: SIM115 (the child writes it until stopped)
        # As run.sh and docs/deploy.md run it (threads: a long-poll holds a thread, not a process).
        self.server = subprocess.Popen(
            [str(BIN / "gunicorn"), "nodeworks_server.wsgi:application", "--bind", f"127.0.0.1:{self.port}",
             "--workers", "2", "--worker-class", "gthread", "--threads", "32", "--timeout", "120",
             "--access-logfile", "-"],
            env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.server.poll() is not None:
                raise RuntimeError(f"gunicorn exited; see {self.tmp / 'gunicorn.log'}")
            try:
                if self.call("GET", "/api/v1/status")[0] == 200:
                    say(f"==> gunicorn on :{self.port} (2 gthread workers x 32 threads), data in {self.tmp}")
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError("gunicorn did not answer within 60 s")

    def call(self, method: str, path: str, body=None) -> tuple[int, dict]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=300)
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Token {self.token}"
        conn.request(method, path, None if body is None else json.dumps(body), headers)
        response = conn.getresponse()
        data = response.read()
        conn.close()
        return response.status, (json.loads(data) if data else {})

    def start_runners(self, count: int) -> None:
        self.stop_runners()
        url = f"http://127.0.0.1:{self.port}"
        for _ in range(count):
            self.runner_count += 1
            home = self.tmp / f"runner{self.runner_count}"
            home.mkdir()
            config = home / "config.json"
            name = f"e2e-{self.runner_count}"
            subprocess.run([str(BIN / "nodeworks-runner"), "register", "--url", url, "--token", self.token,
                            "--name", name, "--executors", "local", "--config", str(config)],
                           check=True, capture_output=True, env=self.runner_env(home))
            command = [str(BIN / "nodeworks-runner"), "run", "--config", str(config), "--concurrency",
                       str(self.size["concurrency"]), "--executors", "local", "--state-dir", str(home / "state"),
                       "--work-dir", str(home / "work")]
            if self.args.sizes == "small":  # the smoke: short long-polls, so that stopping runners is quick
                command += ["--lease-wait", str(self.lease_wait_s)]
            command += self.args.runner_args.split() if self.args.runner_args else []
            log = open(home / "runner.log", "w")  # noqa: SIM115 (the child writes it until stopped)
            self.runners.append(subprocess.Popen(command, env=self.runner_env(home), stdout=log,
                                                 stderr=subprocess.STDOUT, start_new_session=True))
        # Warm: every runner's pool started and one run done through them all, before anything is timed.
        wid = self.publish({n["uniquename"]: n for n in map(integer_node, range(self.size["warm"]))}, "warm-up")
        run_id, _ = self.execute(wid)
        self.wait_run(run_id, timeout=120)

    def runner_env(self, home: Path) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith("NODEWORKS_RUNNER_")}
        env["HOME"] = str(home)  # nothing of the user's own runner configuration is read
        return env

    def stop_runners(self, *, wait: bool = True) -> None:
        if not self.runners:
            return
        for process in self.runners:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.runners:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self.runners = []
        if not wait:
            return
        # A runner stopped during its long-poll leaves that call waiting in the server, which can still
        # lease tasks to it (held until their lease expires, 60 s): the next scenario waits it out.
        time.sleep(self.lease_wait_s + 1)
        held = self.sql("SELECT count(*) FROM workflows_task WHERE state IN ('leased', 'running')")[0][0]
        if held:
            raise RuntimeError(f"{held} tasks are still held by stopped runners")

    def sql(self, query: str, params=None, *, fetch: bool = True):
        import psycopg

        with psycopg.connect(self.db_url, autocommit=True) as conn:
            cursor = conn.execute(query, params)
            return cursor.fetchall() if fetch else None

    def vacuum(self) -> None:
        # Earlier phases leave dead entries at the head of the queue index; autovacuum clears them in a
        # deployment, not within the seconds between two phases (see bench/lease_throughput.py).
        self.sql("VACUUM (ANALYZE) workflows_task", fetch=False)

    def publish(self, doc: dict, name: str) -> int:
        status, answer = self.call("POST", "/api/v1/workflow/publish", {"name": name, "workflow": doc})
        if status != 201:
            raise RuntimeError(f"publish answered {status}: {str(answer)[:300]}")
        return int(answer.get("id") or answer["workflow"]["id"])

    def execute(self, workflow_id: int) -> tuple[int, float]:
        """The execute call; (run id, wall time before the call)."""
        began = time.time()
        # reuse off: the benchmark measures execution, and a node reused from an earlier run is not executed
        status, answer = self.call("POST", f"/api/v1/workflow/execute/{workflow_id}", {"reuse": False})
        if status != 201:
            raise RuntimeError(f"execute answered {status}: {answer}")
        return answer["run"]["id"], began

    def wait_run(self, run_id: int, timeout: float) -> tuple[str, float]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state, finished = self.sql("SELECT state, finished FROM workflows_run WHERE id = %s", (run_id,))[0]
            if finished is not None:
                if state != "succeeded":
                    raise RuntimeError(f"run {run_id} ended {state}")
                return state, finished.timestamp()
            if any(p.poll() is not None for p in self.runners):
                raise RuntimeError(f"a runner exited; see the logs in {self.tmp}")
            time.sleep(0.05)
        raise RuntimeError(f"run {run_id} did not finish within {timeout:.0f} s")

    def burn(self, n: int, label: str) -> dict:
        """N Integer nodes executed by the runners: tasks/s from the execute call to the run's end."""
        wid = self.publish({node["uniquename"]: node for node in map(integer_node, range(n))}, label)
        self.vacuum()
        run_id, began = self.execute(wid)
        execute_s = time.time() - began
        _, finished = self.wait_run(run_id, timeout=max(120, n / 20))
        count, runners, total = self.sql(
            "SELECT count(*), count(DISTINCT runner_id), coalesce(sum((outputs->>'int')::bigint), 0) FROM workflows_task"
            " WHERE run_id = %s AND state = 'succeeded' AND finished_lease_id IS NOT NULL AND started IS NOT NULL",
            (run_id,))[0]
        if count != n or total != n * (n - 1) // 2:
            raise RuntimeError(f"run {run_id}: {count} of {n} tasks executed by runners (output sum {total})")
        seconds = finished - began
        return {"tasks": n, "seconds": seconds, "tasks_per_s": n / seconds, "execute_s": execute_s,
                "runners_used": runners}

    # ------------------------------------------------------------ scenarios

    def burn_down(self) -> None:
        n = self.size["burn"]
        self.start_runners(self.size["runners"])
        say(f"==> burn-down: {n} Integer nodes, {self.size['runners']} runners x {self.size['concurrency']}")
        ours = self.burn(n, "burn-down")
        say(f"    {ours['tasks_per_s']:,.0f} tasks/s ({ours['seconds']:.2f} s, execute call {ours['execute_s']:.2f} s,"
            f" {ours['runners_used']} runners used)")
        celery = self.celery.burn(n) if self.celery else None
        if celery:
            say(f"    Celery: {celery['tasks_per_s']:,.0f} tasks/s ({celery['seconds']:.2f} s)")
        self.row("burn-down", "tasks/s", ours["tasks_per_s"], "tasks/s", celery and celery["tasks_per_s"],
                 "≥ 3,000 and ≥ 3 x Celery", higher=True)
        self.row("burn-down", "execute call", ours["execute_s"], "s", None, None, higher=False)

    def hop(self) -> None:
        n = self.size["chain"]
        self.start_runners(1)
        say(f"==> hop: a chain of {n} Add nodes on 1 runner")
        wid = self.publish(chain_document(n), "chain")
        self.vacuum()
        run_id, began = self.execute(wid)
        _, finished = self.wait_run(run_id, timeout=max(120, n))
        rows = self.sql("SELECT node, started, finished, outputs, reused_from FROM workflows_task WHERE run_id = %s"
                        " ORDER BY node", (run_id,))
        if len(rows) != n or any(r[1] is None or r[3] != {"result": 1} or r[4] is not None for r in rows):
            raise RuntimeError(f"chain run {run_id}: not every node ran with the right result")
        gaps = [(rows[i][1] - rows[i - 1][2]).total_seconds() * 1000 for i in range(1, n)]
        p50, p95 = percentile(gaps, 50), percentile(gaps, 95)
        per_hop = (finished - began) * 1000 / n
        say(f"    hop p50 {p50:.2f} ms, p95 {p95:.2f} ms; the whole chain {finished - began:.2f} s ({per_hop:.2f} ms/node)")
        celery = self.celery.chain(n) if self.celery else None
        if celery:
            say(f"    Celery: hop p50 {celery['p50']:.2f} ms, p95 {celery['p95']:.2f} ms; chain {celery['seconds']:.2f} s"
                f" ({celery['per_hop']:.2f} ms/task)")
        self.row("hop", "p50", p50, "ms", celery and celery["p50"], "≤ 3 ms", higher=False)
        self.row("hop", "p95", p95, "ms", celery and celery["p95"], None, higher=False)
        self.row("hop", "chain per node", per_hop, "ms", celery and celery["per_hop"], None, higher=False)

    def scaling(self) -> None:
        n, extra = self.size["scale"], self.size["extra"]
        self.start_runners(self.size["runners"])
        say(f"==> scaling: burn-down of {n} tasks without, then with {extra:,} more queued tasks no runner fits")
        absent = self.burn(n, "scaling absent")
        self.queue_unfit(extra)
        present = self.burn(n, "scaling present")
        ratio = absent["tasks_per_s"] / present["tasks_per_s"]
        say(f"    absent {absent['tasks_per_s']:,.0f} tasks/s, present {present['tasks_per_s']:,.0f} tasks/s:"
            f" per-task cost ratio {ratio:.2f}")
        self.row("scaling", f"tasks/s, {n:,} queued", absent["tasks_per_s"], "tasks/s", None, None, higher=True)
        self.row("scaling", f"tasks/s, +{extra:,} queued", present["tasks_per_s"], "tasks/s", None, None, higher=True)
        self.row("scaling", "ratio", ratio, "x", None, "≤ 1.2", higher=False)

    def queue_unfit(self, extra: int) -> None:
        """`extra` queued tasks that need a tag no runner has: one real run of one such node, its task
        copied in SQL (creating 100,000 through the execute call would take minutes and measure that)."""
        wid = self.publish({"n000000": integer_node(0, tags=["e2e-nobody"])}, "unfit")
        run_id, _ = self.execute(wid)
        columns = [r[0] for r in self.sql(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'workflows_task' AND column_name"
            " NOT IN ('id', 'node') ORDER BY ordinal_position")]
        cols = ", ".join(columns)
        picked = ", ".join(f"t.{c}" for c in columns)
        self.sql(f"INSERT INTO workflows_task ({cols}, node) SELECT {picked}, 'x' || g FROM workflows_task t,"
                 f" generate_series(1, %s) g WHERE t.run_id = %s", (extra, run_id), fetch=False)
        queued = self.sql("SELECT count(*) FROM workflows_task WHERE state = 'queued'")[0][0]
        if queued < extra:
            raise RuntimeError(f"only {queued} queued tasks after adding {extra}")

    # ------------------------------------------------------------ the others' scripts, tables

    def fold(self, script: str) -> None:
        path = ROOT / "bench" / script
        if not path.exists():
            say(f"==> {script}: not here (written on another branch); skipped")
            return
        # Its own folder: the scenarios above are closed (and their temporary folder gone) by now.
        out = Path(tempfile.mkdtemp(prefix="nodeworks-e2e-fold-")) / (script + ".json")
        say(f"==> {script} --json")
        # The same PostgreSQL server as the rest of this run (DATABASE_URL may be unset: the default above).
        env = dict(os.environ, PYTHONPATH=str(ROOT), DATABASE_URL=self.maintenance_url)
        done = subprocess.run([PY, str(path), "--json", str(out)], cwd=ROOT, env=env)
        if done.returncode or not out.exists():
            say(f"    {script} failed (exit {done.returncode}); its rows are missing")
            return
        for row in json.loads(out.read_text()):
            self.rows.append(dict(row, ratio=None, source=script))

    def row(self, scenario, metric, value, unit, baseline, target, *, higher: bool) -> None:
        ratio = None
        if baseline and value:  # a hop under the clock's resolution measures 0 ms: no ratio then
            ratio = value / baseline if higher else baseline / value
        self.rows.append({"scenario": scenario, "metric": metric, "value": round(value, 3), "unit": unit,
                          "baseline": None if baseline is None else round(baseline, 3), "target": target,
                          "ratio": None if ratio is None else round(ratio, 3)})

    def print_tables(self) -> None:
        say("\n==> results (\"x Celery\": how many times faster than Celery in this run; > 1 is faster)")
        for scenario in dict.fromkeys(r["scenario"] for r in self.rows):
            say(f"\n{scenario}")
            say(f"  {'metric':<26} {'this project':>14} {'Celery':>12} {'x Celery':>9}  target")
            for r in (r for r in self.rows if r["scenario"] == scenario):
                value = f"{r['value']:,.2f} {r['unit']}"
                base = "-" if r.get("baseline") is None else f"{r['baseline']:,.2f}"
                ratio = "-" if r.get("ratio") is None else f"{r['ratio']:.2f}"
                target = r.get("target") or ""
                verdict = verdict_of(r) if self.args.sizes == "full" else ""
                say(f"  {r['metric']:<26} {value:>14} {base:>12} {ratio:>9}  {target} {verdict}")

    def close(self) -> None:
        self.stop_runners(wait=False)
        if self.server and self.server.poll() is None:
            os.killpg(self.server.pid, signal.SIGTERM)
            try:
                self.server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.server.pid, signal.SIGKILL)
        if self.celery:
            self.celery.close()
        if not self.args.keep:
            shutil.rmtree(self.tmp, ignore_errors=True)


def verdict_of(row: dict) -> str:
    scenario, metric, value, ratio = row["scenario"], row["metric"], row["value"], row.get("ratio")
    if (scenario, metric) == ("burn-down", "tasks/s"):
        return "met" if value >= 3000 and (ratio or 0) >= 3 else "MISSED"
    if (scenario, metric) == ("hop", "p50"):
        return "met" if value <= 3 else "MISSED"
    if (scenario, metric) == ("scaling", "ratio"):
        return "met" if value <= 1.2 else "MISSED"
    return ""


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * q / 100
    low = int(k)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


# ---------------------------------------------------------------- Celery

CELERY_APP = """
import time
import redis
from celery import Celery

URL = {url!r}
app = Celery("e2e_celery_app", broker=URL, backend=URL)
app.conf.update(task_serializer="json", result_serializer="json", accept_content=["json"],
                worker_hijack_root_logger=False, broker_connection_retry_on_startup=True)
_redis = None


@app.task
def noop(x=None):
    return x


@app.task
def hop(previous_finished=None):
    # The same gap as ours: the upstream's end to this task's start, both from the tasks' own clocks.
    global _redis
    started = time.time()
    if previous_finished is not None:
        if _redis is None:
            _redis = redis.Redis.from_url(URL)
        _redis.rpush("e2e:gaps", started - previous_finished)
    return time.time()
"""


class CeleryBench:
    def __init__(self, tmp: Path, redis_db: int, workers: int):
        self.url = f"redis://127.0.0.1:6379/{redis_db}"
        folder = tmp / "celery"
        folder.mkdir()
        (folder / "e2e_celery_app.py").write_text(textwrap.dedent(CELERY_APP.format(url=self.url)))
        sys.path.insert(0, str(folder))
        import e2e_celery_app  # written just now
        import redis

        self.module = e2e_celery_app
        self.redis = redis.Redis.from_url(self.url)
        self.redis.flushdb()  # this database only (--redis-db)
        env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
        env["PYTHONPATH"] = str(folder)
        self.log = open(tmp / "celery.log", "w")  # noqa: SIM115 (the child writes it until stopped)
        self.worker = subprocess.Popen(
            [str(BIN / "celery"), "-A", "e2e_celery_app", "worker", "--pool", "prefork", "--concurrency",
             str(workers), "--loglevel", "WARNING", "--without-gossip", "--without-mingle", "-n", "e2e@%h"],
            cwd=folder, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.worker.poll() is not None:
                raise RuntimeError(f"the Celery worker exited; see {tmp / 'celery.log'}")
            if self.module.app.control.ping(timeout=0.5):
                break
        else:
            raise RuntimeError("the Celery worker did not answer a ping within 60 s")
        self.burn(min(200, 50 * workers), quiet=True)  # warm

    def burn(self, n: int, quiet: bool = False) -> dict:
        from celery import group

        began = time.time()
        result = group(self.module.noop.s(i) for i in range(n)).apply_async()
        values = result.get(timeout=max(120, n / 20))
        seconds = time.time() - began
        if sorted(values) != list(range(n)):
            raise RuntimeError("Celery: wrong results")
        result.forget()
        return {"tasks": n, "seconds": seconds, "tasks_per_s": n / seconds}

    def chain(self, n: int) -> dict:
        from celery import chain

        self.redis.delete("e2e:gaps")
        began = time.time()
        result = chain(self.module.hop.s(None), *(self.module.hop.s() for _ in range(n - 1))).apply_async()
        result.get(timeout=max(120, n))
        seconds = time.time() - began
        gaps = [float(g) * 1000 for g in self.redis.lrange("e2e:gaps", 0, -1)]
        if len(gaps) != n - 1:
            raise RuntimeError(f"Celery chain: {len(gaps)} hops recorded, {n - 1} expected")
        return {"seconds": seconds, "per_hop": seconds * 1000 / n, "p50": percentile(gaps, 50),
                "p95": percentile(gaps, 95)}

    def close(self) -> None:
        if self.worker.poll() is None:
            os.killpg(self.worker.pid, signal.SIGTERM)
            try:
                self.worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.worker.pid, signal.SIGKILL)
        with contextlib.suppress(Exception):
            self.redis.flushdb()


# ---------------------------------------------------------------- main


def versions() -> dict:
    import django
    import psycopg

    found = {"python": platform.python_version(), "django": django.__version__, "psycopg": psycopg.__version__,
             "cpus": os.cpu_count(), "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    try:
        import celery

        found["celery"] = celery.__version__
    except ImportError:
        pass
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", choices=sorted(SIZES), default="full", help="full (default) or small (a smoke)")
    parser.add_argument("--smoke", action="store_true", help="the same as --sizes small")
    parser.add_argument("--only", default=",".join(SCENARIOS), help="comma-separated: " + ", ".join(SCENARIOS))
    parser.add_argument("--json", help="write every row to this file")
    parser.add_argument("--database", default="nodeworks_e2e_bench", help="database to (re)create")
    parser.add_argument("--redis-db", type=int, default=7, help="the Redis database Celery uses (flushed)")
    parser.add_argument("--no-celery", action="store_true", help="skip Celery (no ratios)")
    parser.add_argument("--no-others", action="store_true", help="do not run bench/ingest.py and bench/idle_cost.py")
    parser.add_argument("--runner-args", default="", help="extra arguments for `nodeworks-runner run`")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (logs)")
    for key, what in (("burn", "burn-down tasks"), ("chain", "chain nodes"), ("scale", "scaling burn-down tasks"),
                      ("extra", "scaling: extra queued tasks")):
        parser.add_argument(f"--{key}", type=int, help=f"{what} (overrides --sizes)")
    args = parser.parse_args()
    if args.smoke:
        args.sizes = "small"
    only = [s for s in args.only.split(",") if s]
    unknown = set(only) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenario(s) {', '.join(sorted(unknown))}; known: {', '.join(SCENARIOS)}")
    if urlparse(args.database).path != args.database:
        parser.error("--database is a name")

    # Celery turns its Django fix-up on when this is set (e.g. under pytest) and the no-op worker then
    # fails to start: nothing of Celery's side is Django. The server's processes get it from Bench.env.
    os.environ.pop("DJANGO_SETTINGS_MODULE", None)
    # Stopped (Ctrl-C, SIGTERM): the finally below stops the server, the runners and the Celery worker.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    bench = Bench(args)
    bench.size = dict(bench.size, **{k: getattr(args, k) for k in ("burn", "chain", "scale", "extra") if getattr(args, k)})
    bench.celery = None
    info = versions()
    say("==> " + ", ".join(f"{k} {v}" for k, v in info.items()))
    try:
        bench.start_server()
        if not args.no_celery:
            bench.celery = CeleryBench(bench.tmp, args.redis_db, bench.size["celery"])
            say(f"==> Celery worker (prefork x {bench.size['celery']}) on redis db {args.redis_db}")
        for scenario in SCENARIOS:
            if scenario in only:
                getattr(bench, scenario.replace("-", "_"))()
    finally:
        bench.close()
    if not args.no_others and args.sizes == "full":
        for script in ("ingest.py", "idle_cost.py"):
            bench.fold(script)
    bench.print_tables()
    if args.json:
        Path(args.json).write_text(json.dumps({"info": info, "sizes": args.sizes, "rows": bench.rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
