"""Server-side CPU per task of the runner protocol: lease → results until a run of N tasks is done,
through Django's full stack (test client, middleware, DRF, authentication) in this one process.

CPU time (`time.process_time`) rather than wall time: on a shared machine it moves far less with
other processes' load, so two versions of the code can be compared 10 % apart, A/B, alternating
(`--code` names the checkout to import, e.g. another worktree):

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python bench/cpu_per_task.py --tasks 1500 --batch 1 --mode separate [--code ../main]

PostgreSQL's own time is not counted (it is another process): this measures the Python side, where
a refactor of the services or views shows. The script drops and re-creates its own database
(`--database`, default nodeworks_cpu_bench) on the server DATABASE_URL names, and touches no other.
"""

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent


def node(i: int) -> dict:
    name = f"n{i:06d}"
    return {
        "type": "Node", "name": name, "uniquename": name, "pos": [0, 0], "path": ["math", "Add"],
        "terminals": {"a": {"value": i, "opts": {"in": True, "multiinput": True}}, "out": {"value": None, "opts": {"out": True}}},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=1500)
    parser.add_argument("--batch", type=int, default=1, help="max_tasks per lease")
    parser.add_argument("--mode", choices=["separate", "combined"], default="separate")
    parser.add_argument("--database", default="nodeworks_cpu_bench")
    parser.add_argument("--code", default=str(ROOT), help="the checkout to time (default: this one), e.g. main for an A/B")
    args = parser.parse_args()

    import psycopg

    server = os.environ.get("DATABASE_URL", "")
    if not server.startswith("postgres"):
        sys.exit("DATABASE_URL must name a PostgreSQL server")
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{args.database}"')
    os.environ["DATABASE_URL"] = urlunparse(urlparse(server)._replace(path="/" + args.database))
    os.environ.update(
        DJANGO_SETTINGS_MODULE="nodeworks_server.settings", DEBUG="false", LOG_LEVEL="WARNING",
        # Git repositories of the bench's workflows go to a temporary directory, not into the checkout.
        NODEWORKS_DATA_DIR=tempfile.mkdtemp(prefix="nodeworks-cpu-bench-"),
    )
    sys.path.insert(0, str(Path(args.code).resolve()))

    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from rest_framework.test import APIClient

    from runners.services import runner_register
    from workflows.documents import document_from_object
    from workflows.models import Run
    from workflows.services.publishing import workflow_publish
    from workflows.services.runs import run_create

    call_command("migrate", "--no-input", verbosity=0)
    user = get_user_model().objects.create_user(username="bench", email="bench@example.org", password="bench password 123")
    _, token = runner_register(user=user, name="bench", tags=[], executors=["local"])
    document = document_from_object({spec["uniquename"]: spec for spec in map(node, range(args.tasks))})
    workflow, _ = workflow_publish(user=user, document=document, name="bench", message="bench")
    run = run_create(user=user, workflow=workflow)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE workflows_task")

    client = APIClient(HTTP_AUTHORIZATION=f"Runner {token}", HTTP_X_NODEWORKS_PROTOCOL="1")
    lease = {"max_tasks": args.batch, "wait_s": 0, "executors": ["local"]}
    done = 0
    cpu, wall = time.process_time(), time.perf_counter()
    tasks = client.post("/api/v1/runners/lease", lease, format="json").json()["tasks"]
    while tasks:
        results = [{"lease_id": task["lease_id"], "state": "succeeded", "outputs": {"out": 1}} for task in tasks]
        done += len(tasks)
        if args.mode == "combined":
            body = {"results": results, "lease": {"max_tasks": args.batch, "executors": ["local"]}}
            tasks = client.post("/api/v1/runners/results", body, format="json").json()["next"]
        else:
            client.post("/api/v1/runners/results", {"results": results}, format="json")
            tasks = client.post("/api/v1/runners/lease", lease, format="json").json()["tasks"]
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    state = Run.objects.get(pk=run.pk).state
    if done != args.tasks or state != "succeeded":
        sys.exit(f"{done} of {args.tasks} tasks completed, run {state}")
    shutil.rmtree(os.environ["NODEWORKS_DATA_DIR"], ignore_errors=True)
    print(json.dumps({
        "mode": args.mode, "batch": args.batch, "tasks": args.tasks,
        "cpu_us_per_task": round(cpu / args.tasks * 1e6, 1), "tasks_per_s_wall": round(args.tasks / wall, 1),
    }))


if __name__ == "__main__":
    main()
