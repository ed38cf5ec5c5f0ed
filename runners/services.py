"""Runner registration, leases of task rows, heartbeats, logs, artifacts, results and lease expiry."""

import contextlib
import functools
import hashlib
import json
import operator
import random
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Case, Exists, F, OuterRef, Q, UUIDField, Value, When
from django.db.models.expressions import RawSQL
from django.db.models.functions import Concat
from django.utils import timezone

from accounts.secrets import RUNNER_TOKEN_PREFIX, secret_new
from nodeworks_server import hot_sql
from nodeworks_server.errors import Conflict, InvalidInput, TooLarge
from runners.models import Runner
from workflows import queue_events
from workflows.artifact_files import artifact_path
from workflows.inputs import assemble_inputs
from workflows.models import (
    HELD_TASK_STATES,
    UNFINISHED_TASK_STATES,
    Artifact,
    Run,
    RunState,
    TagSet,
    Task,
    TaskLog,
    TaskState,
)
from workflows.services import tasks as task_outcomes


class LeaseNotCurrent(Conflict):
    """The lease named is not the task's current lease (expired, re-queued, or another runner's)."""


# ---------------------------------------------------------------- registration


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


# ---------------------------------------------------------------- leases


def _owner_ids(runner: Runner) -> list[int] | None:
    """Whose tasks this runner may take (None: anyone's): its owner's, or, for an admin's runner,
    those it is shared with."""
    if runner.owner.is_staff and runner.shared_with_all:
        return None
    if runner.owner.is_staff:
        return [runner.owner_id, *runner.shared_with.values_list("pk", flat=True)]
    return [runner.owner_id]


def _owner_filter(runner: Runner) -> Q:
    owners = _owner_ids(runner)
    return Q() if owners is None else Q(owner_id__in=owners)


def _fitting_tagsets_sqlite(runner: Runner) -> RawSQL:
    """The tag sets whose tags are all among the runner's, as a subquery of the claim (no round trip)."""
    table = TagSet._meta.db_table
    if not runner.tags:
        return RawSQL(f"SELECT id FROM {table} WHERE json_array_length(tags) = 0", [])  # noqa: S608, S611
    placeholders = ", ".join(["%s"] * len(runner.tags))
    return RawSQL(  # noqa: S611 (placeholders only; the tags are parameters)
        f"SELECT id FROM {table} WHERE NOT EXISTS "  # noqa: S608
        f"(SELECT 1 FROM json_each({table}.tags) AS tag WHERE tag.value NOT IN ({placeholders}))",
        list(runner.tags),
    )


# SQLite has one writer at a time and no queue for its lock: a transaction that finds it taken
# sleeps 1, 2, 5 ... up to 100 ms between retries (the busy handler), so 50 threads claiming at once
# spent most of a second asleep. Claims from threads of this process queue here instead and each
# starts the moment the previous one commits. Not taken inside an outer transaction, which may
# already hold the database lock that the holder of this one waits for.
_sqlite_claim_lock = threading.Lock()


def _sqlite_claims_queue():
    return contextlib.nullcontext() if connection.in_atomic_block else _sqlite_claim_lock


def _claim(runner: Runner, *, max_tasks: int, executors: list[str], only: tuple[int, ...] | None = None) -> list[Task]:
    """Leases up to `max_tasks` queued tasks that fit the runner, highest priority first.

    PostgreSQL: one `UPDATE ... FROM (SELECT ... FOR UPDATE SKIP LOCKED) RETURNING`, so concurrent
    leases pass each other instead of queueing on the same rows. SQLite: the IMMEDIATE transaction
    holds the database's write lock from the SELECT on, and the UPDATE is conditional on
    `state = queued`; only the rows that came back with our lease ids are ours.
    """
    offered = [executor for executor in executors if executor in runner.executors]
    if not offered or max_tasks < 1:
        return []
    if connection.vendor == "postgresql":
        # One statement, atomic on its own: no BEGIN/COMMIT round trips on the hottest path.
        now = timezone.now()
        tasks = _claim_on_postgresql(runner, offered, max_tasks, only, now, now + timedelta(seconds=settings.LEASE_TTL_S))
    else:
        with _sqlite_claims_queue(), transaction.atomic():
            # Read the clock inside: entering may wait for SQLite's write lock, and a lease stamped
            # before that wait could predate the parent's finish that released its task.
            now = timezone.now()
            ids = _claim_ids_sqlite(runner, offered, max_tasks, only, now, now + timedelta(seconds=settings.LEASE_TTL_S))
        tasks = list(Task.objects.filter(pk__in=ids).select_related("run").order_by("-priority", "id")) if ids else []
    unstarted = {task.run_id for task in tasks if task.run.started is None}
    if unstarted:
        Run.objects.filter(pk__in=unstarted, started__isnull=True).update(started=now)
    return tasks


# Hand-written rather than built by the ORM: building this query took more CPU than PostgreSQL
# spends running it, on the call every task goes through. The picked rows come back with what a
# task payload needs (run columns included), so no second SELECT follows the claim.
_PG_CLAIM = f"""
WITH picked AS MATERIALIZED (
    SELECT id FROM {Task._meta.db_table}
    WHERE state = '{TaskState.QUEUED}' AND executor = ANY(%(executors)s::text[])
      AND tagset_id IN (SELECT id FROM {TagSet._meta.db_table} WHERE tags <@ %(tags)s::jsonb)
      AND (not_before IS NULL OR not_before <= %(now)s)
      {{filters}}
    ORDER BY priority DESC, id
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
)
UPDATE {Task._meta.db_table} AS t
SET state = '{TaskState.LEASED}', lease_id = gen_random_uuid(), runner_id = %(runner)s, leased_at = %(now)s,
    expires_at = %(expires)s, started = NULL
FROM picked, {Run._meta.db_table} AS r
WHERE t.id = picked.id AND t.state = '{TaskState.QUEUED}' AND r.id = t.run_id
RETURNING t.id, t.priority, t.lease_id, t.attempt, t.node, t.node_data, t.input_sources, t.requirements,
          t.expires_at, r.id, r.workflow_id, r.revision, r.created, r.started
"""  # noqa: S608 (table names from the models; every value is a parameter)
# MATERIALIZED: the picked rows are chosen once. Inlined, the planner may re-run a LIMIT ... SKIP
# LOCKED subquery per scanned row and lease more tasks than asked for.


def _claim_on_postgresql(runner: Runner, offered: list[str], max_tasks: int, only, now, expires) -> list[Task]:
    owners = _owner_ids(runner)
    filters = "AND owner_id = ANY(%(owners)s::bigint[])" if owners is not None else ""
    if only is not None:
        filters += " AND id = ANY(%(only)s::bigint[])"
    params = {
        "executors": offered, "tags": json.dumps(runner.tags), "now": now, "limit": max_tasks,
        "runner": runner.pk, "expires": expires, "owners": owners, "only": list(only or ()),
    }
    rows = hot_sql.fetch(_PG_CLAIM.replace("{filters}", filters), params, per_call_plan=True)
    tasks = []
    for (pk, priority, lease_id, attempt, node, node_data, input_sources, requirements, expires_at,
         run_id, workflow_id, revision, created, started) in sorted(rows, key=lambda row: (-row[1], row[0])):
        task = Task(
            id=pk, priority=priority, lease_id=lease_id, attempt=attempt, node=node, state=TaskState.LEASED,
            node_data=json.loads(node_data), input_sources=json.loads(input_sources),
            requirements=json.loads(requirements), expires_at=expires_at, runner_id=runner.pk,
        )
        task.run = Run(id=run_id, workflow_id=workflow_id, revision=revision, created=created, started=started)
        tasks.append(task)
    return tasks


def _claim_ids_sqlite(runner: Runner, offered: list[str], max_tasks: int, only, now, expires) -> list[int]:
    candidates = (
        Task.objects.filter(_owner_filter(runner), state=TaskState.QUEUED, executor__in=offered)
        .filter(tagset_id__in=_fitting_tagsets_sqlite(runner))
        .filter(Q(not_before__isnull=True) | Q(not_before__lte=now))
        .order_by("-priority", "id")
    )
    if only is not None:
        candidates = candidates.filter(pk__in=only)
    ids = list(candidates.values_list("pk", flat=True)[:max_tasks])
    if not ids:
        return []
    leases = {pk: uuid.uuid4() for pk in ids}
    Task.objects.filter(pk__in=ids, state=TaskState.QUEUED).update(
        state=TaskState.LEASED,
        lease_id=Case(*(When(pk=pk, then=Value(lease)) for pk, lease in leases.items()), output_field=UUIDField()),
        runner=runner,
        leased_at=now,
        expires_at=expires,
        started=None,
    )
    return list(Task.objects.filter(lease_id__in=leases.values()).values_list("pk", flat=True))


def _feedback_value(task: Task, source_node: str, source_terminal: str):
    """The source's value in the latest earlier run of the workflow where it succeeded, else the file's."""
    previous = (
        Task.objects.filter(
            run__workflow_id=task.run.workflow_id,
            run__created__lt=task.run.created,
            node=source_node,
            state=TaskState.SUCCEEDED,
        )
        .order_by("-run__created")
        .values_list("outputs", flat=True)
        .first()
    )
    if previous is not None and source_terminal in previous:
        return previous[source_terminal]
    saved = Task.objects.filter(run_id=task.run_id, node=source_node).values_list("node_data", flat=True).first()
    return ((saved or {}).get("terminals", {}).get(source_terminal) or {}).get("value")


def task_payloads(tasks: list[Task]) -> list[dict]:
    """What a runner needs to execute each task, with inputs computed from upstream outputs."""
    wanted = []
    for task in tasks:
        parents = {src for sources in task.input_sources.values() for src, _, feedback in sources if not feedback}
        if parents:
            wanted.append(Q(run_id=task.run_id, node__in=parents))
    outputs: dict[tuple[int, str], dict] = {}
    if wanted:  # one query for all the parents of the batch; none for tasks without inputs from others
        outputs = {
            (run_id, node): values or {}
            for run_id, node, values in Task.objects.filter(functools.reduce(operator.or_, wanted)).values_list(
                "run_id", "node", "outputs"
            )
        }
    payloads = []
    for task in tasks:
        feedback = {
            (src, terminal): _feedback_value(task, src, terminal)
            for sources in task.input_sources.values()
            for src, terminal, is_feedback in sources
            if is_feedback
        }
        upstream = {node: values for (run_id, node), values in outputs.items() if run_id == task.run_id}
        payloads.append(
            {
                "task_id": task.pk,
                "lease_id": str(task.lease_id),
                "attempt": task.attempt,
                "run_id": task.run_id,
                "workflow_id": task.run.workflow_id,
                "revision": task.run.revision,
                "node": task.node_data,
                "inputs": assemble_inputs(
                    node=task.node_data, sources=task.input_sources, upstream=upstream, feedback=feedback
                ),
                "requirements": task.requirements,
                "expires_at": task.expires_at.isoformat(),
            }
        )
    return payloads


_last_reap = 0.0


def _reap_if_due() -> None:
    """Expired leases count as free to a lease call: reap them first, at most every REAPER_INTERVAL_S per process."""
    global _last_reap
    if time.monotonic() - _last_reap >= settings.REAPER_INTERVAL_S:
        _last_reap = time.monotonic()
        lease_reap()


class LongPollsFull(Exception):
    """No work, and every long-poll slot of this server process is taken: ask again after `retry_after_s`."""

    def __init__(self, retry_after_s: float):
        super().__init__(f"retry after {retry_after_s} s")
        self.retry_after_s = retry_after_s


_waiters_lock = threading.Lock()
_waiters = 0


@contextlib.contextmanager
def _long_poll_slot():
    global _waiters
    with _waiters_lock:
        if _waiters >= settings.LEASE_MAX_WAITERS:
            # Jittered, so the runners turned away together do not all come back together.
            raise LongPollsFull(round(settings.LEASE_BUSY_RETRY_S * random.uniform(0.5, 1.0), 2))
        _waiters += 1
    try:
        yield
    finally:
        with _waiters_lock:
            _waiters -= 1


def lease_tasks(
    *, runner: Runner, max_tasks: int, wait_s: float, executors: list[str], last_finished: list[int] | None = None
) -> list[dict]:
    """Long-poll: returns as soon as tasks fit, or an empty list after `wait_s`.

    Waits on an in-process condition with a polling timeout, so a thread (not a process) waits,
    and a task queued by another server process is seen within LEASE_POLL_INTERVAL_S. Raises
    LongPollsFull instead of waiting when LEASE_MAX_WAITERS calls of this process already wait.
    """
    if sorted(executors) != sorted(runner.offered_executors):
        Runner.objects.filter(pk=runner.pk).update(offered_executors=sorted(executors))
        runner.offered_executors = sorted(executors)
    deadline = time.monotonic() + max(0.0, min(wait_s, settings.LEASE_MAX_WAIT_S))
    max_tasks = min(max_tasks, settings.LEASE_MAX_TASKS)
    waited = False
    with contextlib.ExitStack() as slot:  # a waiting slot, taken before the first wait only
        while True:
            generation = queue_events.current_generation()
            if waited:  # the runner row was read by authentication; later rounds see operators' changes
                runner.refresh_from_db(fields=["paused", "shutdown_requested", "tags", "executors", "shared_with_all"])
            tasks: list[Task] = []
            if not (runner.paused or runner.shutdown_requested):
                _reap_if_due()
                if last_finished:
                    # Chain affinity: the successors of what this runner just finished come first.
                    successors = tuple(
                        Task.objects.filter(parent_links__parent_id__in=last_finished, state=TaskState.QUEUED)
                        .values_list("pk", flat=True)[:max_tasks]
                    )
                    if successors:
                        tasks = _claim(runner, max_tasks=max_tasks, executors=executors, only=successors)
                if len(tasks) < max_tasks:
                    tasks += _claim(runner, max_tasks=max_tasks - len(tasks), executors=executors)
            remaining = deadline - time.monotonic()
            if tasks or remaining <= 0:
                return task_payloads(tasks)
            if not waited:
                slot.enter_context(_long_poll_slot())
                waited = True
            queue_events.wait_for_queued(generation, timeout=min(settings.LEASE_POLL_INTERVAL_S, remaining))


# ---------------------------------------------------------------- heartbeats, logs, artifacts


@dataclass(frozen=True)
class HeartbeatAnswer:
    leases: dict[str, str]
    expires_at: datetime
    shutdown: bool


@transaction.atomic
def lease_heartbeat(*, runner: Runner, lease_ids: list[uuid.UUID], running: dict[uuid.UUID, dict]) -> HeartbeatAnswer:
    """Extends the runner's current leases; answers ok, cancel (stop it and report) or lost (stop it, don't report).

    The update comes first and the answers are read after it, so a lease the reaper takes at the
    same moment is answered "lost", never "ok".
    """
    now = timezone.now()
    expires = now + timedelta(seconds=settings.LEASE_TTL_S)
    current = Task.objects.filter(lease_id__in=lease_ids, runner=runner, state__in=HELD_TASK_STATES, expires_at__gte=now)
    current.update(expires_at=expires)
    Task.objects.filter(lease_id__in=list(running), runner=runner, state=TaskState.LEASED, expires_at=expires).update(
        state=TaskState.RUNNING, started=now
    )
    held = {
        lease: "cancel" if cancel or run_state != RunState.RUNNING else "ok"
        for lease, cancel, run_state in Task.objects.filter(
            lease_id__in=lease_ids, runner=runner, state__in=HELD_TASK_STATES, expires_at=expires
        ).values_list("lease_id", "cancel_requested", "run__state")
    }
    runner.refresh_from_db(fields=["shutdown_requested"])
    return HeartbeatAnswer(
        leases={str(lease): held.get(lease, "lost") for lease in lease_ids},
        expires_at=expires,
        shutdown=runner.shutdown_requested,
    )


def current_task(*, runner: Runner, lease_id: uuid.UUID) -> Task:
    task = Task.objects.select_related("run").filter(lease_id=lease_id, runner=runner).first()
    if task is None or task.state not in HELD_TASK_STATES or task.expires_at < timezone.now():
        raise LeaseNotCurrent(f"lease {lease_id} is not current")
    return task


def _log_append(log: TaskLog, *, offset: int, chunk: bytes) -> int:
    """Idempotent by offset: bytes below the stored size were received before and are skipped."""
    if offset > log.size:
        raise InvalidInput(f"offset {offset} is past the {log.size} bytes received; send the missing bytes first", field="offset")
    fresh = chunk[log.size - offset :]
    if not fresh:
        return log.size
    room = max(0, settings.MAX_LOG_BYTES - len(log.data.encode("utf-8")))
    kept = fresh[:room].decode("utf-8", errors="ignore")
    truncated = len(fresh) > room
    # Conditional on the size we read, so two concurrent retries of one chunk store it once.
    updated = TaskLog.objects.filter(pk=log.pk, size=log.size).update(
        data=Concat(F("data"), Value(kept)) if kept else F("data"),
        size=F("size") + len(fresh),
        truncated=truncated or log.truncated,
    )
    if not updated:
        log.refresh_from_db()
        return _log_append(log, offset=offset, chunk=chunk)
    return log.size + len(fresh)


@transaction.atomic
def log_append(*, runner: Runner, lease_id: uuid.UUID, offset: int, data: str) -> int:
    task = current_task(runner=runner, lease_id=lease_id)
    log, _ = TaskLog.objects.get_or_create(task=task, attempt=task.attempt)
    return _log_append(log, offset=offset, chunk=data.encode("utf-8"))


def artifact_store(*, runner: Runner, lease_id: uuid.UUID, name: str, upload, content_type: str) -> Artifact:
    """Streams the upload to a server-chosen path, hashing as it goes; nothing is kept on any failure."""
    task = current_task(runner=runner, lease_id=lease_id)
    artifact_id = uuid.uuid4()
    path = artifact_path(artifact_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    digest, size = hashlib.sha256(), 0
    try:
        with open(path, "xb") as out:
            for chunk in upload.chunks():
                size += len(chunk)
                if size > settings.MAX_ARTIFACT_BYTES:
                    raise TooLarge(f"artifact exceeds the limit of {settings.MAX_ARTIFACT_BYTES} bytes")
                digest.update(chunk)
                out.write(chunk)
        with transaction.atomic():
            current_task(runner=runner, lease_id=lease_id)  # still current after a long upload?
            return Artifact.objects.create(
                id=artifact_id,
                task=task,
                owner_id=task.owner_id,
                attempt=task.attempt,
                runner=runner,
                name=name,
                size=size,
                sha256=digest.hexdigest(),
                content_type=content_type or "application/octet-stream",
            )
    except BaseException:
        path.unlink(missing_ok=True)
        raise


def artifact_for_runner(*, runner: Runner, artifact_id: uuid.UUID) -> Artifact | None:
    """Upstream artifacts a runner may fetch: those of owners whose tasks it may take."""
    return Artifact.objects.filter(_owner_filter(runner), pk=artifact_id).first()


# ---------------------------------------------------------------- results and expiry


@dataclass(frozen=True)
class ResultAnswer:
    lease_id: str
    accepted: bool
    state: str | None = None
    reason: str | None = None
    duplicate: bool = False


def result_report(
    *, runner: Runner, lease_id: uuid.UUID, state: str, outputs: dict, error: str, started, finished
) -> tuple[ResultAnswer, tuple[int, ...]]:
    """One result, answered on its own: failures, cancels, resends and stale leases."""
    task = (
        Task.objects.select_related("run")
        # A resent result may find its task re-queued (runner cleared) after a retry; the lease id,
        # a random UUID only its runner was given, is what identifies it.
        .filter(Q(lease_id=lease_id, runner=runner) | Q(finished_lease_id=lease_id))
        .first()
    )
    if task is None:
        return ResultAnswer(str(lease_id), accepted=False, reason="lease is not current (expired, re-queued or not yours)"), ()
    if task.finished_lease_id == lease_id:
        # Sent twice: the stored outcome, once.
        return ResultAnswer(str(lease_id), accepted=True, state=task.state, duplicate=True), ()
    if task.state not in HELD_TASK_STATES:
        return ResultAnswer(str(lease_id), accepted=False, reason=f"task is {task.state}"), ()
    finished = finished or timezone.now()
    if state == TaskState.SUCCEEDED:
        result = {"lease_id": lease_id, "outputs": outputs, "started": started, "finished": finished}
        applied, released, _ = task_outcomes.tasks_succeed(runner_id=runner.pk, results=[result])
        if applied:
            task_outcomes.run_finish_if_done(run_id=task.run_id)
        outcome = task_outcomes.Outcome(applied=bool(applied), state=TaskState.SUCCEEDED, released=released)
    elif state == TaskState.FAILED:
        outcome = task_outcomes.task_fail(task=task, error=error or "failed", started=started, finished=finished)
    else:
        outcome = task_outcomes.task_cancelled(task=task, error=error, started=started, finished=finished)
    if not outcome.applied:
        return ResultAnswer(str(lease_id), accepted=False, reason="lease is not current"), ()
    return ResultAnswer(str(lease_id), accepted=True, state=outcome.state), outcome.released


def results_report(
    *, runner: Runner, results: list[dict], lease: dict | None = None
) -> tuple[list[ResultAnswer], list[dict]]:
    """Each result fenced by its lease. Successes are completed together in one transaction; the
    rest one by one. `next`: the successors they released, leased to this runner at once (chain
    affinity), as many as results were accepted; with `lease` ({max_tasks, executors}) it is
    topped up with other queued tasks, so a runner needs one call per task instead of two."""
    successes = [result for result in results if result["state"] == TaskState.SUCCEEDED]
    applied, released, run_ids = (
        task_outcomes.tasks_succeed(runner_id=runner.pk, results=successes) if successes else (set(), (), [])
    )
    released = list(released)
    answers = []
    for result in results:
        if result["state"] == TaskState.SUCCEEDED and result["lease_id"] in applied:
            applied.discard(result["lease_id"])  # a second copy in the same call is a resend
            answers.append(ResultAnswer(str(result["lease_id"]), accepted=True, state=TaskState.SUCCEEDED))
            continue
        answer, children = result_report(runner=runner, **result)
        answers.append(answer)
        released.extend(children)
    next_tasks = _claim_next(runner, answers=answers, released=released, lease=lease)
    # A run we just leased a task of is not done, and whoever ends that task asks again: only the
    # other runs need the question, asked after the completions committed (run_finish_if_done).
    for run_id in set(run_ids) - {task.run_id for task in next_tasks}:
        task_outcomes.run_finish_if_done(run_id=run_id)
    return answers, task_payloads(next_tasks)


def _claim_next(runner: Runner, *, answers: list[ResultAnswer], released: list[int], lease: dict | None) -> list[Task]:
    if runner.paused or runner.shutdown_requested:
        return []
    if lease is not None:
        wanted, offered = lease["max_tasks"], lease["executors"]
    else:
        wanted = sum(1 for answer in answers if answer.accepted and not answer.duplicate)
        offered = runner.offered_executors or runner.executors
    next_tasks: list[Task] = []
    if released and wanted:
        next_tasks = _claim(runner, max_tasks=wanted, executors=offered, only=tuple(released))
    if lease is not None and len(next_tasks) < wanted:
        next_tasks += _claim(runner, max_tasks=wanted - len(next_tasks), executors=offered)
    return next_tasks


def lease_reap(*, limit: int = 1000) -> int:
    """Ends expired leases (also those that never sent a heartbeat). Safe to run twice at once:
    each outcome is conditional on the lease it read, so a lease is counted lost once."""
    now = timezone.now()
    expired = list(
        Task.objects.select_related("run").filter(state__in=HELD_TASK_STATES, expires_at__lt=now).order_by("expires_at")[
            :limit
        ]
    )
    reaped = 0
    for task in expired:
        if task_outcomes.task_lose(task=task, reason=f"lease {task.lease_id} expired").applied:
            reaped += 1
    # A server process that died between a result's commit and its run check leaves the run
    # "running" with every task final; this sweep finishes such runs.
    unfinished = Task.objects.filter(run=OuterRef("pk"), state__in=UNFINISHED_TASK_STATES)
    for run_id in Run.objects.filter(state=RunState.RUNNING).filter(~Exists(unfinished)).values_list("pk", flat=True)[:limit]:
        task_outcomes.run_finish_if_done(run_id=run_id)
    return reaped
