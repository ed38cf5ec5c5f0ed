from django.db import transaction
from django.utils import timezone

from nodeworks_server.errors import Conflict
from workflows import git_store, runner_facts, selectors
from workflows.artifact_files import artifact_files_delete
from workflows.documents import REQUIREMENTS_FILE, WORKFLOW_FILE, Document, requirements_to_bytes
from workflows.lifecycle import runs_cancel
from workflows.models import Artifact, Revision, Workflow


class StaleRevision(Conflict):
    """The publish was based on a revision that is no longer the latest."""


def _author(user) -> tuple[str, str]:
    return user.get_full_name() or user.username, user.email or f"{user.username}@users.nodeworks.invalid"


@transaction.atomic
def workflow_publish(
    *,
    user,
    document: Document,
    message: str,
    name: str | None = None,
    requirements: dict | None = None,
    workflow: Workflow | None = None,
    base_revision: str | None = None,
) -> tuple[Workflow, Revision]:
    """Creates a workflow or a new revision of it: one git commit and one Revision row.

    The workflow row is locked around the commit, so concurrent publishes of one workflow
    queue up and each commits on top of the previous one; none is lost.
    """
    if workflow is None:
        if not name:
            raise ValueError("a new workflow needs a name")
        workflow = Workflow.objects.create(owner=user, name=name)
        previous_requirements = b"{}\n"
    else:
        workflow = Workflow.objects.select_for_update().get(pk=workflow.pk)
        if base_revision and base_revision != workflow.head_revision:
            raise StaleRevision(
                f"base_revision {base_revision} is not the latest revision {workflow.head_revision}; "
                "get the latest, merge your change and publish again"
            )
        previous_requirements = git_store.read_file(
            repo_key=str(workflow.repo_key), sha=workflow.head_revision, name=REQUIREMENTS_FILE
        )

    author_name, author_email = _author(user)
    sha = git_store.commit_files(
        repo_key=str(workflow.repo_key),
        files={
            WORKFLOW_FILE: document.content,
            REQUIREMENTS_FILE: previous_requirements if requirements is None else requirements_to_bytes(requirements),
        },
        message=message,
        author_name=author_name,
        author_email=author_email,
        parent=workflow.head_revision or None,
    )
    node_count = len(document.graph.nodes)
    workflow.head_revision = sha
    workflow.node_count = node_count
    workflow.updated = timezone.now()
    if name:
        workflow.name = name
    workflow.save(update_fields=["head_revision", "node_count", "updated", "name"])
    revision = Revision.objects.create(workflow=workflow, sha=sha, message=message, author=user, node_count=node_count)
    # A commit is its content: even if this transaction rolls back, the sha names this graph.
    selectors.graph_remember(workflow=workflow, sha=sha, graph=document.graph, size=len(document.content))
    return workflow, revision


@transaction.atomic
def workflow_delete(*, workflow: Workflow) -> None:
    repo_key = str(workflow.repo_key)
    # SPEC: runs are cancelled first. Their held leases then go with the rows, so each runner hears
    # "lost" at its next heartbeat and stops the process instead of computing for a deleted workflow.
    runs_cancel(runs=workflow.runs.all())
    artifact_ids = list(Artifact.objects.filter(task__run__workflow=workflow).values_list("pk", flat=True))
    workflow.delete()
    # Only once the rows are really gone: a rolled-back delete must keep its history and files.
    transaction.on_commit(lambda: git_store.delete_repo(repo_key=repo_key))
    transaction.on_commit(lambda: artifact_files_delete(artifact_ids))


MAX_PATH_WARNINGS = 50


def publish_warnings(*, owner_id: int, document: Document) -> list[str]:
    """Node paths none of the owner's runners offers: the workflow is published all the same (a runner
    may come later), but today such a node would fail when it runs. Only runners that reported their
    node library count; when none did, nothing is known and nothing is said."""
    offered = runner_facts.node_paths_offered(owner_id)
    if offered is None:
        return []
    paths, runner_names = offered
    missing = [
        (name, "/".join(node["path"]))
        for name, node in document.graph.nodes.items()
        if tuple(node["path"]) not in paths
    ]
    shown = ", ".join(runner_names[:10]) + (", ..." if len(runner_names) > 10 else "")
    warnings = [
        f"node '{name}' uses path '{path}' that none of your runners offers (runners that reported "
        f"their node library: {shown})"
        for name, path in missing[:MAX_PATH_WARNINGS]
    ]
    if len(missing) > MAX_PATH_WARNINGS:
        warnings.append(f"... and {len(missing) - MAX_PATH_WARNINGS} more nodes whose path none of your runners offers")
    return warnings
