"""The claim's cost does not grow with queued tasks the runner does not fit (issue 12, "scaling").

100,000 queued tasks of higher priority that no runner fits (half need a tag nobody has, half want an
executor the runner does not offer, with the tag set it fits) sit ahead of a few fitting ones. The
claim must not step over them: EXPLAIN (ANALYZE, BUFFERS) of the very statement the claim sends shows
how many rows it read and how many pages it touched. Then what the claim guarantees, on the new
statement: priority order across tag sets, exclusions (cancel requested, ended run, not_before, owner).
"""

import json
from datetime import timedelta

import psycopg
import pytest
from django.db import connection
from django.utils import timezone

from runners.scope import runner_scope
from tests.conftest import make_user
from tests.engine.conftest import add_node, no_op_nodes, register, start_run, workflow_of
from workflows.lifecycle import claim, run_cancel
from workflows.models import Run, RunState, Task, TaskState

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("engine_settings"),
]
postgresql_only = pytest.mark.skipif("connection.vendor != 'postgresql'", reason="EXPLAIN of PostgreSQL's plan")

UNFITTING = 100_000


def _copy_task(task: Task, count: int, **columns) -> None:
    """`count` queued copies of `task` (node x1..xN), with some columns set, in one INSERT ... SELECT."""
    copied = [f.column for f in Task._meta.concrete_fields if f.column not in ("id", "node", *columns)]
    names = ", ".join(copied + list(columns))
    values = ", ".join(copied + ["%s"] * len(columns))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO workflows_task ({names}, node) SELECT {values}, 'x' || g "
            "FROM workflows_task, generate_series(1, %s) AS g WHERE id = %s",
            [*columns.values(), count, task.pk],
        )


@pytest.fixture
def unfitting_queue(owner):
    """100,000 queued tasks that `owner`'s untagged local runner does not fit, all of a higher priority
    than the 20 fitting ones: the old claim (queue index in priority order, tag set and executor
    filtered per row) stepped over every one of them."""
    fitting = start_run(owner, no_op_nodes(20), name="fitting")
    tagged = start_run(owner, workflow_of([add_node("t", requirements={"tags": ["nobody"]})], []), name="tagged")
    [tagged_task] = Task.objects.filter(run=tagged)
    _copy_task(tagged_task, UNFITTING // 2, priority=1000.0)
    [other_executor] = Task.objects.filter(run=fitting)[:1]
    _copy_task(other_executor, UNFITTING // 2, priority=1000.0, executor="slurm")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE workflows_task")
    return fitting


def _explain_claims(monkeypatch) -> list[dict]:
    """EXPLAIN (ANALYZE, BUFFERS) of every statement the claim sends, run in a transaction rolled back
    before the claim itself runs it."""
    plans = []
    real = claim.hot_sql.fetch

    def explained(sql, params, **kwargs):
        connection.ensure_connection()
        raw = connection.connection
        with raw.transaction(force_rollback=True), psycopg.Cursor(raw) as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql, params)
            plan = cursor.fetchone()[0]
            plans.append(plan[0] if isinstance(plan, list) else json.loads(plan)[0])
        return real(sql, params, **kwargs)

    monkeypatch.setattr(claim.hot_sql, "fetch", explained)
    return plans


def _walk(node: dict):
    yield node
    for child in node.get("Plans", ()):
        yield from _walk(child)


@postgresql_only
def test_claim_does_not_visit_queued_tasks_the_runner_does_not_fit(owner, unfitting_queue, monkeypatch):
    runner, _ = register(owner, "r")
    plans = _explain_claims(monkeypatch)
    tasks = claim.tasks_claim(runner_scope(runner), max_tasks=4, executors=["local"])
    assert [task.run_id for task in tasks] == [unfitting_queue.pk] * 4
    [plan] = plans
    nodes = list(_walk(plan["Plan"]))
    # Rows read from the task table (every loop of every scan on it) and rows thrown away by filters.
    scanned = sum(n["Actual Rows"] * n["Actual Loops"] for n in nodes if n.get("Relation Name") == "workflows_task")
    removed = sum(
        (n.get("Rows Removed by Filter", 0) + n.get("Rows Removed by Join Filter", 0)) * n["Actual Loops"] for n in nodes
    )
    pages = plan["Plan"]["Shared Hit Blocks"] + plan["Plan"]["Shared Read Blocks"]
    summary = f"scanned {scanned}, removed by filter {removed}, pages {pages}\n{json.dumps(plan, indent=1)}"
    # Before: task_queue_idx walked over 50,004 rows (the other executor's 50,000 removed by the
    # filter, the tag set's 50,000 by the join filter), 110,410 pages, 107 ms. Now: the fitting rows
    # and a few index pages.
    assert scanned <= 50, summary
    assert removed <= 10, summary
    assert pages <= 200, summary


def test_claim_takes_the_highest_priority_first_across_fitting_tag_sets(owner):
    gpu_nodes = [add_node(f"g{i}", requirements={"tags": ["gpu"]}) for i in range(3)]
    plain, gpu = start_run(owner, no_op_nodes(3), name="plain"), start_run(owner, workflow_of(gpu_nodes, []), name="gpu")
    # Interleave priorities over the two tag sets (and two executors on one of them).
    order = [(gpu, "g0", 9.0), (plain, "n00000", 8.0), (gpu, "g1", 7.0), (plain, "n00001", 6.0),
             (gpu, "g2", 5.0), (plain, "n00002", 4.0)]
    for run, node, priority in order:
        Task.objects.filter(run=run, node=node).update(priority=priority)
    Task.objects.filter(run=plain, node="n00001").update(executor="shell")
    runner, _ = register(owner, "r", tags=["gpu", "big"], executors=["local", "shell"])
    scope = runner_scope(runner)
    first = claim.tasks_claim(scope, max_tasks=4, executors=["local", "shell"])
    assert [task.priority for task in first] == [9.0, 8.0, 7.0, 6.0]
    rest = claim.tasks_claim(scope, max_tasks=4, executors=["local", "shell"])
    assert [task.priority for task in rest] == [5.0, 4.0]
    assert Task.objects.filter(state=TaskState.QUEUED).count() == 0


def test_claim_skips_what_it_must_not_lease(owner):
    other = make_user("other")
    mine = start_run(owner, no_op_nodes(6), name="mine")
    cancelled = start_run(owner, no_op_nodes(2), name="cancelled")
    theirs = start_run(other, no_op_nodes(2), name="theirs")
    Task.objects.filter(run__in=[cancelled, theirs]).update(priority=100.0)  # ahead of mine, if they counted
    run_cancel(run=cancelled)
    Run.objects.filter(pk=cancelled.pk).update(state=RunState.CANCELLED)  # ended, its tasks still queued
    Task.objects.filter(run=cancelled).update(state=TaskState.QUEUED)
    Task.objects.filter(run=mine, node="n00000").update(priority=50.0, cancel_requested=True)
    Task.objects.filter(run=mine, node="n00001").update(priority=50.0, not_before=timezone.now() + timedelta(hours=1))
    runner, _ = register(owner, "r")
    leased = claim.tasks_claim(runner_scope(runner), max_tasks=10, executors=["local"])
    assert sorted(task.pk for task in leased) == sorted(
        Task.objects.filter(run=mine).exclude(node__in=["n00000", "n00001"]).values_list("pk", flat=True)
    )
    assert Task.objects.filter(run__in=[cancelled, theirs], state=TaskState.LEASED).count() == 0


def test_claim_only_takes_the_named_tasks_in_priority_order(owner):
    run = start_run(owner, no_op_nodes(5))
    tasks = list(Task.objects.filter(run=run).order_by("node"))
    for i, task in enumerate(tasks):
        Task.objects.filter(pk=task.pk).update(priority=float(i))
    runner, _ = register(owner, "r")
    wanted = (tasks[0].pk, tasks[2].pk, tasks[3].pk)
    leased = claim.tasks_claim(runner_scope(runner), max_tasks=2, executors=["local"], only=wanted)
    assert [task.pk for task in leased] == [tasks[3].pk, tasks[2].pk]


def test_claim_with_an_executor_offered_twice_leases_each_task_once(owner):
    start_run(owner, no_op_nodes(3))
    runner, _ = register(owner, "r")
    leased = claim.tasks_claim(runner_scope(runner), max_tasks=3, executors=["local", "local"])
    assert len({task.pk for task in leased}) == len(leased) == 3
