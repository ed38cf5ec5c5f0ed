"""The node-execution entry point, the same for every executor.

    python -m nodeworks_runner.execute TASK_JSON RESULT_JSON

``TASK_JSON`` is the lease payload (``node``, ``inputs``, ``requirements``, ...) plus
``node_path`` (plug-in folders), and optionally ``runner_name``, ``workdir`` and ``inline_limit``
(bytes: larger ndarray outputs become artifacts). Artifact inputs
(``{"$nw": "artifact", "id": ...}``) carry a ``path`` once the runner has downloaded them.
``RESULT_JSON`` receives ``{"state", "outputs", "error", "artifacts": [[name, path], ...]}``.
The node's stdout and stderr are its log. SIGTERM cancels the node (the result is ``cancelled``).
Exit status: 0 when a result file was written (whatever the task's state), 2 on bad usage.

The local executor's warm workers call :func:`run_task` directly, in-process.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import traceback
from pathlib import Path
from typing import Optional

from nodeworks_runner.executors.base import CANCELLED, FAILED, SUCCEEDED, TaskResult
from nodeworks_runner.executors.parent_death import LastResort


class TaskCancelled(BaseException):
    """Raised inside the node when the task is cancelled (SIGTERM)."""


class _Cancel:
    armed = False  # a node is running: SIGTERM cancels it (else SIGTERM is ignored)
    deferred = 0  # inside cancel_deferred(): remember the signal, raise on leaving
    pending = False


def _on_sigterm(signum, frame):
    LastResort.arm_if_orphaned()  # the runner died (parent_death.py): the node gets the grace period, no more
    if not _Cancel.armed:
        return
    if _Cancel.deferred:
        _Cancel.pending = True
        return
    _Cancel.armed = False  # raise once
    raise TaskCancelled("cancelled by signal %d" % signum)


def install_cancel_handler() -> None:
    LastResort.remember_parent()
    signal.signal(signal.SIGTERM, _on_sigterm)


def arm_cancel(armed: bool) -> None:
    """SIGTERM raises TaskCancelled in the node while armed; it is ignored otherwise (an idle worker)."""
    _Cancel.armed = armed
    if not armed:
        _Cancel.pending = False


@contextlib.contextmanager
def cancel_deferred():
    """A section a cancel must not cut in two (e.g. starting a child and recording its process group):
    a SIGTERM arriving inside raises TaskCancelled when the section ends."""
    _Cancel.deferred += 1
    try:
        yield
    finally:
        _Cancel.deferred -= 1
        if not _Cancel.deferred and _Cancel.pending and _Cancel.armed:
            _Cancel.pending = False
            _Cancel.armed = False
            raise TaskCancelled("cancelled by signal %d" % signal.SIGTERM)


def task_label(task: dict) -> str:
    node = task.get("node") or {}
    return "%s (%s)" % (node.get("uniquename") or node.get("name") or "?", "/".join(map(str, node.get("path") or [])))


def run_task(task: dict, workdir, *, inline_limit: Optional[int] = None) -> TaskResult:
    """Resolves the node by path, runs it on the decoded inputs and encodes its outputs."""
    from nodeworks_runner import values
    from nodeworks_runner.compat import ensure_nodeworks_importable
    from nodeworks_runner.nodes import NodeContext, NodeFailure, UnknownNode, resolve

    workdir = Path(workdir)
    node = task.get("node") or {}
    runner_name = str(task.get("runner_name") or "")
    ctx = None
    spilled = []

    def spill(array) -> dict:
        import numpy

        name = "%s-%d.npy" % (node.get("uniquename") or "value", len(spilled))
        path = workdir / name
        workdir.mkdir(parents=True, exist_ok=True)  # an inline node (executors/inline.py) has none until now
        numpy.save(str(path), array, allow_pickle=False)
        spilled.append((name, str(path)))
        return {"$nw": "artifact", "path": str(path), "name": name, "kind": "ndarray"}

    def encode_outputs(outputs) -> dict:
        limit = inline_limit if inline_limit is not None else int(task.get("inline_limit") or
                                                                   values.DEFAULT_INLINE_LIMIT)
        return {str(k): values.encode(v, spill=spill, inline_limit=limit) for k, v in (outputs or {}).items()}

    try:
        ensure_nodeworks_importable()
        implementation = resolve(node.get("path"), node_path=list(task.get("node_path") or []),
                                 runner_name=runner_name)
        inputs = {name: values.decode(value) for name, value in (task.get("inputs") or {}).items()}
        ctx = NodeContext(node, inputs, workdir, env=(task.get("requirements") or {}).get("env"),
                          runner_name=runner_name)
        outputs = implementation(ctx)
        if outputs is not None and not isinstance(outputs, dict):
            raise NodeFailure("node implementation returned %s, not a dict of outputs" % type(outputs).__name__)
        encoded = encode_outputs(outputs)
        return TaskResult(SUCCEEDED, encoded, "", list(ctx.artifacts) + spilled)
    except TaskCancelled as exc:
        print("task cancelled: %s" % exc, file=sys.stderr, flush=True)
        return TaskResult(CANCELLED, {}, str(exc), [])
    except UnknownNode as exc:
        print(str(exc), file=sys.stderr, flush=True)
        return TaskResult(FAILED, {}, str(exc), [])
    except NodeFailure as exc:
        print("node %s failed: %s" % (task_label(task), exc), file=sys.stderr, flush=True)
        try:
            encoded = encode_outputs(exc.outputs)
        except Exception:
            encoded = {}
        return TaskResult(FAILED, encoded, str(exc), list(ctx.artifacts if ctx else []) + spilled)
    except KeyboardInterrupt:
        return TaskResult(CANCELLED, {}, "interrupted", [])
    except Exception as exc:
        text = traceback.format_exc()
        print(text, file=sys.stderr, flush=True)
        return TaskResult(FAILED, {}, "%s: %s\n%s" % (type(exc).__name__, exc, text[-4000:]), [])


def write_result(result: TaskResult, path) -> None:
    """Atomic: the file appears complete or not at all (executors and SLURM jobs watch for it)."""
    path = str(path)
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(result.to_json(), handle, allow_nan=False)
    os.replace(tmp, path)


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if len(argv) != 2:
        print("usage: python -m nodeworks_runner.execute TASK_JSON RESULT_JSON", file=sys.stderr)
        return 2
    task_path, result_path = argv
    install_cancel_handler()
    try:
        with open(task_path, encoding="utf-8") as handle:
            task = json.load(handle)
    except (OSError, ValueError) as exc:
        write_result(TaskResult(FAILED, {}, "cannot read task file %s: %s" % (task_path, exc)), result_path)
        return 0
    workdir = Path(task.get("workdir") or os.path.dirname(os.path.abspath(result_path)))
    workdir.mkdir(parents=True, exist_ok=True)
    arm_cancel(True)
    try:
        result = run_task(task, workdir)
    except TaskCancelled as exc:  # arrived between the node and the return
        result = TaskResult(CANCELLED, {}, str(exc), [])
    finally:
        arm_cancel(False)  # the result is written whatever comes now
    sys.stdout.flush()
    sys.stderr.flush()
    write_result(result, result_path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
