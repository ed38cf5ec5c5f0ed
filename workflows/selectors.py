import json
import re
import threading
from collections import OrderedDict

from django.db.models import QuerySet

from nodeworks_server.errors import InvalidInput, NotFound
from workflows import git_store
from workflows.documents import REQUIREMENTS_FILE, WORKFLOW_FILE, graph_from_stored
from workflows.models import Workflow
from workflows.nodeworks_format import Graph

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


class _GraphCache:
    """The parsed graphs of the revisions last published or read in this process, by (repo, sha): a
    revision never changes, so executing or planning what was just published does not read and parse
    the file again (0.7 s of a 5,000-node execute). Bounded by the stored files' size (their objects
    take 2.5-5 times that); a file larger than the whole bound is not kept. The graphs are shared:
    whoever gets one must not change it (run_prepare copies the nodes it overrides)."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._graphs: OrderedDict[tuple[str, str], tuple[Graph, int]] = OrderedDict()
        self._bytes = 0

    def get(self, key: tuple[str, str]) -> Graph | None:
        with self._lock:
            found = self._graphs.get(key)
            if found is None:
                return None
            self._graphs.move_to_end(key)
            return found[0]

    def put(self, key: tuple[str, str], graph: Graph, size: int) -> None:
        with self._lock:
            if key in self._graphs:
                self._bytes -= self._graphs.pop(key)[1]
            if size > self.max_bytes:
                return
            self._graphs[key] = (graph, size)
            self._bytes += size
            while self._bytes > self.max_bytes:
                self._bytes -= self._graphs.popitem(last=False)[1][1]

    def clear(self) -> None:
        with self._lock:
            self._graphs.clear()
            self._bytes = 0


graph_cache = _GraphCache(max_bytes=24 * 1024 * 1024)


def graph_remember(*, workflow: Workflow, sha: str, graph: Graph, size: int) -> None:
    """A revision just published, validated as `graph` from a stored file of `size` bytes."""
    graph_cache.put((str(workflow.repo_key), sha), graph, size)


def workflow_graph(*, workflow: Workflow, sha: str) -> Graph:
    key = (str(workflow.repo_key), sha)
    graph = graph_cache.get(key)
    if graph is None:
        graph, size = graph_from_stored(lambda: workflow_file(workflow=workflow, sha=sha))
        graph_cache.put(key, graph, size)
    return graph


def workflow_history(*, workflow: Workflow, limit: int) -> list[git_store.RevisionInfo]:
    return git_store.history(repo_key=str(workflow.repo_key), head=workflow.head_revision, limit=limit)
