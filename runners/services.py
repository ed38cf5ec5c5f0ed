"""Runners: registration and tokens, the operators' switches, and the runner protocol's services.

The protocol's writes to tasks are the workflows lifecycle's (workflows/lifecycle/): these
functions turn the authenticated runner row into the plain values it needs (runners/scope.py),
and add what is the runner's own: the long-poll, its waiting slots, and the shutdown flag.
"""

import contextlib
import random
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Sum
from django.utils import timezone

from accounts.secrets import RUNNER_TOKEN_PREFIX, secret_new
from nodeworks_server import hot_sql
from nodeworks_server.errors import TooLarge
from runners.models import Runner
from runners.scope import runner_scope
from workflows import lifecycle, queue_events
from workflows.lifecycle import ResultAnswer
from workflows.models import Artifact, Task

# ---------------------------------------------------------------- registration and switches


@transaction.atomic
def runner_register(*, user, name: str, tags: list[str], executors: list[str]) -> tuple[Runner, str]:
    plaintext, digest = secret_new(RUNNER_TOKEN_PREFIX)
    runner = Runner.objects.create(
        owner=user,
        name=name,
        tags=sorted(set(tags)),
        executors=sorted(set(executors)),
        token_digest=digest,
        token_hint=plaintext[:8],
    )
    return runner, plaintext


def runner_revoke_token(*, runner: Runner) -> None:
    """The runner's token stops working at once; only re-registering gives a new one."""
    _, digest = secret_new(RUNNER_TOKEN_PREFIX)
    Runner.objects.filter(pk=runner.pk).update(token_digest=digest, token_hint="revoked")


def runners_pause(*, runners) -> int:
    """A paused runner leases nothing new; what it runs goes on."""
    return runners.update(paused=True)


def runners_resume(*, runners) -> int:
    """Leases again; a shutdown not yet obeyed is withdrawn too (a drained runner that exited stays offline)."""
    return runners.update(paused=False, shutdown_requested=False)


def runners_drain(*, runners) -> int:
    """Pause plus shutdown: the runner finishes what it holds and exits."""
    return runners.update(paused=True, shutdown_requested=True)


def runner_shutdown_request(*, runner: Runner) -> Runner:
    Runner.objects.filter(pk=runner.pk).update(shutdown_requested=True)
    runner.shutdown_requested = True
    return runner


def runners_share_with_all(*, runners, shared: bool = True) -> int:
    """Sharing is honoured only for runners of staff users (a user's host runs only their own code)."""
    return runners.filter(owner__is_staff=True).update(shared_with_all=shared)


def shutdown_all() -> tuple[list[int], int, int]:
    """Every run cancelled and the queue cleared (lifecycle.cancel_all), then every runner told to exit."""
    cancelled, cleared = lifecycle.cancel_all()
    return cancelled, cleared, Runner.objects.update(shutdown_requested=True)


# ---------------------------------------------------------------- contact


def runner_contact_keep(*, runner: Runner, seconds: float) -> None:
    """Keeps a runner that is about to wait `seconds` online until it has been answered and asks again.

    Authentication writes `last_contact` at most every RUNNER_CONTACT_WRITE_S (runners/authentication.py),
    so the stamp may already be that old when a long-poll starts; "online" is "seen within two heartbeat
    periods" (runners/models.py), and a waiting runner is not seen again before its call ends.
    """
    now = timezone.now()
    margin = 5.0  # the runner's next call, after this one answers
    window = 2 * settings.RUNNER_HEARTBEAT_INTERVAL_S
    if runner.last_contact is None or (now - runner.last_contact).total_seconds() + seconds + margin > window:
        runner_contact_write(runner=runner, now=now)


_CONTACT_SQL = f"UPDATE {Runner._meta.db_table} SET last_contact = %(now)s WHERE id = %(id)s"  # noqa: S608


def runner_contact_write(*, runner: Runner, now: datetime) -> None:
    """The stamp of "online", written by most runner calls: on PostgreSQL a prepared statement
    (nodeworks_server/hot_sql.py; the ORM's UPDATE cost a fifth of a turned-away lease call's CPU)."""
    if connection.vendor == "postgresql":
        hot_sql.fetch(_CONTACT_SQL, {"now": now, "id": runner.pk})
    else:
        Runner.objects.filter(pk=runner.pk).update(last_contact=now)
    runner.last_contact = now


# ---------------------------------------------------------------- lease (long-poll)


class LongPollsFull(Exception):
    """No work, and every long-poll slot of this server process is taken: ask again after `retry_after_s`."""

    def __init__(self, retry_after_s: float):
        super().__init__(f"retry after {retry_after_s} s")
        self.retry_after_s = retry_after_s


_waiters_lock = threading.Lock()
_waiters = 0
# Runners this process turned away lately (runner id -> monotonic time), for the length of retry_after_s.
_turned_away: dict[int, float] = {}


def _busy_retry_after_s(runner_id: int) -> float:
    """How long a runner turned away waits before it asks again: LEASE_BUSY_RETRY_S, or longer when so many
    runners are turned away that their answers would pass LEASE_BUSY_ANSWERS_PER_S (each is a whole
    authenticated HTTP call: 200 idle runners against 16 waiting slots made ~50 a second, most of an idle
    server's CPU). Jittered over the upper half, so the runners turned away together do not all come
    back together. Called under _waiters_lock."""
    now = time.monotonic()
    _turned_away[runner_id] = now
    horizon = now - 2 * settings.LEASE_BUSY_RETRY_MAX_S  # a runner not seen for that long has stopped asking
    for stale in [pk for pk, seen in _turned_away.items() if seen < horizon]:
        del _turned_away[stale]
    # n runners coming back after 0.75 * longest on average make n / (0.75 * longest) answers a second.
    longest = len(_turned_away) / (0.75 * max(settings.LEASE_BUSY_ANSWERS_PER_S, 0.01))
    longest = min(max(settings.LEASE_BUSY_RETRY_S, longest), max(settings.LEASE_BUSY_RETRY_MAX_S, settings.LEASE_BUSY_RETRY_S))
    return round(longest * random.uniform(0.5, 1.0), 2)


@contextlib.contextmanager
def _long_poll_slot(runner_id: int):
    global _waiters
    with _waiters_lock:
        if _waiters >= settings.LEASE_MAX_WAITERS:
            raise LongPollsFull(_busy_retry_after_s(runner_id))
        _waiters += 1
        _turned_away.pop(runner_id, None)
    try:
        yield
    finally:
        with _waiters_lock:
            _waiters -= 1


# The last claim of this process for a scope (see _claim_key) that found nothing: scope -> (the queue
# generation read before it, monotonic time). A scope whose claim found tasks is forgotten.
_empty_claims: dict[tuple, tuple[int, float]] = {}
_EMPTY_CLAIMS_MAX = 10_000  # distinct scopes remembered; past it, forgotten all at once (a claim each)
# One lock per remembered scope: a scope known empty is looked at again by one call of this process at
# a time. A queue event wakes every waiting call at once; without it each of them claimed, so one task
# queued cost as many claims as calls waited. With it, the first claims and takes the task, the next finds
# nothing and says so, and the rest believe it.
_recheck_locks: dict[tuple, threading.Lock] = {}
_memo_lock = threading.Lock()


def _claim_key(runner: Runner, executors: list[str]) -> tuple | None:
    """What a claim's answer depends on besides the queue: runners with the same key find the same tasks.

    None when an unchanged queue generation proves nothing: SQLite, or the listener not connected
    (tasks queued by another process would go unheard), or a transaction of this connection is open
    (what it queued is announced only when it commits, yet its claims see it).
    """
    if not queue_events.listening() or connection.in_atomic_block:
        return None
    if runner.owner.is_staff and runner.shared_with_all:
        whose: object = "anyone"
    elif runner.owner.is_staff:
        whose = ("shared", runner.pk)  # its own list of users (runners/scope.py)
    else:
        whose = runner.owner_id
    offered = tuple(sorted(set(executors) & set(runner.executors)))
    return whose, tuple(sorted(runner.tags)), offered


def _nothing_fits_since(key: tuple | None, generation: int) -> bool:
    """Whether a claim for `key` would find nothing, known without asking the database.

    True when a claim of this process for the same scope found nothing, no queue event has been heard
    since it started (workflows/queue_events.py: every commit that queues tasks, here or in another
    process, moves the generation), and it is less than LEASE_NOTIFY_POLL_S old: that bound is for
    what no event announces (a retry backoff running out, an operator's change to who the runner serves,
    a task skipped while a concurrent claim held its row lock), as for a waiting call's own poll.
    """
    if key is None:
        return False
    seen = _empty_claims.get(key)
    return (
        seen is not None and seen[0] == generation and time.monotonic() - seen[1] < settings.LEASE_NOTIFY_POLL_S
    )


def _claimed(key: tuple | None, generation: int, found: bool) -> None:
    if key is None:
        return
    with _memo_lock:
        if found:
            _empty_claims.pop(key, None)
            return
        if len(_empty_claims) >= _EMPTY_CLAIMS_MAX:
            _empty_claims.clear()
            _recheck_locks.clear()
        _empty_claims[key] = (generation, time.monotonic())


def lease_memo_forget() -> None:
    """Forgets every empty claim and turned-away runner remembered (tests: one test's calls prove nothing for the next)."""
    with _memo_lock:
        _empty_claims.clear()
        _recheck_locks.clear()
    with _waiters_lock:
        _turned_away.clear()


def _recheck(key: tuple | None):
    """The scope's lock while an empty claim of it is remembered, else nothing (claims of a scope with
    work run side by side, passing each other's rows: workflows/lifecycle/claim.py)."""
    if key is None or key not in _empty_claims:
        return contextlib.nullcontext()
    with _memo_lock:
        return _recheck_locks.setdefault(key, threading.Lock())


def lease_tasks(
    *, runner: Runner, max_tasks: int, wait_s: float, executors: list[str], last_finished: list[int] | None = None,
    caller_gone: Callable[[], bool] | None = None,
) -> list[dict]:
    """Long-poll: returns as soon as tasks fit, or an empty list after `wait_s`.

    Waits on an in-process condition, so a thread (not a process) waits; on PostgreSQL a task queued
    by another server process wakes it through LISTEN/NOTIFY (workflows/queue_events.py), elsewhere it
    is seen within LEASE_POLL_INTERVAL_S. Raises
    LongPollsFull instead of waiting when LEASE_MAX_WAITERS calls of this process already wait.
    After each wait, `caller_gone()` says whether the runner closed its connection meanwhile: then
    nothing is claimed (tasks leased to nobody would sit until their lease expired, counted lost).

    The claim is skipped while this process knows it would find nothing (_nothing_fits_since): with
    hundreds of idle runners, most lease calls are turned away or wake from their poll to an unchanged
    queue, and each such claim was a query for nothing.
    """
    if sorted(executors) != sorted(runner.offered_executors):
        Runner.objects.filter(pk=runner.pk).update(offered_executors=sorted(executors))
        runner.offered_executors = sorted(executors)
    deadline = time.monotonic() + max(0.0, min(wait_s, settings.LEASE_MAX_WAIT_S))
    max_tasks = min(max_tasks, settings.LEASE_MAX_TASKS)
    waited = False
    with contextlib.ExitStack() as slot:  # a waiting slot, taken before the first wait only
        while True:
            if waited and caller_gone is not None and caller_gone():
                return []
            lifecycle.lease_reap_if_due()  # expired leases count as free: a reap that requeues is a queue event
            key = _claim_key(runner, executors)
            with _recheck(key):
                generation = queue_events.current_generation()
                tasks = []
                # Chain affinity names tasks just released: always looked up.
                if last_finished or not _nothing_fits_since(key, generation):
                    if waited:  # the runner row was read by authentication; later rounds see operators' changes
                        runner.refresh_from_db(
                            fields=["paused", "shutdown_requested", "tags", "executors", "shared_with_all"]
                        )
                        key = _claim_key(runner, executors)
                    if not (runner.paused or runner.shutdown_requested):
                        tasks = _claim(runner, max_tasks=max_tasks, executors=executors, last_finished=last_finished)
                        _claimed(key, generation, found=bool(tasks))
            remaining = deadline - time.monotonic()
            if tasks or remaining <= 0:
                return lifecycle.task_payloads(tasks)
            if not waited:
                try:
                    slot.enter_context(_long_poll_slot(runner.pk))
                except LongPollsFull as full:
                    runner_contact_keep(runner=runner, seconds=full.retry_after_s)  # online until it is back
                    raise
                waited = True
                runner_contact_keep(runner=runner, seconds=remaining)
            queue_events.wait_for_queued(generation, timeout=min(queue_events.poll_interval(), remaining))


def _claim(runner: Runner, *, max_tasks: int, executors: list[str], last_finished: list[int] | None) -> list:
    scope = runner_scope(runner)
    tasks = []
    if last_finished:
        # Chain affinity: the successors of what this runner just finished come first.
        successors = lifecycle.successors_queued(parent_ids=last_finished, limit=max_tasks)
        if successors:
            tasks = lifecycle.tasks_claim(scope, max_tasks=max_tasks, executors=executors, only=successors)
    if len(tasks) < max_tasks:
        tasks += lifecycle.tasks_claim(scope, max_tasks=max_tasks - len(tasks), executors=executors)
    return tasks


# ---------------------------------------------------------------- heartbeats, logs, artifacts, results


@dataclass(frozen=True)
class HeartbeatAnswer:
    leases: dict[str, str]
    expires_at: datetime
    shutdown: bool


def lease_heartbeat(*, runner: Runner, lease_ids: list[uuid.UUID], running: dict[uuid.UUID, dict]) -> HeartbeatAnswer:
    """The lifecycle's heartbeat, plus the runner's shutdown flag as operators left it.

    The reaper runs first when due, outside the heartbeat's transaction: an expired lease is then
    answered "lost" within REAPER_INTERVAL_S of its expiry, as SPEC.md's runner expects, and the
    reaper's own "is the run done?" asks after its commit (workflows/lifecycle/fence.py).
    """
    lifecycle.lease_reap_if_due()
    leases, expires = lifecycle.lease_heartbeat(runner_id=runner.pk, lease_ids=lease_ids, running=running)
    runner.refresh_from_db(fields=["shutdown_requested"])
    return HeartbeatAnswer(leases=leases, expires_at=expires, shutdown=runner.shutdown_requested)


def log_append(*, runner: Runner, lease_id: uuid.UUID, offset: int, data: str) -> int:
    return lifecycle.log_append(runner_id=runner.pk, lease_id=lease_id, offset=offset, data=data)


def artifact_store(*, runner: Runner, lease_id: uuid.UUID, name: str, upload, content_type: str) -> Artifact:
    _storage_quota_check(runner=runner, lease_id=lease_id, name=name, size=upload.size)
    return lifecycle.artifact_store(
        runner_id=runner.pk, lease_id=lease_id, name=name, upload=upload, content_type=content_type
    )


def _storage_quota_check(*, runner: Runner, lease_id: uuid.UUID, name: str, size: int) -> None:
    """The task owner's artifacts, this one included, must fit USER_STORAGE_QUOTA_BYTES (413 otherwise).

    Checked before anything is stored (the upload is still Django's temporary file), so a refused
    artifact leaves nothing behind; the runner fails that task alone, as for any refused upload.
    Uploads running at the same moment are each checked against what was stored before them.
    """
    quota = settings.USER_STORAGE_QUOTA_BYTES
    if quota <= 0:
        return
    owner_id = Task.objects.filter(lease_id=lease_id, runner_id=runner.pk).values_list("owner_id", flat=True).first()
    if owner_id is None:
        return  # not this runner's lease: the lifecycle answers 409
    used = Artifact.objects.filter(owner_id=owner_id).aggregate(total=Sum("size"))["total"] or 0
    if used + size > quota:
        raise TooLarge(
            f"artifact {name!r} ({size} bytes) does not fit the storage quota of the workflow's owner: "
            f"{used} of {quota} bytes are used, {max(0, quota - used)} left; delete workflows no longer needed "
            "to free their artifacts (NODEWORKS_USER_STORAGE_QUOTA_MB)"
        )


def artifact_for_runner(*, runner: Runner, artifact_id: uuid.UUID) -> Artifact | None:
    return lifecycle.artifact_for_runner(owner_ids=runner_scope(runner).owner_ids, artifact_id=artifact_id)


def results_report(
    *, runner: Runner, results: list[dict], lease: dict | None = None
) -> tuple[list[ResultAnswer], list[dict]]:
    """The lifecycle's results (workflows/lifecycle/results.py) for this runner."""
    return lifecycle.results_report(scope=runner_scope(runner), results=results, lease=lease)


def lease_reap(*, limit: int = 1000) -> int:
    """The django-q2 schedule names this function (runners/migrations/0002_reaper_schedule.py)."""
    return lifecycle.lease_reap(limit=limit)
