"""What this app may know of runners, without importing the runners app: a read-only port.

"Why is this task waiting?" needs the runners that may take an owner's tasks and whether they are
online, paused or busy. The runners app owns those facts and fills this port in its
AppConfig.ready() (runners/apps.py); the arrow stays runners → workflows.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class RunnerFacts:
    name: str
    tags: tuple[str, ...]
    executors: tuple[str, ...]
    online: bool  # seen within the online window
    accepting: bool  # neither paused nor draining
    # When it last called (estimates count an idle runner in its long-poll as there); None: unknown.
    last_seen: datetime | None = None


# owner id → (every node path the runners serving that owner reported, those runners' names), or
# None when none of them reported a node library (older runners): publish's unknown-path warning.
NodePathsOffered = Callable[[int], tuple[frozenset[tuple[str, ...]], tuple[str, ...]] | None]

_serving_owner: Callable[[int], list[RunnerFacts]] | None = None
_node_paths: NodePathsOffered | None = None


def provide(serving_owner: Callable[[int], list[RunnerFacts]], node_paths: NodePathsOffered | None = None) -> None:
    """The runners app hands in its readers: owner id → the runners that may take that owner's tasks,
    and owner id → the node paths those runners offer."""
    global _serving_owner, _node_paths
    _serving_owner = serving_owner
    _node_paths = node_paths


def runners_serving(owner_id: int) -> list[RunnerFacts]:
    if _serving_owner is None:
        raise RuntimeError("no runner facts provided: is the runners app installed?")
    return _serving_owner(owner_id)


def node_paths_offered(owner_id: int) -> tuple[frozenset[tuple[str, ...]], tuple[str, ...]] | None:
    return None if _node_paths is None else _node_paths(owner_id)
