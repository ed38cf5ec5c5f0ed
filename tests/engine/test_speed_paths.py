"""The fast paths of issue 12 keep their behaviour: run creation in a fixed number of statements, log
chunks appended without re-reading the log, and waiting lease calls woken by PostgreSQL NOTIFY."""

import json
import re
import threading
import time
import uuid
from unittest import mock

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

from runners import services
from runners.models import Runner
from tests.engine.conftest import add_node, publish_workflow, register, workflow_of
from tests.engine.conftest import connection as link
from workflows import queue_events
from workflows.models import TaskDependency, TaskLog, TaskState
from workflows.services.runs import run_create

pytestmark = pytest.mark.usefixtures("engine_settings")


def layered(layers: int, width: int) -> dict:
    """`layers` x `width` Add nodes; node j of each layer feeds nodes j and j+1 of the next."""
    nodes = [add_node(f"n{layer}.{j}", a=[], k=j) for layer in range(layers) for j in range(width)]
    links = [
        link(f"n{layer - 1}.{j}", f"n{layer}.{(j + step) % width}")
        for layer in range(1, layers)
        for j in range(width)
        for step in (0, 1)
    ]
    return workflow_of(nodes, links)


def run_queries(user, workflow) -> tuple[int, object]:
    with CaptureQueriesContext(connection) as queries:
        run = run_create(user=user, workflow=workflow)
    return len(queries.captured_queries), run


@pytest.mark.django_db
def test_run_create_makes_the_same_number_of_queries_for_10_and_600_nodes(owner):
    small = publish_workflow(owner, layered(2, 5), name="small")
    large = publish_workflow(owner, layered(20, 30), name="large")
    run_create(user=owner, workflow=small)  # the first run also creates the tag set
    small_count, _ = run_queries(owner, small)
    large_count, run = run_queries(owner, large)
    assert large_count == small_count, (small_count, large_count)
    assert small_count <= 12

    tasks = {task.node: task for task in run.tasks.all()}
    assert len(tasks) == 600
    assert TaskDependency.objects.filter(run=run).count() == 19 * 30 * 2
    first, middle, last = tasks["n0.0"], tasks["n5.3"], tasks["n19.29"]
    assert (first.state, first.pending_parents, first.child_count, first.priority) == (TaskState.QUEUED, 0, 2, 20.0)
    assert first.queued_at is not None
    assert (middle.state, middle.pending_parents, middle.child_count, middle.priority) == (TaskState.PENDING, 2, 2, 15.0)
    assert middle.queued_at is None
    assert (last.pending_parents, last.child_count, last.priority) == (2, 0, 1.0)
    assert middle.input_sources == {"a": [["n4.2", "out", False], ["n4.3", "out", False]]}
    assert middle.node_data["terminals"]["k"]["value"] == 3
    assert middle.requirements == {"executor": "local", "retries": 0, "tags": []}
    assert {t.tagset_id for t in tasks.values()} == {first.tagset_id}
    parents = set(TaskDependency.objects.filter(child=middle).values_list("parent__node", flat=True))
    assert parents == {"n4.2", "n4.3"}
    # Ids follow the file's node order: the queue's tie-break (priority, then id) is the file order.
    assert [t.node for t in sorted(tasks.values(), key=lambda t: t.pk)][:3] == ["n0.0", "n0.1", "n0.2"]


@pytest.mark.django_db
def test_run_create_reads_git_and_plans_before_its_transaction(owner):
    """On SQLite a write transaction holds the only write lock: git reads, parsing and planning stay out of it."""
    from workflows import selectors

    workflow = publish_workflow(owner, layered(2, 3))
    real = selectors.workflow_graph
    savepoints_seen = []

    def spy(**kwargs):
        # pytest-django's test transaction is the outer block; run_create's own would be a savepoint.
        savepoints_seen.append(list(connection.savepoint_ids))
        return real(**kwargs)

    with mock.patch.object(selectors, "workflow_graph", spy):
        run = run_create(user=owner, workflow=workflow)
    assert savepoints_seen == [[]]
    assert run.tasks.count() == 6


def leased_log(owner):
    from tests.engine.conftest import no_op_nodes, start_run

    runner, _ = register(owner, "logger")
    start_run(owner, no_op_nodes(1))
    payload = services.lease_tasks(runner=runner, max_tasks=1, wait_s=0, executors=["local"])[0]
    return runner, uuid.UUID(payload["lease_id"])


@pytest.mark.django_db
def test_log_chunks_keep_byte_offsets_and_never_load_the_stored_text(owner, settings):
    settings.MAX_LOG_BYTES = 40
    runner, lease_id = leased_log(owner)
    sent = 0
    chunks = ["héllo ✓\n", "nul\x00here\n", "a" * 30, "tail\n"]
    answers = []
    for chunk in chunks:
        with CaptureQueriesContext(connection) as queries:
            answers.append(services.log_append(runner=runner, lease_id=lease_id, offset=sent, data=chunk))
        sent += len(chunk.encode())
        reads = [q["sql"] for q in queries.captured_queries if q["sql"].lstrip().upper().startswith("SELECT")]
        # Its byte count may be asked for (octet_length); the column itself is never selected.
        assert not any(re.search(r'"workflows_tasklog"\."data"\s*(,|FROM)', sql) for sql in reads), reads
    assert answers == [len("".join(chunks[: i + 1]).encode()) for i in range(len(chunks))]
    # A resent chunk is skipped by its offset; a gap is refused.
    assert services.log_append(runner=runner, lease_id=lease_id, offset=0, data=chunks[0]) == sent
    log = TaskLog.objects.get()
    assert log.size == sent
    # ␀ stands for the NUL (3 bytes); the limit counts stored bytes, then the log is marked truncated.
    assert log.data == ("héllo ✓\nnul␀here\n" + "a" * 30)[: len(log.data)]
    assert len(log.data.encode()) <= 40 and log.truncated


@pytest.mark.django_db(transaction=True)
def test_a_notify_from_another_process_wakes_a_waiting_lease_at_once(owner, engine_settings):
    if connection.vendor != "postgresql":
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's; SQLite keeps polling")
    import psycopg

    # Polling alone would take 5 s: only the notification can answer within a second.
    engine_settings.LEASE_MAX_WAIT_S = 10
    engine_settings.LEASE_POLL_INTERVAL_S = 5.0
    engine_settings.LEASE_NOTIFY_POLL_S = 5.0
    runner_row, _ = register(owner, "waiter")
    workflow = publish_workflow(owner, workflow_of([add_node("late", a=1)], []))
    other_process = psycopg.connect(**connections["default"].get_connection_params(), autocommit=True)

    def lease_while(create):
        answer: dict = {}

        def wait_for_work():
            try:
                runner = Runner.objects.select_related("owner").get(pk=runner_row.pk)
                answer["tasks"] = services.lease_tasks(runner=runner, max_tasks=1, wait_s=4, executors=["local"])
                answer["returned"] = time.monotonic()
            finally:
                connections.close_all()

        thread = threading.Thread(target=wait_for_work)
        thread.start()
        deadline = time.monotonic() + 5
        while not queue_events._listening.is_set() and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)
        assert thread.is_alive(), "the lease must be waiting"
        created_at = time.monotonic()
        create()
        thread.join(timeout=10)
        return answer, answer["returned"] - created_at

    def queued_elsewhere(notify: bool):
        def create():
            # Another server process queued it: nothing in this process is woken by its commit.
            with mock.patch("workflows.lifecycle.queue.notify_queued", lambda: None):
                run_create(user=owner, workflow=workflow)
            if notify:
                other_process.execute(f"NOTIFY {queue_events.CHANNEL}")

        return create

    try:
        answer, seconds = lease_while(queued_elsewhere(notify=True))
        assert len(answer["tasks"]) == 1 and seconds < 1.0, seconds
        # The control: without the notification the waiting call sleeps through its poll interval.
        answer, seconds = lease_while(queued_elsewhere(notify=False))
        assert seconds >= 3.5, (answer, seconds)
    finally:
        other_process.close()


@pytest.mark.django_db(transaction=True)
def test_notify_queued_is_heard_by_other_connections(owner):
    if connection.vendor != "postgresql":
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's")
    import psycopg

    with psycopg.connect(**connections["default"].get_connection_params(), autocommit=True) as listener:
        listener.execute(f"LISTEN {queue_events.CHANNEL}")
        queue_events.notify_queued()
        heard = [n.channel for n in listener.notifies(timeout=2.0, stop_after=1)]
    assert heard == [queue_events.CHANNEL]


@pytest.mark.django_db
def test_git_reads_come_from_the_loose_objects_and_fall_back_to_git_when_packed(owner):
    import subprocess

    from workflows import git_store
    from workflows.documents import WORKFLOW_FILE

    first = publish_workflow(owner, layered(2, 3))
    key, sha = str(first.repo_key), first.head_revision
    expected = git_store.read_file(repo_key=key, sha=sha, name=WORKFLOW_FILE)
    with mock.patch.object(git_store, "_open", side_effect=AssertionError("git was asked")):
        assert git_store.read_file(repo_key=key, sha=sha, name=WORKFLOW_FILE) == expected
        with pytest.raises(AssertionError):  # a name the commit does not hold goes to git, which refuses it
            git_store.read_file(repo_key=key, sha=sha, name="missing.json")
    with pytest.raises(git_store.RevisionNotFound):
        git_store.read_file(repo_key=key, sha=sha, name="missing.json")
    # Packed (an operator ran git gc): no loose object is left, git answers the same bytes.
    subprocess.run(["git", "gc", "-q", "--prune=now"], cwd=git_store.repo_path(key), check=True)
    assert git_store._read_loose(key, sha, WORKFLOW_FILE) is None
    assert git_store.read_file(repo_key=key, sha=sha, name=WORKFLOW_FILE) == expected
    assert json.loads(expected)["n1.2"]["uniquename"] == "n1.2"
