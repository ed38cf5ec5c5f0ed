"""Reads for runs and their tasks: the status payload, why a task waits, logs, artifacts, the queue.

Visibility follows SPEC.md: users see their own runs, tasks, logs and artifacts, admins all; anything
else is a 404, indistinguishable from a missing object.
"""

import json
import uuid
from collections import defaultdict
from datetime import datetime

from django.db.models import Count, Min, Q, QuerySet
from django.db.models.fields.json import KT
from django.utils import timezone

from nodeworks_server.errors import NotFound
from workflows import estimates, runner_facts, selectors
from workflows.lifecycle import tags_fit
from workflows.models import HELD_TASK_STATES, Artifact, Run, RunState, Task, TaskDependency, TaskLog, TaskState, Workflow

# ---------------------------------------------------------------- visibility


def run_list(*, user) -> QuerySet[Run]:
    runs = Run.objects.select_related("workflow", "created_by")
    return runs if user.is_staff else runs.filter(workflow__owner=user)


def run_get(*, user, run_id: int, workflow: Workflow | None = None) -> Run:
    runs = run_list(user=user)
    if workflow is not None:
        runs = runs.filter(workflow=workflow)
    run = runs.filter(pk=run_id).first()
    if run is None:
        raise NotFound(f"run {run_id} not found" + (f" for workflow {workflow.pk}" if workflow is not None else ""))
    return run


def run_latest(*, workflow: Workflow) -> Run:
    run = Run.objects.select_related("workflow", "created_by").filter(workflow=workflow).order_by("-created", "-id").first()
    if run is None:
        raise NotFound(f"workflow {workflow.pk} has no run yet")
    return run


def task_list(*, user) -> QuerySet[Task]:
    # Task.owner is the workflow's owner, denormalised: no join needed to filter on it.
    return Task.objects.all() if user.is_staff else Task.objects.filter(owner=user)


def task_get(*, user, task_id: int) -> Task:
    task = task_list(user=user).select_related("run").filter(pk=task_id).first()
    if task is None:
        raise NotFound(f"task {task_id} not found")
    return task


def task_by_node(*, user, run_id: int, node: str) -> Task:
    run = run_get(user=user, run_id=run_id)
    task = Task.objects.filter(run=run, node=node).select_related("run").first()
    if task is None:
        raise NotFound(f"run {run_id} has no node {node!r}")
    return task


def task_logs(*, task: Task) -> list[TaskLog]:
    return list(TaskLog.objects.filter(task=task).order_by("attempt"))


def artifact_get(*, user, artifact_id: uuid.UUID) -> Artifact:
    artifacts = Artifact.objects.select_related("task__run", "runner")
    if not user.is_staff:
        artifacts = artifacts.filter(owner=user)
    artifact = artifacts.filter(pk=artifact_id).first()
    if artifact is None:
        raise NotFound(f"artifact {artifact_id} not found")
    return artifact


def artifact_provenance(*, artifact: Artifact) -> dict:
    task, run = artifact.task, artifact.task.run
    return {
        "id": str(artifact.id),
        "name": artifact.name,
        "sha256": artifact.sha256,
        "size": artifact.size,
        "content_type": artifact.content_type,
        "created": artifact.created,
        "task_id": task.pk,
        "node": task.node,
        "path": task.path,
        "attempt": artifact.attempt,
        "run_id": run.pk,
        "workflow_id": run.workflow_id,
        "revision": run.revision,
        "runner": artifact.runner.name if artifact.runner else None,
        "runner_id": artifact.runner_id,
    }


# ---------------------------------------------------------------- why is it waiting?


def _names(runners: list[runner_facts.RunnerFacts], limit: int = 5) -> str:
    names = ", ".join(runner.name for runner in runners[:limit])
    return names + (f" and {len(runners) - limit} more" if len(runners) > limit else "")


def _runner_wait(*, tags: list[str], executor: str, runners: list[runner_facts.RunnerFacts]) -> dict:
    with_tags = [runner for runner in runners if tags_fit(tags, runner.tags)]
    fitting = [runner for runner in with_tags if executor in runner.executors]
    if not fitting:
        wanted = f"tags [{', '.join(tags)}] and executor {executor!r}" if tags else f"executor {executor!r}"
        detail = f"no runner you may use has {wanted}"
        if with_tags:
            detail += f" ({len(with_tags)} with the tags lack the executor: {_names(with_tags)})"
        return {"reason": "no_runner", "detail": detail}
    online = [runner for runner in fitting if runner.online]
    if not online:
        return {"reason": "runners_offline", "detail": f"every fitting runner is offline: {_names(fitting)}"}
    active = [runner for runner in online if runner.accepting]
    if not active:
        return {"reason": "runners_paused", "detail": f"every fitting runner online is paused or draining: {_names(online)}"}
    return {"reason": "runners_busy", "detail": f"{len(active)} fitting runner(s) online and busy: {_names(active)}"}


def _waiting(
    task: Task, *, now: datetime, parents: dict[int, list[str]], runners: list[runner_facts.RunnerFacts] | None
) -> dict | None:
    if task.state == TaskState.PENDING:
        names = sorted(parents.get(task.pk, []))
        return {"reason": "parents", "detail": "waiting for parent nodes: " + ", ".join(names)}
    if task.state != TaskState.QUEUED:
        return None
    if task.not_before is not None and task.not_before > now:
        return {
            "reason": "retry_backoff",
            "detail": f"attempt {task.attempt} starts after {task.not_before.isoformat()} (failure {task.failures} backs off)",
        }
    return _runner_wait(tags=task.tagset.tags, executor=task.executor, runners=runners or [])


# ---------------------------------------------------------------- status payload


def run_summary(run: Run) -> dict:
    return {
        "id": run.pk,
        "state": run.state,
        "revision": run.revision,
        "created": run.created,
        "started": run.started,
        "finished": run.finished,
        "estimated_finish": None,
        "created_by": run.created_by.username if run.created_by is not None else None,
    }


def run_status(*, run: Run) -> dict:
    """SPEC.md "Status payload", in a fixed number of queries however many nodes the run has.

    Plain dicts, not serializers: a 100,000-node run would spend seconds in DRF fields.
    """
    tasks = list(
        Task.objects.filter(run=run)
        .select_related("runner", "tagset")
        .defer("node_data", "input_sources")
        # The node's display name ("Float") without loading the whole node object.
        .annotate(display_name=KT("node_data__name"))
        .order_by("id")
    )
    # Filtered by run, not `task_id IN (...)`: no parameter list that grows with the run.
    artifacts = defaultdict(list)
    for task_id, attempt, artifact_id, name, sha256 in (
        Artifact.objects.filter(task__run=run).order_by("created").values_list("task_id", "attempt", "id", "name", "sha256")
    ):
        artifacts[(task_id, attempt)].append({"id": str(artifact_id), "name": name, "sha256": sha256})

    # Reused tasks show the producer's artifacts (their provenance names the producer) and where they came from.
    producers = {}
    if any(task.reused_from is not None for task in tasks):
        reused_ids = Task.objects.filter(run=run, reused_from__isnull=False).values("reused_from")
        producers = {
            pk: (run_id, attempt)
            for pk, run_id, attempt in Task.objects.filter(pk__in=reused_ids).values_list("pk", "run_id", "attempt")
        }
        for task_id, attempt, artifact_id, name, sha256 in (
            Artifact.objects.filter(task_id__in=reused_ids).order_by("created").values_list(
                "task_id", "attempt", "id", "name", "sha256"
            )
        ):
            artifacts[(task_id, attempt)].append({"id": str(artifact_id), "name": name, "sha256": sha256})

    parents: dict[int, list[str]] = defaultdict(list)
    if any(task.state == TaskState.PENDING for task in tasks):
        unfinished = (
            TaskDependency.objects.filter(run=run, child__state=TaskState.PENDING)
            .exclude(parent__state=TaskState.SUCCEEDED)
            .values_list("child_id", "parent__node")
        )
        for child_id, parent_node in unfinished:
            parents[child_id].append(parent_node)
    runners = None
    if run.state == RunState.RUNNING and tasks:  # the waiting reasons and the live estimate
        runners = runner_facts.runners_serving(tasks[0].owner_id)

    now = timezone.now()
    estimate = estimates.run_estimate(run=run, tasks=tasks, runners=runners, now=now)
    nodes = {}
    for task in tasks:
        producer = producers.get(task.reused_from) if task.reused_from is not None else None
        at = estimate.nodes.get(task.node) if estimate is not None else None
        nodes[task.node] = {
            "task_id": task.pk,
            "name": task.display_name,
            "path": task.path,
            "state": task.state,
            "attempt": task.attempt,
            "runner": task.runner.name if task.runner else None,
            "started": task.started,
            "finished": task.finished,
            "outputs": task.outputs,
            "artifacts": (
                artifacts.get((task.reused_from, producer[1]), []) if producer else artifacts.get((task.pk, task.attempt), [])
            ),
            "waiting": _waiting(task, now=now, parents=parents, runners=runners),
            "error": task.error or None,
            # Additive keys (the payload is a contract: nothing above is renamed or removed).
            "reused_from": {"task_id": task.reused_from, "run": producer[0] if producer else None}
            if task.reused_from is not None else None,
            "estimated_start": at.start if at is not None else None,
            "estimated_finish": at.finish if at is not None else None,
        }
    summary = run_summary(run)
    if estimate is not None:
        summary["estimated_finish"] = estimate.finish
    return {"run": summary, "nodes": nodes}


# ---------------------------------------------------------------- the sheet after a run


def _set_override(document: dict, key: str, value) -> None:
    # "node.terminal" where node names may hold dots; run_create accepted exactly one reading of it.
    for cut, char in enumerate(key):
        node = document.get(key[:cut]) if char == "." else None
        if isinstance(node, dict) and node.get("type") == "Node" and key[cut + 1 :] in node.get("terminals", {}):
            node["terminals"][key[cut + 1 :]]["value"] = value
            return


def run_sheet(*, run: Run) -> dict:
    """The run's revision with its input overrides and computed outputs in the terminals' values,
    as Nodeworks saves a sheet after running it. Key order is the file's: only values change."""
    document = json.loads(selectors.workflow_file(workflow=run.workflow, sha=run.revision))
    for key, value in (run.input_overrides or {}).items():
        _set_override(document, key, value)
    for node_name, outputs in Task.objects.filter(run=run, outputs__isnull=False).values_list("node", "outputs"):
        terminals = (document.get(node_name) or {}).get("terminals") or {}
        for terminal_name, value in (outputs or {}).items():
            terminal = terminals.get(terminal_name)
            if isinstance(terminal, dict) and not (terminal.get("opts") or {}).get("in", False):
                terminal["value"] = value
    return document


# ---------------------------------------------------------------- queue


def queue_status(*, user) -> dict:
    """Queued and held tasks grouped by required tags and executor, in one grouped query."""
    queued, leased, running = (Q(state=state) for state in (TaskState.QUEUED, TaskState.LEASED, TaskState.RUNNING))
    rows = (
        task_list(user=user)
        .filter(state__in=[TaskState.QUEUED, *HELD_TASK_STATES])
        .order_by()
        .values("tagset__key", "executor")
        .annotate(
            queued=Count("id", filter=queued),
            leased=Count("id", filter=leased),
            running=Count("id", filter=running),
            oldest_queued=Min("queued_at", filter=queued),
        )
        .order_by("tagset__key", "executor")
    )
    groups = [
        {
            "tags": row["tagset__key"].split(",") if row["tagset__key"] else [],
            "executor": row["executor"],
            "queued": row["queued"],
            "leased": row["leased"],
            "running": row["running"],
            "oldest_queued": row["oldest_queued"],
        }
        for row in rows
    ]
    totals = {state: sum(group[state] for group in groups) for state in ("queued", "leased", "running")}
    return {"groups": groups, "totals": totals}
