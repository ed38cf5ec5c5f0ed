#!/usr/bin/env python
"""Ingest: publish (validate + commit + plan) of a large workflow, planning and the execute call, through the API.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/ingest.py [--json out.json] [--smoke]

1. (Re)creates its own database `nodeworks_ingest_bench` (`--database`) on the server DATABASE_URL names,
   migrates it, creates a user with an API token, and starts gunicorn as run.sh does (gthread, 2 workers x
   16 threads) on a free port.
2. Per round (`--rounds`, default 3), each a new workflow, timed at the client (request sent to answer read):
   - publish of a random layered DAG of `--nodes` (5,000) nodes with full Nodeworks terminal options (every
     terminal carries the ~25 `opts` keys Nodeworks saves: widget, dtype, min/max, items, ...): 3 inputs and
     1 output per node, each input fed by a node of an earlier layer (in-degree 3): ~12 MB of JSON;
   - `GET workflow/plan` of it (read from git, parse, plan);
   - publish, plan and execute of `--plan-nodes` (100,000) minimal nodes (one input each, fed by a node of
     the layer before: a forest 100 layers deep);
   - publish and execute of `--execute-nodes` (20,000) independent minimal nodes (the burn-down's shape).
3. Peak RSS of the server's processes is sampled every 20 ms from /proc during each call (the largest
   worker; the sum over master + workers is in --json).
4. Prints a table (median, min, max over the rounds) against the targets (<= 1 s each, <= 400 MB) and
   writes `--json FILE`: rows {scenario, metric, value, unit, baseline, target} (value: the median).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from server_probe import (
    ROOT,
    Api,
    RssSampler,
    cpu_seconds,
    database_urls,
    django_helper,
    exit_on_sigterm,
    free_port,
    median,
    process_tree,
    recreate_database,
    row,
    server_env,
    start_gunicorn,
    stop_server,
    versions,
)

PY = sys.executable
TARGET_S = 1.0
TARGET_MB = 400.0

SETUP = """
import json
from django.contrib.auth import get_user_model
from accounts.services import api_token_create
user = get_user_model().objects.create_user(username="ingest", email="ingest@example.org", password="ingest password 123")
_, token = api_token_create(user=user, name="bench")
print(json.dumps({"token": token}))
"""


# ---------------------------------------------------------------- workflows (self-contained generators)


def _opts(name: str, *, is_in: bool, widget: str | None, dtype: str, value) -> dict:
    """A terminal's options as Nodeworks saves them (every key of the sample files' terminals)."""
    return {
        "widget": widget,
        "in": is_in,
        "out": not is_in,
        "showlabel": True,
        "items": ["int", "int8", "int16", "int32", "int64", "float", "float32", "float64"] if widget == "combobox" else [],
        "min": -999999,
        "max": 999999,
        "dtype": dtype,
        "value": value,
        "flipped": False,
        "multiinput": False,
        "checkable": False,
        "columndelegate": {},
        "rowdelegate": {},
        "columns": [],
        "rows": [],
        "buttons": ["btn1"],
        "browsetype": "open",
        "name": name,
        "selectionBehavior": "cell",
        "selectionMode": "single",
    }


def full_node(name: str, index: int, x: float, y: float) -> dict:
    terminals = {}
    for term, value in (("a", index * 0.5), ("b", 1.0), ("c", 2.0)):
        terminals[term] = {
            "value": value,
            "flipped": False,
            "opts": _opts(term, is_in=True, widget="doublespinbox", dtype="<class 'float'>", value=value),
        }
    terminals["out"] = {
        "value": None,
        "flipped": False,
        "opts": _opts("out", is_in=False, widget=None, dtype="<class 'float'>", value=None),
    }
    return {
        "type": "Node",
        "name": "Sum",
        "uniquename": name,
        "pos": [x, y],
        "path": ["math", "Add"],
        "terminals": terminals,
        "tunnel": False,
        "forcerun": False,
        "hidden": False,
        "customState": None,
        "layer": 20,
        "geometry": [180, 140],
    }


def connection(name: str, source: str, destination: str, terminal: str) -> dict:
    return {
        "type": "Connection",
        "name": "connection",
        "line": "cubic",
        "uniquename": name,
        "input": [source, "out"],
        "output": [destination, terminal],
        "controlpoints": [],
    }


def full_workflow(nodes: int, *, width: int = 50, seed: int = 1) -> dict:
    """A random layered DAG: `width` nodes per layer; each node past the first layer has its 3 inputs
    fed by 3 distinct nodes of earlier layers (mostly the one just before)."""
    rng = random.Random(seed)
    obj: dict = {}
    names: list[str] = []
    links = 0
    for i in range(nodes):
        layer, slot = divmod(i, width)
        name = f"sum.{i}"
        obj[name] = full_node(name, i, layer * 320.0, slot * 150.0)
        if layer:
            recent = names[max(0, (layer - 3) * width) : layer * width]
            for terminal, source in zip(("a", "b", "c"), rng.sample(recent, 3), strict=True):
                links += 1
                link = f"connection.{links}"
                obj[link] = connection(link, source, name, terminal)
        names.append(name)
    return obj


def minimal_node(name: str, path: list[str], *, has_input: bool) -> dict:
    """As small as a valid node gets (the 100,000-node body must stay under the 20 MB request limit)."""
    terminals = {"a" if has_input else "v": {"value": 1, "opts": {"in": True}}, "o": {"opts": {"out": True}}}
    return {"type": "Node", "name": name, "uniquename": name, "path": path, "terminals": terminals}


def minimal_forest(nodes: int, *, width: int = 1000, seed: int = 2) -> dict:
    """`nodes` minimal nodes in layers of `width`; each past the first fed by one node of the layer before."""
    rng = random.Random(seed)
    obj: dict = {}
    for i in range(nodes):
        layer = i // width
        name = f"n{i}"
        obj[name] = minimal_node(name, ["math", "Add"], has_input=bool(layer))
        if layer:
            source = f"n{(layer - 1) * width + rng.randrange(width)}"
            obj[f"c{i}"] = {"type": "Connection", "uniquename": f"c{i}", "input": [source, "o"], "output": [name, "a"]}
    return obj


def independent(nodes: int) -> dict:
    """The burn-down's workflow: `nodes` unconnected `types/Integer` nodes."""
    return {f"i{i}": minimal_node(f"i{i}", ["types", "Integer"], has_input=False) for i in range(nodes)}


# ---------------------------------------------------------------- measuring


class Timer:
    """Wall time at the client, the server's CPU time (all its processes, /proc) and peak RSS, per call.

    On a shared machine the wall time moves with other people's load; the CPU time much less."""

    def __init__(self, sampler: RssSampler, server_pid: int, bench_url: str, database: str):
        self.sampler, self.server_pid = sampler, server_pid
        self.bench_url, self.database = bench_url, database
        self.figures: dict[str, list[dict]] = {}

    def _backends(self) -> dict[int, float]:
        """CPU seconds of the PostgreSQL backends connected to the bench database (same host)."""
        import psycopg

        with psycopg.connect(self.bench_url, autocommit=True) as conn:
            query = "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()"
            pids = [r[0] for r in conn.execute(query, (self.database,))]
        return {pid: cpu_seconds(pid) for pid in pids}

    def time(self, key: str, call):
        pids = process_tree(self.server_pid)
        backends = self._backends()
        self.sampler.reset()
        cpu0 = sum(cpu_seconds(pid) for pid in pids)
        started = time.perf_counter()
        answer = call()
        seconds = time.perf_counter() - started
        cpu = sum(cpu_seconds(pid) for pid in pids) - cpu0
        # A backend that appeared during the call spent all its CPU in it; our own query's is not counted.
        pg_cpu = sum(now - backends.get(pid, 0.0) for pid, now in self._backends().items())
        time.sleep(0.05)  # one more sample after the answer
        one, total = self.sampler.peak()
        self.figures.setdefault(key, []).append(
            {"seconds": seconds, "cpu_s": cpu, "pg_cpu_s": pg_cpu, "rss_mb": one, "rss_sum_mb": total}
        )
        print(
            f"    {key:<24} {seconds:7.3f} s (server CPU {cpu:6.3f} s, PostgreSQL CPU {pg_cpu:6.3f} s)  "
            f"peak RSS {one:6.0f} MB (all processes {total:6.0f} MB)",
            flush=True,
        )
        return answer


def publish(api: Api, body: bytes) -> int:
    return api.call("POST", "workflow/publish", body, expect=201)["id"]


def body_of(name: str, obj: dict) -> bytes:
    return json.dumps({"name": name, "workflow": obj, "message": "bench"}, separators=(",", ":")).encode()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default="nodeworks_ingest_bench")
    parser.add_argument("--nodes", type=int, default=5000, help="nodes of the full-options workflow")
    parser.add_argument("--plan-nodes", type=int, default=100_000, help="minimal nodes planned and executed")
    parser.add_argument("--execute-nodes", type=int, default=20_000, help="independent minimal nodes executed")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, one round (< 30 s; no targets)")
    parser.add_argument("--keep", action="store_true", help="leave the server running at the end (profiling)")
    parser.add_argument("--json", help="write the rows to this file")
    args = parser.parse_args()
    exit_on_sigterm()
    if args.smoke:
        args.nodes, args.plan_nodes, args.execute_nodes, args.rounds = 200, 2000, 1000, 1

    url = os.environ.get("DATABASE_URL", "")
    if not url:
        sys.exit("set DATABASE_URL to a PostgreSQL server, e.g. postgresql://postgres@127.0.0.1:5432/postgres")
    maintenance_url, bench_url = database_urls(url, args.database)
    print(f"==> fresh database {args.database}", flush=True)
    recreate_database(maintenance_url, args.database)
    data_dir = tempfile.mkdtemp(prefix="nodeworks-ingest-")
    env = server_env(bench_url, data_dir)
    # 100,000 nodes with 100,000 connections are ~26 MB of JSON even written tersely: past the default
    # 20 MB request limit (NODEWORKS_MAX_BODY_BYTES), which a deployment with such workflows raises too.
    env["NODEWORKS_MAX_BODY_BYTES"] = str(64 * 1024 * 1024)
    subprocess.run([PY, "manage.py", "migrate", "--no-input", "-v0"], env=env, cwd=ROOT, check=True)
    token = json.loads(django_helper(env, SETUP))["token"]

    full_body = body_of("full", full_workflow(args.nodes))
    forest_body = body_of("forest", minimal_forest(args.plan_nodes))
    flat_body = body_of("flat", independent(args.execute_nodes))
    print(
        f"==> bodies: {args.nodes:,} full nodes {len(full_body) / 1e6:.1f} MB, {args.plan_nodes:,} minimal nodes "
        f"{len(forest_body) / 1e6:.1f} MB, {args.execute_nodes:,} independent {len(flat_body) / 1e6:.1f} MB",
        flush=True,
    )

    port = free_port()
    log_path = Path(data_dir) / "gunicorn.log"
    print(f"==> gunicorn gthread {args.workers} workers x {args.threads} threads on :{port} (log {log_path})", flush=True)
    with open(log_path, "w") as log:
        server = start_gunicorn(env, port, args.workers, args.threads, log)
        sampler = RssSampler(server.pid)
        timer = Timer(sampler, server.pid, bench_url, args.database)
        try:
            api = Api(port, token)
            api.call("GET", "workflow/")  # warm one worker's imports before timing
            time.sleep(0.3)
            idle_one, idle_sum = sampler.peak()
            print(f"    idle server: largest process {idle_one:.0f} MB, all {idle_sum:.0f} MB", flush=True)
            for number in range(1, args.rounds + 1):
                print(f"==> round {number}", flush=True)
                for name, body, plan in (("full", full_body, True), ("minimal_large", forest_body, True),
                                         ("independent", flat_body, False)):
                    workflow = timer.time(f"publish_{name}", lambda body=body: publish(api, body))
                    if plan:
                        timer.time(f"plan_{name}", lambda w=workflow: api.call("GET", f"workflow/plan/{w}"))
                    timer.time(
                        f"execute_{name}", lambda w=workflow: api.call("POST", f"workflow/execute/{w}", b"{}", expect=201)
                    )
            if args.keep:
                print(f"==> server left running on :{port} (pid {server.pid}); Ctrl-C to stop", flush=True)
                server.wait()
        finally:
            sampler.stop()
            stop_server(server)

    labels = {
        "publish_full": f"publish {args.nodes:,} full nodes ({len(full_body) / 1e6:.1f} MB)",
        "plan_full": f"plan {args.nodes:,} full nodes (GET plan)",
        "execute_full": f"execute {args.nodes:,} full nodes",
        "publish_minimal_large": f"publish {args.plan_nodes:,} minimal nodes",
        "plan_minimal_large": f"plan {args.plan_nodes:,} minimal nodes (GET plan)",
        "execute_minimal_large": f"execute {args.plan_nodes:,} minimal nodes",
        "publish_independent": f"publish {args.execute_nodes:,} independent nodes",
        "execute_independent": f"execute {args.execute_nodes:,} independent nodes",
    }
    rows = []
    target_s, target_mb = (None, None) if args.smoke else (f"<= {TARGET_S:g} s", f"<= {TARGET_MB:g} MB")
    print(f"\n==> ingest ({args.rounds} rounds: median [min-max]; peak RSS of the largest server process)")
    print(f"{'':<46} {'seconds':>22} {'server CPU s':>14} {'PG CPU s':>9} {'peak RSS MB':>18}  target")
    for key, label in labels.items():
        seconds = [f["seconds"] for f in timer.figures[key]]
        cpu = [f["cpu_s"] for f in timer.figures[key]]
        pg_cpu = [f["pg_cpu_s"] for f in timer.figures[key]]
        rss = [f["rss_mb"] for f in timer.figures[key]]
        verdict = "" if args.smoke else ("met" if median(seconds) <= TARGET_S and max(rss) <= TARGET_MB else "MISSED")
        print(
            f"{label:<46} {median(seconds):7.3f} [{min(seconds):.2f}-{max(seconds):.2f}] {median(cpu):14.3f} "
            f"{median(pg_cpu):9.3f} {median(rss):9.0f} [{min(rss):.0f}-{max(rss):.0f}]  {verdict}"
        )
        rows.append(row("ingest", f"{label}: time", median(seconds), "s", target_s))
        rows.append(row("ingest", f"{label}: server CPU time", median(cpu), "s"))
        rows.append(row("ingest", f"{label}: PostgreSQL CPU time", median(pg_cpu), "s"))
        rows.append(row("ingest", f"{label}: peak server RSS", max(rss), "MB", target_mb))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2) + "\n")
        detail = Path(args.json).with_suffix(".detail.json")
        detail.write_text(json.dumps({"machine": versions(), "figures": timer.figures}, indent=2) + "\n")
    shutil.rmtree(data_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
