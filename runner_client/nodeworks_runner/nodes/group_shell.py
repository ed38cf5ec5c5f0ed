"""``shell`` group: run a program."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

from nodeworks_runner.executors.parent_death import dies_with_this_process
from nodeworks_runner.nodes import NodeContext, NodeFailure, builtin

OUTPUT_LIMIT = 1024 * 1024  # characters of stdout/stderr kept as output values (the log keeps all)
PGID_FILE = ".pgids"


def register_process_group(workdir, pgid: int) -> None:
    """Records a child process group so that whoever cancels the task can kill it even if we die."""
    with open(os.path.join(str(workdir), PGID_FILE), "a", encoding="ascii") as handle:
        handle.write("%d\n" % pgid)


def registered_process_groups(workdir) -> list:
    try:
        with open(os.path.join(str(workdir), PGID_FILE), encoding="ascii") as handle:
            return [int(line) for line in handle if line.strip().isdigit()]
    except OSError:
        return []


def kill_process_group(pgid: int, sig) -> bool:
    try:
        os.killpg(pgid, sig)
        return True
    except (ProcessLookupError, PermissionError):
        return False


def group_alive(pgid: int) -> bool:
    """Whether any process of the group still runs (zombies, which only wait to be reaped, do not count)."""
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    if not os.path.isdir("/proc/self"):
        return True
    try:
        entries = os.listdir("/proc")
    except OSError:
        return True
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry, "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        # "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses; split after the last ")".
        fields = stat[stat.rfind(b")") + 2:].split()
        if len(fields) > 2 and int(fields[2]) == pgid and fields[0] not in (b"Z", b"X"):
            return True
    return False


def stop_process_group(pgid: int, grace_s: float) -> None:
    """SIGTERM to the group, then SIGKILL after ``grace_s`` if anything in it is still alive."""
    if not kill_process_group(pgid, signal.SIGTERM):
        return
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        if not group_alive(pgid):
            return
        time.sleep(0.02)
    kill_process_group(pgid, signal.SIGKILL)


def _pump(stream, sink, kept: list) -> None:
    size = 0
    for raw in iter(lambda: stream.read1(65536) if hasattr(stream, "read1") else stream.read(65536), b""):
        text = raw.decode("utf-8", errors="replace")
        try:
            sink.write(text)
            sink.flush()
        except (OSError, ValueError):
            pass
        if size < OUTPUT_LIMIT:
            kept.append(text[: OUTPUT_LIMIT - size])
            size += len(text)
    stream.close()


@builtin("shell", "Command")
def command_node(ctx: NodeContext) -> dict:
    """Command: runs ``command`` and returns its ``stdout``, ``stderr`` and ``returncode``.

    ``command`` is an argument list (run as is, no shell) or a string (run by ``/bin/sh -c``, the
    workflow author's own shell line). The program runs in the task's work directory, in its own
    process group, so cancelling the task stops every process it started (SIGTERM, then SIGKILL
    after the grace period). Its output is streamed to the task log as it comes and kept (up to 1 MB
    each) as output values. A non-zero exit fails the task unless the optional input ``check`` is
    false; the outputs are then still returned.
    """
    command = ctx.inputs.get("command")
    if isinstance(command, (list, tuple)) and len(command) == 1 and isinstance(command[0], (list, tuple)):
        command = command[0]  # a multiinput list of one argv
    if isinstance(command, str):
        if not command.strip():
            raise NodeFailure("input 'command' is empty")
        argv = ["/bin/sh", "-c", command]
    elif isinstance(command, (list, tuple)) and command:
        argv = [str(part) for part in command]
    else:
        raise NodeFailure("input 'command' must be an argument list or a string, got %r" % (command,))
    check = ctx.inputs.get("check", True)
    check = True if check is None else (str(check).lower() not in ("false", "0", "no", "off"))
    grace_s = float(os.environ.get("NODEWORKS_CANCEL_GRACE_S", "5") or 5)
    from nodeworks_runner.execute import cancel_deferred

    print("$ %s" % " ".join(argv), flush=True)
    process = None
    out, err = [], []
    pumps = []
    try:
        with cancel_deferred():  # a cancel now waits until the group is recorded, then stops it
            try:
                process = subprocess.Popen(
                    argv, cwd=str(ctx.workdir), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE, start_new_session=True, close_fds=True,
                    preexec_fn=dies_with_this_process(signal.SIGKILL),  # never outlives its node process
                )
            except OSError as exc:
                raise NodeFailure("cannot start %r: %s" % (argv[0], exc)) from None
            register_process_group(ctx.workdir, process.pid)
            pumps = [
                threading.Thread(target=_pump, args=(process.stdout, sys.stdout, out), daemon=True),
                threading.Thread(target=_pump, args=(process.stderr, sys.stderr, err), daemon=True),
            ]
            for pump in pumps:
                pump.start()
        returncode = process.wait()
    except BaseException:
        # Cancelled (SIGTERM turned into an exception) or interrupted: stop the whole group.
        if process is not None:
            stop_process_group(process.pid, grace_s)
            try:
                process.wait(timeout=grace_s + 1)
            except Exception:  # noqa: S110 (already stopping on another error, re-raised below)
                pass
        raise
    finally:
        for pump in pumps:
            pump.join(timeout=5)
    # The command's children may outlive it in its group; they are part of the node: stop them.
    if group_alive(process.pid):
        stop_process_group(process.pid, min(grace_s, 1.0))
    outputs = {"stdout": "".join(out), "stderr": "".join(err), "returncode": returncode}
    if returncode != 0 and check:
        raise NodeFailure("command exited with status %d" % returncode, outputs)
    return outputs
