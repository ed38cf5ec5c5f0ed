"""Results a runner reports: each fenced by its lease, successes completed together, then the run's end."""

import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import DataError, transaction
from django.db.models import Q
from django.utils import timezone

from nodeworks_server.storable_text import storable_free_text, unstorable_text
from workflows.lifecycle import outcomes, segments
from workflows.lifecycle.claim import RunnerScope, tasks_claim
from workflows.lifecycle.payloads import task_payloads
from workflows.lifecycle.run_end import run_finish_if_done
from workflows.models import HELD_TASK_STATES, Task, TaskState


@dataclass(frozen=True)
class ResultAnswer:
    lease_id: str
    accepted: bool
    state: str | None = None
    reason: str | None = None
    duplicate: bool = False
    # A refused item's own status, as if it had been sent alone: 409 (its lease is not current,
    # nothing changed) or 400 (the result itself is refused, and its task failed with the reason).
    status: int | None = None


STALE, REFUSED = 409, 400


def _result_refusal(result: dict) -> str | None:
    """Why a well-formed result cannot be stored as sent. Refused on its own, it fails only its task,
    so one bad value neither blocks the batch nor is resent for ever."""
    started, finished = result["started"], result["finished"]
    if started is not None and finished is not None and finished < started:
        return f"finished ({finished.isoformat()}) is before started ({started.isoformat()})"
    if result["state"] == TaskState.SUCCEEDED and result["outputs"]:  # only a success stores its outputs
        return unstorable_text(result["outputs"], "outputs")
    return None


def _result_apply_one(
    *, runner_id: int, lease_id: uuid.UUID, state: str, outputs: dict, error: str, started, finished,
    refusal: str | None = None, after: uuid.UUID | None = None,
) -> tuple[ResultAnswer, tuple[int, ...]]:
    """One result, answered on its own: failures, cancels, resends, stale leases and refusals."""
    task = (
        Task.objects.select_related("run")
        # A resent result may find its task re-queued (runner cleared) after a retry; the lease id,
        # a random UUID only its runner was given, is what identifies it.
        .filter(Q(lease_id=lease_id, runner_id=runner_id) | Q(finished_lease_id=lease_id))
        .first()
    )
    if task is None:
        return ResultAnswer(
            str(lease_id), accepted=False, reason="lease is not current (expired, re-queued or not yours)", status=STALE
        ), ()
    if task.finished_lease_id == lease_id:
        # Sent twice: the stored outcome, once.
        return ResultAnswer(str(lease_id), accepted=True, state=task.state, duplicate=True), ()
    if task.state not in HELD_TASK_STATES:
        return ResultAnswer(str(lease_id), accepted=False, reason=f"task is {task.state}", status=STALE), ()
    if task.pending_parents and state == TaskState.SUCCEEDED and refusal is None:
        # A chain link (segments.py) sent before its parent's success: nothing changed, and its lease
        # stays held, so the runner may send it again after the parent's.
        return ResultAnswer(
            str(lease_id), accepted=False, reason="its upstream task's success has not been reported yet", status=STALE
        ), ()
    if refusal is not None:
        # Ended as a failure (retried while retries remain, like any failure), so the run goes on.
        reported = f"\nthe runner's error: {error}" if error else ""  # a failure's own message is kept
        outcome = outcomes.task_fail(
            task=task, error=f"result refused: {refusal}{reported}", started=None, finished=timezone.now()
        )
        if not outcome.applied:
            return ResultAnswer(str(lease_id), accepted=False, reason="lease is not current", status=STALE), ()
        return ResultAnswer(
            str(lease_id), accepted=False, state=outcome.state, reason=f"result refused: {refusal}", status=REFUSED
        ), outcome.released
    finished = finished or timezone.now()
    if state == TaskState.SUCCEEDED:
        result = {"lease_id": lease_id, "outputs": outputs, "started": started, "finished": finished, "after": after}
        try:
            with transaction.atomic():
                applied, released, _ = outcomes.tasks_succeed(runner_id=runner_id, results=[result])
        except DataError:
            # The database refused a value the checks did not foresee: this item alone is refused.
            return _result_apply_one(
                runner_id=runner_id, lease_id=lease_id, state=state, outputs={}, error="", started=started,
                finished=finished, refusal="the database could not store its outputs",
            )
        if applied:
            run_finish_if_done(run_id=task.run_id)
        outcome = outcomes.Outcome(applied=bool(applied), state=TaskState.SUCCEEDED, released=released)
    elif state == TaskState.FAILED:
        outcome = outcomes.task_fail(task=task, error=error or "failed", started=started, finished=finished)
    else:
        outcome = outcomes.task_cancelled(task=task, error=error, started=started, finished=finished)
    if not outcome.applied:
        return ResultAnswer(str(lease_id), accepted=False, reason="lease is not current", status=STALE), ()
    return ResultAnswer(str(lease_id), accepted=True, state=outcome.state), outcome.released


def results_report(
    *, scope: RunnerScope, results: list[dict], lease: dict | None = None
) -> tuple[list[ResultAnswer], list[dict]]:
    """Each result fenced by its lease. Successes are completed together in one transaction; the
    rest one by one. `next`: the successors they released, leased to this runner at once (chain
    affinity), as many as results were accepted; with `lease` ({max_tasks, executors}) it is
    topped up with other queued tasks, so a runner needs one call per task instead of two."""
    refusals = {}
    for index, result in enumerate(results):
        if result["error"]:
            result["error"] = storable_free_text(result["error"])  # read by people: a NUL is shown, not refused
        refusal = _result_refusal(result)
        if refusal is not None:
            refusals[index] = refusal
    successes = [
        result for index, result in enumerate(results) if result["state"] == TaskState.SUCCEEDED and index not in refusals
    ]
    applied, released, run_ids = _succeed_together(scope, successes) if successes else (set(), (), [])
    released = list(released)
    answers = []
    for index, result in enumerate(results):
        if index not in refusals and result["state"] == TaskState.SUCCEEDED and result["lease_id"] in applied:
            applied.discard(result["lease_id"])  # a second copy in the same call is a resend
            answers.append(ResultAnswer(str(result["lease_id"]), accepted=True, state=TaskState.SUCCEEDED))
            continue
        answer, children = _result_apply_one(runner_id=scope.id, refusal=refusals.get(index), **result)
        answers.append(answer)
        released.extend(children)
    next_tasks = _claim_next(scope, answers=answers, released=released, lease=lease)
    links = _segments(scope, next_tasks, lease)
    # A run we just leased a task of is not done, and whoever ends that task asks again: only the
    # other runs need the question, asked after the completions committed (run_finish_if_done).
    for run_id in set(run_ids) - {task.run_id for task in next_tasks}:
        run_finish_if_done(run_id=run_id)
    payloads = task_payloads(next_tasks)
    if links:
        linked = zip(task_payloads(links), links, strict=True)
        payloads += [segments.segment_payload(payload, link) for payload, link in linked]
    return answers, payloads


def _segments(scope: RunnerScope, heads: list[Task], lease: dict | None) -> list[Task]:
    """The chain links below the tasks just leased, for a runner that asked for them (segments.py)."""
    limit = (lease or {}).get("segment_max") or 0
    # Only a task with one child can head a segment (child_count: None where the claim did not say).
    if limit < 1 or not any(getattr(task, "child_count", None) in (1, None) for task in heads):
        return []
    executors = [executor for executor in lease["executors"] if executor in scope.executors]
    now = timezone.now()
    return segments.segments_lease(
        runner_id=scope.id, tags=scope.tags, heads=heads, executors=executors, limit=limit, now=now,
        expires=now + timedelta(seconds=settings.LEASE_TTL_S),
    )


def _succeed_together(scope: RunnerScope, successes: list[dict]) -> tuple[set, tuple[int, ...], list[int]]:
    try:
        with transaction.atomic():
            return outcomes.tasks_succeed(runner_id=scope.id, results=successes)
    except DataError:
        # One value the checks did not foresee spoils the batch's one statement: each success is then
        # applied on its own (_result_apply_one), so only the bad one is refused.
        return set(), (), []


def _claim_next(scope: RunnerScope, *, answers: list[ResultAnswer], released: list[int], lease: dict | None) -> list[Task]:
    if not scope.accepting:
        return []
    if lease is not None:
        wanted, offered = lease["max_tasks"], lease["executors"]
    else:
        wanted = sum(1 for answer in answers if answer.accepted and not answer.duplicate)
        offered = list(scope.offered_executors or scope.executors)
    next_tasks: list[Task] = []
    if released and wanted:
        next_tasks = tasks_claim(scope, max_tasks=wanted, executors=offered, only=tuple(released))
    if lease is not None and len(next_tasks) < wanted:
        next_tasks += tasks_claim(scope, max_tasks=wanted - len(next_tasks), executors=offered)
    return next_tasks
