"""Idle runners cost little (issue 12, "idle cost"): a lease call that would find nothing does not ask.

While this process's queue listener is connected (PostgreSQL), a claim that found nothing stays true for
its scope until a queue event is heard or LEASE_NOTIFY_POLL_S passes (runners/services.py); what was
queued, here or by another process, is still handed out; SQLite keeps claiming every time.
"""

import threading
import time
from datetime import timedelta
from unittest import mock

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from nodeworks_server import hot_sql
from runners import services
from runners.models import Runner
from tests.engine.conftest import ProtocolRunner, add_node, no_op_nodes, publish_workflow, register, start_run, workflow_of
from workflows import lifecycle, queue_events
from workflows.models import Task
from workflows.services.runs import run_create

pytestmark = pytest.mark.usefixtures("engine_settings")


def _needs_listener():
    if connection.vendor != "postgresql":
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's; SQLite claims on every call")
    queue_events.listener_ensure()
    deadline = time.monotonic() + 5
    while not queue_events.listening() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert queue_events.listening()


def _fresh(runner: Runner) -> Runner:
    return Runner.objects.select_related("owner").get(pk=runner.pk)


def _turned_away(runner: Runner) -> None:
    with pytest.raises(services.LongPollsFull):
        services.lease_tasks(runner=_fresh(runner), max_tasks=1, wait_s=2, executors=["local"])


class Statements:
    """Every statement this thread sends: the ORM's, and those of nodeworks_server/hot_sql.py (its own
    psycopg cursor, which CaptureQueriesContext does not see)."""

    def __enter__(self):
        self.orm = CaptureQueriesContext(connection).__enter__()
        self.hot: list[str] = []
        real = hot_sql.fetch

        def fetch(sql, params, **kwargs):
            self.hot.append(sql)
            return real(sql, params, **kwargs)

        self.claims = 0
        real_claim = lifecycle.tasks_claim

        def tasks_claim(*args, **kwargs):
            self.claims += 1
            return real_claim(*args, **kwargs)

        self.patches = [mock.patch.object(hot_sql, "fetch", fetch), mock.patch.object(lifecycle, "tasks_claim", tasks_claim)]
        for patch in self.patches:
            patch.__enter__()
        return self

    def __exit__(self, *exc):
        for patch in self.patches:
            patch.__exit__(*exc)
        self.orm.__exit__(*exc)

    @property
    def all(self) -> list[str]:
        return [q["sql"] for q in self.orm.captured_queries] + self.hot


@pytest.fixture
def idle(engine_settings):
    engine_settings.LEASE_MAX_WAITERS = 0  # every call with no work is turned away
    engine_settings.LEASE_NOTIFY_POLL_S = 30.0
    engine_settings.REAPER_INTERVAL_S = 3600.0  # no reap query in the counts
    engine_settings.RUNNER_HEARTBEAT_INTERVAL_S = 15.0  # online for 30 s: a runner just seen needs no write
    return engine_settings


@pytest.mark.django_db(transaction=True)
def test_a_turned_away_lease_does_no_claim_when_nothing_was_queued(owner, idle):
    _needs_listener()
    # As after their first lease call (which records the executors offered and when they were seen).
    seen = {"offered_executors": ["local"], "last_contact": timezone.now()}
    first, _ = register(owner, "first", **seen)
    second, _ = register(owner, "second", **seen)
    with Statements() as sent:
        _turned_away(first)
    assert sent.claims == 1, "the first call claims"
    for runner in (first, second, first):  # another runner of the same scope believes it too
        runner = _fresh(runner)
        with Statements() as sent, pytest.raises(services.LongPollsFull):
            services.lease_tasks(runner=runner, max_tasks=1, wait_s=2, executors=["local"])
        assert sent.all == []


@pytest.mark.django_db(transaction=True)
def test_a_runner_of_another_scope_still_claims(owner, bob, idle):
    _needs_listener()
    _turned_away(register(owner, "mine")[0])
    for other in (register(owner, "tagged", tags=["gpu"])[0], register(bob, "bobs")[0]):
        with Statements() as sent:
            _turned_away(other)
        assert sent.claims == 1


@pytest.mark.django_db(transaction=True)
def test_a_task_queued_here_is_handed_out_at_the_next_call(owner, idle):
    _needs_listener()
    runner, _ = register(owner, "r")
    _turned_away(runner)
    run = start_run(owner, no_op_nodes(1))  # its commit moves the generation
    tasks = services.lease_tasks(runner=_fresh(runner), max_tasks=1, wait_s=2, executors=["local"])
    assert [t["run_id"] for t in tasks] == [run.pk]


@pytest.mark.django_db(transaction=True)
def test_a_task_queued_by_another_process_is_handed_out_once_its_notify_is_heard(owner, idle):
    _needs_listener()
    import psycopg

    runner, _ = register(owner, "r")
    workflow = publish_workflow(owner, workflow_of([add_node("late", a=1)], []))
    _turned_away(runner)
    generation = queue_events.current_generation()
    with mock.patch("workflows.lifecycle.queue.notify_queued", lambda: None):
        run = run_create(user=owner, workflow=workflow)  # nothing in this process hears this commit
    _turned_away(runner)  # not heard yet: believed empty (the other process's NOTIFY is what tells)
    with psycopg.connect(**connections["default"].get_connection_params(), autocommit=True) as other_process:
        other_process.execute(f"NOTIFY {queue_events.CHANNEL}")
    deadline = time.monotonic() + 5
    while queue_events.current_generation() == generation and time.monotonic() < deadline:
        time.sleep(0.01)
    tasks = services.lease_tasks(runner=_fresh(runner), max_tasks=1, wait_s=2, executors=["local"])
    assert [t["run_id"] for t in tasks] == [run.pk]


@pytest.mark.django_db(transaction=True)
def test_what_no_event_announces_is_claimed_again_after_lease_notify_poll_s(owner, idle):
    """A retry backoff running out is no event: the empty claim is believed for LEASE_NOTIFY_POLL_S only."""
    _needs_listener()
    idle.LEASE_NOTIFY_POLL_S = 0.5
    runner, _ = register(owner, "r")
    run = start_run(owner, no_op_nodes(1))
    Task.objects.filter(run=run).update(not_before=timezone.now() + timedelta(seconds=0.3))
    _turned_away(runner)  # in backoff: nothing fits
    _turned_away(runner)  # believed
    time.sleep(0.6)
    tasks = services.lease_tasks(runner=_fresh(runner), max_tasks=1, wait_s=2, executors=["local"])
    assert [t["run_id"] for t in tasks] == [run.pk]


@pytest.mark.django_db(transaction=True)
def test_an_empty_claim_is_not_believed_without_the_listener(owner, idle, monkeypatch):
    """SQLite, or a listener that lost its connection: every call claims, as before."""
    runner, _ = register(owner, "r")
    monkeypatch.setattr(queue_events, "listening", lambda: False)
    _turned_away(runner)
    with Statements() as sent:
        _turned_away(runner)
    assert sent.claims == 1
    with mock.patch("workflows.lifecycle.queue.notify_queued", lambda: None):
        run = start_run(owner, no_op_nodes(1))  # queued without any event
    tasks = services.lease_tasks(runner=_fresh(runner), max_tasks=1, wait_s=2, executors=["local"])
    assert [t["run_id"] for t in tasks] == [run.pk]


@pytest.mark.django_db(transaction=True)
def test_a_queued_task_wakes_many_waiters_but_costs_few_claims(owner, engine_settings):
    """The waiting calls of one scope wake together; they recheck one at a time, and believe the one that found nothing."""
    _needs_listener()
    engine_settings.LEASE_MAX_WAIT_S = 10
    engine_settings.LEASE_NOTIFY_POLL_S = 30.0
    engine_settings.REAPER_INTERVAL_S = 3600.0
    waiters = 8
    runners = [register(owner, f"w{i}")[0] for i in range(waiters)]
    workflow = publish_workflow(owner, workflow_of([add_node("late", a=1)], []))
    claims = []
    real_claim = lifecycle.tasks_claim

    def counted_claim(*args, **kwargs):
        tasks = real_claim(*args, **kwargs)
        claims.append(len(tasks))
        return tasks

    answers: list = []

    def wait_for_work(runner):
        try:
            answers.append(services.lease_tasks(runner=_fresh(runner), max_tasks=1, wait_s=3, executors=["local"]))
        finally:
            connections.close_all()

    with mock.patch.object(lifecycle, "tasks_claim", counted_claim):
        threads = [threading.Thread(target=wait_for_work, args=(runner,)) for runner in runners]
        for thread in threads:
            thread.start()
            time.sleep(0.05)
        time.sleep(0.3)
        assert claims == [0], "the first call claims, the others believe it"
        claims.clear()
        run = run_create(user=owner, workflow=workflow)
        for thread in threads:
            thread.join(timeout=10)
    picked = [t["run_id"] for answer in answers for t in answer]
    assert picked == [run.pk]
    # One claim takes the task, the next finds nothing; the other six believe it (a straggler may claim).
    assert claims.count(1) == 1 and len(claims) <= 3, claims


@pytest.mark.django_db(transaction=True)
def test_a_runner_gone_while_waiting_is_handed_nothing(owner, engine_settings):
    _needs_listener()
    engine_settings.LEASE_MAX_WAIT_S = 10
    runner, _ = register(owner, "gone")
    gone = threading.Event()
    answer: dict = {}

    def wait_for_work():
        try:
            answer["tasks"] = services.lease_tasks(
                runner=_fresh(runner), max_tasks=1, wait_s=3, executors=["local"], caller_gone=gone.is_set
            )
        finally:
            connections.close_all()

    thread = threading.Thread(target=wait_for_work)
    thread.start()
    time.sleep(0.3)
    gone.set()
    run = start_run(owner, no_op_nodes(1))
    thread.join(timeout=10)
    assert answer["tasks"] == []
    assert Task.objects.get(run=run).state == "queued"


# ---------------------------------------------------------------- last_contact


@pytest.mark.django_db
def test_last_contact_is_written_at_most_every_runner_contact_write_s(owner, engine_settings):
    engine_settings.RUNNER_CONTACT_WRITE_S = 10.0
    engine_settings.RUNNER_HEARTBEAT_INTERVAL_S = 15.0
    engine_settings.LEASE_MAX_WAITERS = 0
    runner, token = register(owner, "r")
    client = ProtocolRunner(token)
    recent = timezone.now() - timedelta(seconds=5)
    Runner.objects.filter(pk=runner.pk).update(last_contact=recent)
    client.post("lease", {"max_tasks": 1, "wait_s": 0, "executors": ["local"]})
    assert Runner.objects.get(pk=runner.pk).last_contact == recent
    Runner.objects.filter(pk=runner.pk).update(last_contact=timezone.now() - timedelta(seconds=11))
    client.post("lease", {"max_tasks": 1, "wait_s": 0, "executors": ["local"]})
    assert timezone.now() - Runner.objects.get(pk=runner.pk).last_contact < timedelta(seconds=2)


@pytest.mark.django_db
def test_a_long_poll_keeps_its_runner_online_until_it_answers(owner, engine_settings):
    engine_settings.RUNNER_HEARTBEAT_INTERVAL_S = 15.0  # online: seen within 30 s
    runner, _ = register(owner, "r")
    stamp = timezone.now() - timedelta(seconds=8)
    Runner.objects.filter(pk=runner.pk).update(last_contact=stamp)
    runner = _fresh(runner)
    services.runner_contact_keep(runner=runner, seconds=10)  # 8 + 10 + the next call's margin: within 30 s
    assert Runner.objects.get(pk=runner.pk).last_contact == stamp
    services.runner_contact_keep(runner=runner, seconds=20)  # would be 28 s old when the next call comes
    assert timezone.now() - Runner.objects.get(pk=runner.pk).last_contact < timedelta(seconds=2)


# ---------------------------------------------------------------- retry_after_s


@pytest.mark.django_db
def test_retry_after_grows_with_the_runners_turned_away_up_to_its_max(owner, idle):
    idle.LEASE_BUSY_RETRY_S = 1.0
    idle.LEASE_BUSY_RETRY_MAX_S = 10.0
    idle.LEASE_BUSY_ANSWERS_PER_S = 2.0

    def retry_after(runner) -> float:
        with pytest.raises(services.LongPollsFull) as full:
            services.lease_tasks(runner=runner, max_tasks=1, wait_s=2, executors=["local"])
        return full.value.retry_after_s

    runners = [register(owner, f"r{i}", offered_executors=["local"])[0] for i in range(40)]
    assert 0.5 <= retry_after(runners[0]) <= 1.0  # alone: LEASE_BUSY_RETRY_S
    assert retry_after(runners[0]) <= 1.0  # the same runner again counts once
    answers = [retry_after(runner) for runner in runners[1:6]]
    # 6 runners coming back 2 times a second: every 3 s, so after 4 s at most (0.75 of the upper bound).
    assert 2.0 <= answers[-1] <= 4.0, answers
    answers = [retry_after(runner) for runner in runners[6:]]
    assert 5.0 <= answers[-1] <= 10.0, answers  # 40 runners: capped by LEASE_BUSY_RETRY_MAX_S
