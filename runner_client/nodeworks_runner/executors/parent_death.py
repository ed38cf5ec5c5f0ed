"""Task processes die with their runner (Linux): a runner killed with ``kill -9`` leaves nothing running.

A result nobody will report is work the server runs again elsewhere, so a task left running would
have its side effects twice. The kernel sends a process a signal when the thread that started it
exits (``prctl(PR_SET_PDEATHSIG)``, kept across ``exec``), asked for between fork and exec:

* the node processes of the ``shell`` executor and the warm workers of the ``local`` one get
  SIGTERM, which cancels the running node as a cancel from the server does (the commands it started
  are stopped: SIGTERM to their process groups, SIGKILL after the grace period); a node process
  whose runner is gone is killed outright if it is still there after the grace period;
* the commands a ``shell/Command`` node starts get SIGKILL when their node process dies;
* the ``container`` executor's ``podman run``/``docker run`` gets SIGTERM, which the engine's signal
  proxy passes to the container (started with ``--rm``: it is removed once stopped).

SLURM jobs are the exception: they do not run under the runner, and a restarted runner re-adopts
them. Elsewhere than Linux this does nothing.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from typing import Callable, Optional

PR_SET_PDEATHSIG = 1


def _load_prctl():
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


_PRCTL = _load_prctl()


def dies_with_this_process(sig: int = signal.SIGKILL) -> Optional[Callable[[], None]]:
    """A ``preexec_fn`` for ``subprocess.Popen``: the child gets ``sig`` when this process (thread) exits.

    None where the kernel offers nothing of the kind. The function runs in the child between fork
    and exec, so it only calls what was looked up before the fork: no import, no lock.
    """
    if _PRCTL is None:
        return None
    prctl, number, parent = _PRCTL, int(sig), os.getpid()

    def ask_the_kernel() -> None:
        prctl(PR_SET_PDEATHSIG, number, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before we asked: nobody would tell us
            os._exit(1)

    return ask_the_kernel


class LastResort:
    """In a node process: once its runner is gone, SIGKILL after the grace period whatever the node does."""

    parent = 0

    @classmethod
    def remember_parent(cls) -> None:
        cls.parent = os.getppid()

    @classmethod
    def arm_if_orphaned(cls) -> None:
        """Called on SIGTERM: when it came because the runner died, the process ends after the grace period."""
        if not cls.parent or os.getppid() == cls.parent or not hasattr(signal, "alarm"):
            return
        try:
            grace_s = float(os.environ.get("NODEWORKS_CANCEL_GRACE_S") or 5)
        except ValueError:
            grace_s = 5.0
        signal.signal(signal.SIGALRM, signal.SIG_DFL)  # the default action of SIGALRM ends the process
        signal.alarm(int(grace_s) + 2)
