"""Built-in nodes that run in the runner process itself: no warm-worker hand-off, no work directory.

A ``types/*`` node emits its saved value and a ``math/*`` node adds a few numbers: handing such a
node to a warm worker (a pipe round trip each way, the log file redirected, a work directory made
and removed, a journal entry written and removed) cost a hundred times the node itself (issue 12).
They are pure functions of their inputs that the runner package ships itself, so they run where the
loop is, under the same rules as in a worker (``execute.run_task``).

Only when nothing else could apply: the task asks for the ``local`` executor and no other Python
environment, none of its inputs is an artifact to download, and no plug-in folder overrides the
node (a site's own ``types/Integer`` runs in a worker like any plug-in). A work directory is made
only if an output must be spilled to a file (an ndarray over ``--inline-limit``).
"""

from __future__ import annotations

import contextlib
import io
import threading
import time
from typing import List, Optional, Tuple

from nodeworks_runner import values
from nodeworks_runner.executors.base import Handle, TaskResult

# Pure, quick and shipped with the runner: nothing here reads files, starts processes or imports
# anything heavy (numpy only when a value is already an array).
INLINE_GROUPS = ("types", "math")

# Node output printed by a node (print, ctx.log) goes to its task's log, not to the runner's stderr;
# redirecting sys.stdout is process-wide, so one inline node runs at a time.
_redirect_lock = threading.Lock()


def runs_inline(task: dict, *, offered: List[str], node_path: List[str]) -> bool:
    """Whether this task may run in the runner process (see the module's docstring)."""
    requirements = task.get("requirements") or {}
    if (requirements.get("executor") or "local") != "local" or "local" not in offered:
        return False
    if requirements.get("environment") or requirements.get("env"):
        return False
    path = tuple(str(part) for part in ((task.get("node") or {}).get("path") or []))
    if len(path) != 2 or path[0] not in INLINE_GROUPS:
        return False
    if any(True for _ in values.artifact_references(task.get("inputs") or {})):
        return False
    from nodeworks_runner.nodes import plugins

    return plugins.lookup(path, list(node_path)) is None


class InlineHandle(Handle):
    """A task that ended before its handle was made."""

    def __init__(self, result: TaskResult, log_text: str, finished_at: str):
        self._result = result
        self._log = log_text
        self.finished_at = finished_at
        self.ended_monotonic = time.monotonic()

    def poll(self) -> Optional[TaskResult]:
        return self._result

    def read_log(self) -> str:
        text, self._log = self._log, ""
        return text

    def cancel(self, grace_s: float) -> None:
        """Nothing to stop: it has ended."""

    def info(self) -> dict:
        return {"inline": True}


def run_inline(task: dict, workdir, *, inline_limit: int) -> Tuple[TaskResult, str]:
    """The task's result and what it printed."""
    from nodeworks_runner.execute import run_task

    printed = io.StringIO()
    with _redirect_lock, contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
        result = run_task(task, workdir, inline_limit=inline_limit)
    return result, printed.getvalue()
