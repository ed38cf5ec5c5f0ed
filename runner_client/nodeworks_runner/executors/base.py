"""The executor interface: every executor (local, shell, container, slurm) implements it.

An executor starts one task (a lease payload) and hands back a :class:`Handle`; the runner loop
polls handles, forwards their log text, relays heartbeat info and cancels them when the server
says so. Every executor runs the same node-execution entry point (``nodeworks_runner.execute``),
in a different place.
"""

from __future__ import annotations

import abc
import pathlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, List, Optional

if TYPE_CHECKING:  # pragma: no cover
    from nodeworks_runner.config import RunnerConfig

SUCCEEDED = "succeeded"
FAILED = "failed"
CANCELLED = "cancelled"
FINAL_STATES = (SUCCEEDED, FAILED, CANCELLED)


def _nothing() -> None:
    pass


class NoCapacity(RuntimeError):
    """Raised by ``Executor.start`` when it cannot take a task now (e.g. ``slurm_max_jobs`` reached).

    Nothing was started; the loop keeps the task (its lease is heartbeated) and tries again later.
    """


@dataclass
class TaskResult:
    """What an executor hands back when a task ends.

    ``outputs`` are wire-encoded values (JSON-ready). ``artifacts`` lists ``(name, local file path)``
    pairs to upload; the loop uploads them and replaces ``{"$nw": "artifact", "path": ...}``
    placeholders in ``outputs`` by ``{"$nw": "artifact", "id": ...}``.
    """

    state: str  # "succeeded" | "failed" | "cancelled"
    outputs: dict = field(default_factory=dict)
    error: str = ""
    artifacts: list = field(default_factory=list)

    def to_json(self) -> dict:
        return {
            "state": self.state,
            "outputs": self.outputs,
            "error": self.error,
            "artifacts": [[str(name), str(path)] for name, path in self.artifacts],
        }

    @classmethod
    def from_json(cls, data: dict) -> "TaskResult":
        state = data.get("state")
        if state not in FINAL_STATES:
            return cls(FAILED, {}, "result file has no valid state: %r" % (state,))
        return cls(
            state=state,
            outputs=dict(data.get("outputs") or {}),
            error=str(data.get("error") or ""),
            artifacts=[(str(name), str(path)) for name, path in (data.get("artifacts") or [])],
        )

    @classmethod
    def read(cls, path, *, missing_error: str = "") -> "TaskResult":
        """Reads a result.json written by ``nodeworks_runner.execute``; a missing/broken file is a failure."""
        import json

        try:
            with open(str(path), encoding="utf-8") as handle:
                return cls.from_json(json.load(handle))
        except FileNotFoundError:
            return cls(FAILED, {}, missing_error or "the node process wrote no result file (%s)" % path)
        except (OSError, ValueError, TypeError, AttributeError) as exc:
            return cls(FAILED, {}, "unreadable result file %s: %s" % (path, exc))


class Handle(abc.ABC):
    """One running task.

    ``task`` is the lease payload the handle runs. The loop sets it for handles returned by
    ``Executor.start``; ``Executor.adopt`` must set it on the handles it returns (it knows the lease
    payload from the state it saved when the task started).
    """

    task = None  # type: Optional[dict]
    # When the task ended (ISO 8601, UTC), for handles that know it better than "when the loop noticed":
    # a chain link starts the moment its parent ends, before the loop collects either.
    finished_at = ""
    ended_monotonic = 0.0  # the same moment on the monotonic clock (run times for the prefetch)

    @abc.abstractmethod
    def poll(self) -> Optional[TaskResult]:
        """Non-blocking: None while the task runs, else its result (the same one on every later call)."""

    @abc.abstractmethod
    def read_log(self) -> str:
        """New log text since the last call ("" if none)."""

    @abc.abstractmethod
    def cancel(self, grace_s: float) -> None:
        """Stops the task (SIGTERM → SIGKILL after grace; scancel; container stop).

        Must not block for long; ``poll()`` then returns a ``cancelled`` result once it is stopped.
        """

    @abc.abstractmethod
    def info(self) -> dict:
        """For heartbeats: ``{"pid": ...}`` or ``{"slurm_job_id": ...}`` (JSON-ready)."""


class Executor(abc.ABC):
    name = ""

    def __init__(self, config: "RunnerConfig"):
        self.config = config
        # Called (from any thread) when a task ends, so the loop collects it at once instead of at its
        # next tick; the runner sets it. Executors that only learn by polling need not call it.
        self.on_finished: Callable[[], None] = _nothing

    @abc.abstractmethod
    def start(self, task: dict, workdir: pathlib.Path) -> Handle:
        """Starts a task (``task`` = the lease payload) in its own, already created, work directory."""

    def close(self) -> None:  # noqa: B027 (an optional hook: most executors hold nothing)
        """Releases the executor's resources (worker pools, ...)."""

    def adopt(self, state_dir) -> List[Handle]:
        """Handles of tasks still running from before a restart (slurm re-adopts its jobs).

        Called once at start-up, before the first lease; each handle's ``task`` must be set.
        """
        return []
