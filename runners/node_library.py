"""Runners' node libraries: what each runner reported it can execute (runner_client/nodeworks_runner/
library.py), kept per runner (RunnerLibrary), and read as the union over the runners serving a user:
for the web app's palette (GET /api/v1/nodes/library) and for publish's warning about node paths
none of those runners offers (through workflows/runner_facts.py).

A runner that never reported (an older runner) is simply unknown: it adds nothing and excludes nothing.
"""

import hashlib
import json
from functools import cache
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from nodeworks_server.errors import TooLarge
from runners.models import Runner, RunnerLibrary
from runners.scope import runners_serving

# The runner's built-in groups as its library module reports them (tests/hardening/test_node_library.py
# checks the copy): the palette's fallback when no runner that reported a library is online.
BUILTIN_LIBRARY_FILE = Path(__file__).resolve().parent / "builtin_node_library.json"


@cache
def builtin_nodes() -> tuple[dict, ...]:
    return tuple(json.loads(BUILTIN_LIBRARY_FILE.read_text()))


@transaction.atomic
def runner_library_report(*, runner: Runner, nodes: list[dict]) -> bool:
    """Stores the runner's library; False when it is the one already stored (nothing written but the time)."""
    unique, seen = [], set()
    for node in nodes:  # the first of a path wins, as in the runner's resolution order
        key = tuple(node["path"])
        if key not in seen:
            seen.add(key)
            unique.append(node)
    canonical = json.dumps(unique, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    if len(canonical) > settings.RUNNER_LIBRARY_MAX_BYTES:
        raise TooLarge(f"the node library is {len(canonical)} bytes; at most {settings.RUNNER_LIBRARY_MAX_BYTES} are kept")
    digest = hashlib.sha256(canonical).hexdigest()
    Runner.objects.select_for_update().filter(pk=runner.pk).values_list("pk").first()  # one report at a time
    now = timezone.now()
    if RunnerLibrary.objects.filter(runner=runner, digest=digest).update(reported=now):
        return False
    RunnerLibrary.objects.update_or_create(runner=runner, defaults={"nodes": unique, "digest": digest, "reported": now})
    return True


def _reported_libraries(owner_id: int) -> list[tuple[Runner, RunnerLibrary]]:
    runners = runners_serving(owner_id)
    libraries = RunnerLibrary.objects.filter(runner__in=runners).select_related("runner").order_by("runner__name", "runner_id")
    return [(library.runner, library) for library in libraries]


def node_library_for(*, user) -> dict:
    """The union of the libraries of the runners that serve this user; built-in groups as the fallback."""
    reported = _reported_libraries(user.pk)
    nodes: dict[tuple[str, ...], dict] = {}
    # Online runners first: where two runners describe one path differently, an online one's wins.
    for runner, library in sorted(reported, key=lambda pair: not pair[0].is_online):
        for node in library.nodes:
            key = tuple(node["path"])
            entry = nodes.get(key)
            if entry is None:
                entry = nodes[key] = {**_shown(node), "runners": [], "online": False}
            entry["runners"].append(runner.pk)
            entry["online"] = entry["online"] or runner.is_online
    any_online = any(runner.is_online for runner, _ in reported)
    if not any_online:
        for node in builtin_nodes():
            nodes.setdefault(tuple(node["path"]), {**_shown(node), "runners": [], "online": False})
    return {
        "source": "runners" if any_online else "builtin",
        "runners": [
            {"id": runner.pk, "name": runner.name, "online": runner.is_online, "reported": library.reported,
             "nodes": len(library.nodes)}
            for runner, library in reported
        ],
        "nodes": sorted(nodes.values(), key=lambda node: [part.lower() for part in node["path"]]),
    }


def _shown(node: dict) -> dict:
    path = list(node["path"])
    return {
        "path": path,
        "group": "/".join(path[:-1]),
        "name": path[-1],
        "source": node.get("source", ""),
        "doc": node.get("doc", ""),
        "terminals": node.get("terminals", []),
    }


def node_paths_offered(owner_id: int) -> tuple[frozenset[tuple[str, ...]], tuple[str, ...]] | None:
    """The paths the runners serving this owner reported, and those runners' names; None when none reported."""
    reported = _reported_libraries(owner_id)
    if not reported:
        return None
    paths = frozenset(tuple(node["path"]) for _, library in reported for node in library.nodes)
    return paths, tuple(runner.name for runner, _ in reported)
