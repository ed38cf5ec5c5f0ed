"""The hot statements (nodeworks_server/hot_sql.py) on PostgreSQL: prepared once per connection, their
generic plans (made once, without the parameter values) use the indexes meant for them, and the
claim, whose good plan depends on its values, is not prepared but planned on every call.

Each generic plan is read with EXPLAIN EXECUTE of the statement prepared as the server prepares it,
on a queue as a busy server has it.
"""

import json
import re
import uuid

import pytest
from django.db import connection
from django.utils import timezone

from runners import services
from runners.models import Runner
from tests.engine.conftest import no_op_nodes, register, start_run
from workflows.lifecycle import claim, outcomes, run_end
from workflows.models import Task

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif("connection.vendor != 'postgresql'", reason="prepared statements are PostgreSQL's"),
]


def _generic_plan(sql: str, params: dict, types: dict) -> str:
    """EXPLAIN EXECUTE of `sql` prepared with its %(name)s placeholders as $n of the given types."""
    names: list[str] = []

    def number(match):
        name = match.group(1)
        if name not in names:
            names.append(name)
        return f"${names.index(name) + 1}"

    numbered = re.sub(r"%\((\w+)\)s", number, sql)
    with connection.cursor() as cursor:
        cursor.execute("SET plan_cache_mode = force_generic_plan")
        cursor.execute("DEALLOCATE ALL")
        cursor.execute(f"PREPARE probe ({', '.join(types[name] for name in names)}) AS {numbered}")
        placeholders = ", ".join(["%s"] * len(names))
        cursor.execute(f"EXPLAIN EXECUTE probe ({placeholders})", [params[name] for name in names])
        plan = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("DEALLOCATE probe")
        cursor.execute("RESET plan_cache_mode")
    return plan


@pytest.fixture
def busy_queue(owner):
    """A queue as a busy server has it, with statistics: 20,000 tasks in 5 runs, 1 in 4 queued, the
    rest finished; analysed, as the server does after large runs. Returns a run with queued tasks."""
    runs = [start_run(owner, no_op_nodes(4), name=f"wf{i}") for i in range(5)]
    columns = [field.column for field in Task._meta.concrete_fields if field.column not in ("id", "node", "state")]
    copied = ", ".join(columns)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO workflows_task ({copied}, node, state) "
            f"SELECT {copied}, node || '_' || g, CASE WHEN g %% 4 = 0 THEN 'queued' ELSE 'succeeded' END "
            "FROM workflows_task, generate_series(1, 1000) AS g WHERE run_id = ANY(%s)",
            [[run.pk for run in runs]],
        )
        cursor.execute("ANALYZE workflows_task")
    return runs[0]


def test_hot_statements_are_prepared_once_per_connection(owner, busy_queue):
    runner_row, _ = register(owner, "r")
    runner = Runner.objects.select_related("owner").get(pk=runner_row.pk)
    rounds = 12  # past the 5 custom plans after which PostgreSQL weighs a generic one
    for _ in range(rounds):
        [task] = services.lease_tasks(runner=runner, max_tasks=1, wait_s=0, executors=["local"])
        services.results_report(
            runner=runner,
            results=[{"lease_id": uuid.UUID(task["lease_id"]), "state": "succeeded", "outputs": {"out": 1},
                      "error": "", "started": None, "finished": None}],
        )
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements")
        prepared = cursor.fetchall()
    claims = [row for row in prepared if "WITH picked AS MATERIALIZED" in row[0]]
    completions = [row for row in prepared if "WITH done AS" in row[0]]
    # The claim's good plan depends on its values (the queue index in order, never a sort of the
    # queue): not prepared, planned per call. The completion's does not: its generic plan takes over.
    assert claims == [], prepared
    assert len(completions) == 1 and completions[0][1] + completions[0][2] == rounds, prepared
    assert completions[0][1] > 0, prepared


def test_claim_walks_the_queue_index_per_fitting_tag_set_in_priority_order(owner, busy_queue):
    runner_row, _ = register(owner, "r")
    runner = Runner.objects.select_related("owner").get(pk=runner_row.pk)
    sql = claim._pg_claim_sql(owners=True, only=False)
    now = timezone.now()
    values = {"executors": "'{local}'", "tags": "'[]'", "now": "now()", "owners": f"'{{{owner.pk}}}'", "limit": "1",
              "runner": str(runner.pk), "expires": "now()"}
    literal = re.sub(r"%\((\w+)\)s", lambda match: values[match.group(1)], sql)
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN {literal}")
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "Index Scan using task_fit_queue_idx" in plan, plan
    # The index gives each walk its order; only the merge of the walks' few rows is sorted (above
    # the walk). A sort inside a walk would mean it read every queued row of the pair.
    assert "LockRows" in plan and "Subquery Scan on w" in plan, plan
    walk = plan[plan.index("Subquery Scan on w"):]
    assert "Sort" not in walk, plan
    assert "Seq Scan on workflows_task " not in plan, plan
    assert now  # the plan above is the per-call (custom) one the server gets


def test_completion_generic_plan_reads_indexes(owner, busy_queue):
    now = timezone.now()
    plan = _generic_plan(
        outcomes._PG_SUCCEED,
        {"now": now, "rows": json.dumps([{"lease_id": str(uuid.uuid4()), "outputs": {}, "started": None, "finished": None}]),
         "runner": 1, "chained": []},
        {"now": "timestamptz", "rows": "text", "runner": "bigint", "chained": "bigint[]"},
    )
    assert "Seq Scan on workflows_task " not in plan, plan
    assert "Seq Scan on workflows_taskdependency" not in plan, plan


def test_is_the_run_done_generic_plan_reads_an_index(owner, busy_queue):
    plan = _generic_plan(run_end._UNFINISHED_TASK_OF_RUN, {"run": busy_queue.pk}, {"run": "bigint"})
    assert "Index" in plan and "Seq Scan" not in plan, plan


def test_runner_lookup_generic_plan_reads_the_token_index(owner_runner):
    from runners import selectors

    selectors.runner_by_token_digest("0" * 64)  # builds the statement
    sql = selectors._readers["postgresql"][0]
    plan = _generic_plan(sql, {"digest": "0" * 64}, {"digest": "text"})
    assert "token_digest" in plan and "Seq Scan on runners_runner" not in plan, plan
