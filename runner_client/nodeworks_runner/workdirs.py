"""Where a task's work directory is, and removing it once the server has its result."""

from __future__ import annotations

import shutil
from pathlib import Path

from nodeworks_runner.config import RunnerConfig
from nodeworks_runner.slots import TaskRun


def safe_name(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in str(text))


def workdir_for(config: RunnerConfig, run: TaskRun) -> Path:
    """One folder per attempt, under the shared dir for SLURM jobs (their node must see it)."""
    base = config.shared_dir if run.executor_name == "slurm" else config.work_dir
    node = (run.task.get("node") or {}).get("uniquename") or "node"
    return Path(base) / ("run-%s" % run.task.get("run_id")) / (
        "%s-t%s-a%s-%s" % (safe_name(node)[:60], run.task.get("task_id"), run.task.get("attempt"), run.lease_id[:8]))


def clean_workdir(config: RunnerConfig, workdir) -> None:
    """Removes it unless --keep-workdirs; only ever inside the runner's own work folders."""
    if not workdir or config.keep_workdirs:
        return
    path = Path(workdir)
    try:
        inside = Path(config.work_dir) in path.parents or Path(config.shared_dir) in path.parents
        if inside and path.is_dir():
            shutil.rmtree(str(path), ignore_errors=True)
    except OSError:
        pass
