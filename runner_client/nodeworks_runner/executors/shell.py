"""The ``shell`` executor: a fresh interpreter per task, in its own process group."""

from __future__ import annotations

import os
import pathlib
import signal
import subprocess

from nodeworks_runner.executors.base import Executor, Handle
from nodeworks_runner.executors.parent_death import dies_with_this_process
from nodeworks_runner.executors.process import (
    ENTRY_MODULE,
    ProcessHandle,
    child_environment,
    entry_argv,
    python_is_ours,
    write_task_file,
)


class ShellExecutor(Executor):
    """Runs ``python -m nodeworks_runner.execute task.json result.json`` as a child process.

    The interpreter is the node's ``requirements.environment`` (an interpreter path, a virtualenv
    folder, or a conda environment name run through ``conda run -n``), else ``--python``. The
    child starts a new session (its own process group, out of reach of the terminal's Ctrl-C);
    cancel sends SIGTERM to the group and to the groups of commands the node started, then SIGKILL
    after the grace period; so does the runner's death (see parent_death.py). stdout and stderr go
    to ``log.txt`` in the task's work directory.
    """

    name = "shell"

    def start(self, task: dict, workdir: pathlib.Path) -> Handle:
        workdir = pathlib.Path(workdir)
        task_file = write_task_file(self.config, task, workdir)
        result_file = workdir / "result.json"
        log_file = workdir / "log.txt"
        environment = (task.get("requirements") or {}).get("environment")
        prefix = entry_argv(self.config, environment)
        ours = len(prefix) == 1 and python_is_ours(prefix[0])
        argv = prefix + ["-m", ENTRY_MODULE, str(task_file), str(result_file)]
        with open(str(log_file), "ab") as log:
            process = subprocess.Popen(
                argv,
                cwd=str(workdir),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=child_environment(self.config, task, ours),
                start_new_session=True,
                close_fds=True,
                preexec_fn=dies_with_this_process(signal.SIGTERM),  # a killed runner cancels it (parent_death.py)
            )
        return ProcessHandle(process, workdir, log_path=log_file, result_path=result_file,
                             label="the node process (%s)" % os.path.basename(argv[0]))
