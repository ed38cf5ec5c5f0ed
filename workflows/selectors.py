import json
import re
import threading
from collections import OrderedDict

from django.db.models import QuerySet

from nodeworks_server.errors import InvalidInput, NotFound
from workflows import git_store
from workflows.dag import Plan
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


class _RevisionCache:
    """What was last derived in this process from revisions, by (repo, sha): a revision never changes,
    so executing or planning what was just published does not read and parse the file again. Bounded
    by a weight per entry; an entry heavier than the whole bound is not kept. Entries are shared:
    whoever gets one must not change it (run_prepare copies the nodes it overrides)."""

    def __init__(self, max_weight: int):
        self.max_weight = max_weight
        self._lock = threading.Lock()
        self._entries: OrderedDict[tuple[str, str], tuple[object, int]] = OrderedDict()
        self._weight = 0

    def get(self, key: tuple[str, str]):
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                return None
            self._entries.move_to_end(key)
            return found[0]

    def put(self, key: tuple[str, str], value, weight: int) -> None:
        with self._lock:
            if key in self._entries:
                self._weight -= self._entries.pop(key)[1]
            if weight > self.max_weight:
                return
            self._entries[key] = (value, weight)
            self._weight += weight
            while self._weight > self.max_weight:
                self._weight -= self._entries.popitem(last=False)[1][1]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._weight = 0


# Graphs weighed by their stored file's size: their objects take 2.5-5 times that (a 5,000-node file of
# 20 MB is 50 MB of objects; 100,000 nodes, 49 MB of file, are not kept: 220 MB).
graph_cache = _RevisionCache(max_weight=24 * 1024 * 1024)
# Plans weighed by their nodes: ~150 bytes each (a list entry twice, a dict entry, a float, the name).
plan_cache = _RevisionCache(max_weight=200_000)


def graph_remember(*, workflow: Workflow, sha: str, graph: Graph, size: int) -> None:
    """A revision just published, validated as `graph` (planned) from a stored file of `size` bytes."""
    key = (str(workflow.repo_key), sha)
    graph_cache.put(key, graph, size)
    plan_cache.put(key, graph.plan(), len(graph.nodes))


def workflow_graph(*, workflow: Workflow, sha: str) -> Graph:
    key = (str(workflow.repo_key), sha)
    graph = graph_cache.get(key)
    if graph is None:
        graph, size = graph_from_stored(lambda: workflow_file(workflow=workflow, sha=sha))
        graph_cache.put(key, graph, size)
    return graph


def workflow_plan(*, workflow: Workflow, sha: str) -> Plan:
    """The plan of a revision: kept apart from its graph, whose objects may be too many to keep (GET plan
    of 100,000 nodes right after their publish: 0.02 s instead of reading and splitting 49 MB, 1.3 s)."""
    key = (str(workflow.repo_key), sha)
    plan = plan_cache.get(key)
    if plan is None:
        plan = workflow_graph(workflow=workflow, sha=sha).plan()
        plan_cache.put(key, plan, len(plan.order))
    return plan


def workflow_history(*, workflow: Workflow, limit: int) -> list[git_store.RevisionInfo]:
    return git_store.history(repo_key=str(workflow.repo_key), head=workflow.head_revision, limit=limit)
