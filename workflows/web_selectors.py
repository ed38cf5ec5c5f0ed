"""Reads for the web app's pages: workflows with their latest revision and run, and the runs of a workflow.

Visibility is the rest of the API's: workflows.selectors.workflow_list / workflow_get decide who sees what.
"""

from collections import defaultdict

from django.db.models import Count, F, FilteredRelation, OuterRef, Q, QuerySet, Subquery

from workflows import selectors
from workflows.models import Run, Task, TaskLog, Workflow


def workflow_list_with_activity(*, user) -> list[Workflow]:
    """The caller's workflows, each with `latest_revision` and `last_run` (or None), in two queries
    whatever the number of workflows: one for the workflows joined to their head revision, one for
    the last runs."""
    last_run = Run.objects.filter(workflow=OuterRef("pk")).order_by("-created", "-id").values("pk")[:1]
    workflows = list(
        selectors.workflow_list(user=user)
        .annotate(
            head=FilteredRelation("revisions", condition=Q(revisions__sha=F("head_revision"))),
            head_sha=F("head__sha"),
            head_message=F("head__message"),
            head_time=F("head__created"),
            head_author_username=F("head__author__username"),
            head_author_first_name=F("head__author__first_name"),
            head_author_last_name=F("head__author__last_name"),
            last_run_id=Subquery(last_run),
        )
    )
    run_ids = [workflow.last_run_id for workflow in workflows if workflow.last_run_id is not None]
    runs = Run.objects.only("id", "state", "created", "started", "finished").in_bulk(run_ids) if run_ids else {}
    for workflow in workflows:
        workflow.latest_revision = _latest_revision(workflow)
        workflow.last_run = runs.get(workflow.last_run_id)
    return workflows


def _latest_revision(workflow: Workflow) -> dict | None:
    if workflow.head_sha is None:
        return None
    # The git author's name as publishing writes it (workflows/services/publishing.py).
    full_name = f"{workflow.head_author_first_name or ''} {workflow.head_author_last_name or ''}".strip()
    return {
        "sha": workflow.head_sha,
        "message": workflow.head_message,
        "author": full_name or workflow.head_author_username,
        "time": workflow.head_time,
    }


def workflow_runs(*, workflow: Workflow) -> QuerySet[Run]:
    """Newest first, with who started each (one join)."""
    return Run.objects.filter(workflow=workflow).select_related("created_by").order_by("-created", "-id")


def run_state_counts(*, run_ids: list[int]) -> dict[int, dict[str, int]]:
    """{run id: {task state: tasks}} for a page of runs, in one grouped query."""
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    rows = Task.objects.filter(run_id__in=run_ids).order_by().values_list("run_id", "state").annotate(n=Count("id"))
    for run_id, state, n in rows:
        counts[run_id][state] = n
    return counts


TRUNCATED_MARK = "[log truncated: the rest of this attempt was not stored]\n"


def task_log_text(*, logs: list[TaskLog]) -> bytes:
    """Every attempt's log as one text that only ever grows, so a reader may follow it by byte offset.

    Unlike the plain log answer, nothing already sent changes later: no "(truncated)" in a header
    written before the truncation, no newline added after a line still being written. A line break
    goes before the next attempt's header only, and that attempt begins after the last one ended.
    """
    text = []
    for log in logs:
        if text and not text[-1].endswith("\n"):
            text.append("\n")
        text.append(f"----- attempt {log.attempt} -----\n")
        if log.data:
            text.append(log.data)
        if log.truncated:
            # Set in the update that stored the last kept bytes: the attempt's data grows no more.
            text.append(("" if not log.data or log.data.endswith("\n") else "\n") + TRUNCATED_MARK)
    return "".join(text).encode("utf-8")
