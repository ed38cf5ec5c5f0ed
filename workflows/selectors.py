import json
import re
import sys

from django.db.models import QuerySet

from nodeworks_server.errors import InvalidInput, NotFound
from workflows import git_store
from workflows.documents import REQUIREMENTS_FILE, WORKFLOW_FILE
from workflows.models import Workflow
from workflows.nodeworks_format import Graph, Limits, parse_workflow

REVISION_RE = re.compile(r"[0-9a-fA-F]{7,40}")


def workflow_list(*, user) -> QuerySet[Workflow]:
    workflows = Workflow.objects.select_related("owner")
    return workflows if user.is_staff else workflows.filter(owner=user)


def workflow_get(*, user, workflow_id: int) -> Workflow:
    """Another user's workflow is indistinguishable from a missing one (404)."""
    workflow = workflow_list(user=user).filter(pk=workflow_id).first()
    if workflow is None:
        raise NotFound(f"workflow {workflow_id} not found")
    return workflow


def revision_resolve(*, workflow: Workflow, revision: str | None) -> str:
    """The full sha of `revision` (latest when None), only if it is one of this workflow's revisions."""
    if not revision:
        return workflow.head_revision
    if not REVISION_RE.fullmatch(revision):
        raise InvalidInput(f"{revision[:50]!r} is not a revision: 7 to 40 hex digits", field="revision")
    revision = revision.lower()
    matches = list(workflow.revisions.filter(sha__startswith=revision).values_list("sha", flat=True)[:2])
    if len(matches) != 1:
        reason = "is ambiguous" if len(matches) > 1 else "does not exist"
        raise NotFound(f"revision {revision!r} of workflow {workflow.pk} {reason}")
    return matches[0]


def workflow_file(*, workflow: Workflow, sha: str) -> bytes:
    return git_store.read_file(repo_key=str(workflow.repo_key), sha=sha, name=WORKFLOW_FILE)


def workflow_requirements(*, workflow: Workflow, sha: str) -> dict:
    return json.loads(git_store.read_file(repo_key=str(workflow.repo_key), sha=sha, name=REQUIREMENTS_FILE))


def workflow_graph(*, workflow: Workflow, sha: str) -> Graph:
    # Stored files were validated on publish; limits are not re-applied to our own data.
    unlimited = Limits(max_nodes=sys.maxsize, max_depth=sys.maxsize)
    return parse_workflow(json.loads(workflow_file(workflow=workflow, sha=sha)), limits=unlimited, depth_checked=True)


def workflow_history(*, workflow: Workflow, limit: int) -> list[git_store.RevisionInfo]:
    return git_store.history(repo_key=str(workflow.repo_key), head=workflow.head_revision, limit=limit)
