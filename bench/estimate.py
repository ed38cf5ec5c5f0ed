"""Speed of duration estimates (issue 13: "a 5,000-node workflow under 200 ms").

    .venv/bin/python bench/estimate.py [--nodes 5000] [--history 5] [--rounds 5]
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/estimate.py

Three figures, best and median over the rounds:

- `simulate`: the pure forward pass (workflows/estimate_model.py) over a random DAG of N nodes with
  ~2N edges on 3 runners of 4 slots each, 200 tasks of other runs queued ahead.
- `workflow_estimate`: the selector behind GET /api/v1/workflow/estimate/<id>, end to end: the revision
  read from git and parsed, the history queries (the workflow has `--history` finished runs of all N
  nodes, so N x history succeeded tasks), runners and the queue ahead, the simulation.
- `run_status`: the status payload of a running run of the same workflow, live estimates included.

SQLite by default (a temporary file); with DATABASE_URL, a PostgreSQL database `nodeworks_bench_estimate`
beside it, dropped and re-created. Its git repositories go to a temporary directory.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _node(name: str, path: list[str], inputs: int) -> dict:
    terminals = {f"in{i}": {"value": 1.0, "opts": {"in": True, "out": False, "multiinput": True}} for i in range(inputs)}
    terminals["out"] = {"value": None, "opts": {"in": False, "out": True}}
    return {"type": "Node", "name": name, "uniquename": name, "path": path, "terminals": terminals}


def workflow(n: int, rng: random.Random) -> tuple[dict, list[tuple[str, str]]]:
    paths = [["math", "Power"], ["math", "Multiply"], ["numpy", "Sin"], ["shell", "Command"], ["types", "Float"]]
    names = [f"n{i}" for i in range(n)]
    edges = set()
    for i in range(1, n):
        for _ in range(2):
            j = rng.randrange(max(0, i - 50), i)  # local links: a DAG of some depth, not a star
            edges.add((names[j], names[i]))
    document = {name: _node(name, rng.choice(paths[:4]) if i else paths[4], 1) for i, name in enumerate(names)}
    for k, (a, b) in enumerate(sorted(edges)):
        document[f"c{k}"] = {"type": "Connection", "name": f"c{k}", "uniquename": f"c{k}", "input": [a, "out"],
                             "output": [b, "in0"]}
    return document, sorted(edges)


def timed(label: str, fn, rounds: int) -> None:
    times = []
    for _ in range(rounds):
        began = time.perf_counter()
        fn()
        times.append((time.perf_counter() - began) * 1000)
    print(f"{label:>22}: best {min(times):7.1f} ms   median {statistics.median(times):7.1f} ms")


def bench_simulate(n: int, rounds: int) -> None:
    from workflows import estimate_model as model

    rng = random.Random(1)
    _, edges = workflow(n, rng)
    kinds = [((), "local"), (("gpu",), "local"), ((), "shell")]
    nodes = [model.Node(f"n{i}", rng.uniform(0.5, 5), rng.choice(kinds), priority=n - i) for i in range(n)]
    runners = [
        model.Runner("a", (), ("local", "shell"), 4),
        model.Runner("b", ("gpu",), ("local",), 4),
        model.Runner("c", (), ("shell",), 4),
    ]
    ahead = [model.Node(("ahead", i), 1.0, kinds[i % 3]) for i in range(200)]

    def fits(kind, runner):
        return kind[1] in runner.executors and set(kind[0]) <= set(runner.tags)

    timed("simulate", lambda: model.simulate(nodes, edges, runners, fits, ahead=ahead), rounds)


def setup_django(tmp: Path) -> None:
    os.environ["NODEWORKS_DATA_DIR"] = str(tmp / "data")
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://")):
        import psycopg

        parts = urlsplit(url)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute('DROP DATABASE IF EXISTS "nodeworks_bench_estimate" WITH (FORCE)')
            conn.execute('CREATE DATABASE "nodeworks_bench_estimate"')
        os.environ["DATABASE_URL"] = urlunsplit(parts._replace(path="/nodeworks_bench_estimate"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nodeworks_server.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def bench_database(n: int, history: int, rounds: int, profile: bool = False) -> None:
    from datetime import timedelta

    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from runners.models import Runner
    from runners.services import runner_register
    from workflows import estimates, run_selectors
    from workflows.documents import document_from_object
    from workflows.models import Run, RunState, Task, TaskState
    from workflows.services.publishing import workflow_publish
    from workflows.services.runs import run_create

    rng = random.Random(2)
    user = get_user_model().objects.create_user(username="bench", password="x" * 20)
    document, _ = workflow(n, rng)
    wf, _ = workflow_publish(user=user, document=document_from_object(document), name="bench", message="bench")
    runner, _ = runner_register(user=user, name="box", tags=[], executors=["local", "shell"])
    Runner.objects.filter(pk=runner.pk).update(last_contact=timezone.now())
    began = time.perf_counter()
    clock = timezone.now() - timedelta(days=1)
    for _ in range(history):
        run = run_create(user=user, workflow=wf, reuse=False)
        tasks = list(Task.objects.filter(run=run).only("pk"))
        for task in tasks:
            seconds = rng.uniform(0.5, 5)
            task.state, task.leased_at, task.started = TaskState.SUCCEEDED, clock, clock
            task.finished = clock + timedelta(seconds=seconds)
            clock = task.finished
        Task.objects.bulk_update(tasks, ["state", "leased_at", "started", "finished"], batch_size=1000)
        Run.objects.filter(pk=run.pk).update(state=RunState.SUCCEEDED, finished=clock)
    print(f"{'history':>18}: {history} runs x {n} nodes written in {time.perf_counter() - began:.1f} s")
    Runner.objects.filter(pk=runner.pk).update(last_contact=timezone.now())  # online while timed
    # Cold: nothing kept in process (the first estimate after a run ended); warm: the finished runs'
    # per-node samples kept (workflows/estimates.py _node_samples).
    timed("workflow_estimate cold", lambda: (estimates._NODE_SAMPLES.clear(), estimates.workflow_estimate(workflow=wf)),
          rounds)
    timed("workflow_estimate", lambda: estimates.workflow_estimate(workflow=wf), rounds)
    live = run_create(user=user, workflow=wf, reuse=False)
    if profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.runcall(estimates.workflow_estimate, workflow=wf)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
    live = run_selectors.run_get(user=user, run_id=live.pk)
    timed("run_status", lambda: run_selectors.run_status(run=live), rounds)
    estimate = estimates.workflow_estimate(workflow=wf)[1]
    print(f"{'':>18}  finish in {estimate.finish_s} s, {len(estimate.nodes)} nodes, basis of n1: "
          f"{estimate.nodes['n1'].duration.basis}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=5000)
    parser.add_argument("--history", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--profile", action="store_true", help="cProfile one workflow_estimate, by own time")
    args = parser.parse_args()
    bench_simulate(args.nodes, args.rounds)
    with tempfile.TemporaryDirectory() as tmp:
        setup_django(Path(tmp))
        bench_database(args.nodes, args.history, args.rounds, args.profile)


if __name__ == "__main__":
    main()
