"""The slurm executor for real: a live server, real `nodeworks-runner` processes, a real one-node SLURM cluster.

Needs the cluster started by ``scripts/ci/setup-slurm.sh`` (partition ``debug``). Without it the
tests skip, with the reason; under ``CI=true`` they fail instead: CI must not pass without them.
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import subprocess
import time
import uuid

import pytest

from tests.runner.conftest import node, task_log, wait_task_state

PARTITION = os.environ.get("NODEWORKS_TEST_SLURM_PARTITION", "debug")

pytestmark = pytest.mark.slow


def _not_available(reason: str):
    if os.environ.get("CI") == "true":
        pytest.fail(f"SLURM executor tests cannot run under CI: {reason} (run scripts/ci/setup-slurm.sh)")
    pytest.skip(f"{reason} (run scripts/ci/setup-slurm.sh)")


@pytest.fixture(scope="module")
def slurm():
    for command in ("sbatch", "squeue", "scancel", "sinfo"):
        if not shutil.which(command):
            _not_available(f"{command} is not installed")
    done = subprocess.run(["sinfo", "--noheader", "--partition", PARTITION, "--format=%t"], capture_output=True,
                          text=True, timeout=30)
    states = done.stdout.split()
    if done.returncode != 0 or not any(s in ("idle", "mix", "alloc", "comp") for s in states):
        _not_available(f"no usable SLURM node in partition {PARTITION!r}: {states} {done.stderr.strip()[-300:]}")
    return PARTITION


@pytest.fixture
def slurm_runner(slurm, start_runner):
    def start(name: str, **kwargs):
        extra = [f"--slurm-partition={slurm}", "--slurm-poll=0.5", "--slurm-max-jobs=4", *kwargs.pop("extra", [])]
        return start_runner(name, executors=("slurm",), extra_args=extra, **kwargs)

    return start


def _terminal(value=None, *, out=False):
    return {"value": value, "flipped": False, "opts": {"in": not out, "out": out, "showlabel": True}}


def command_workflow(command, requirements: dict | None = None, name: str = "task") -> dict:
    return {
        name: {
            "type": "Node", "name": name, "uniquename": name, "pos": [0, 0], "path": ["shell", "Command"],
            "terminals": {
                "command": _terminal(command),
                "stdout": _terminal(out=True), "stderr": _terminal(out=True), "returncode": _terminal(out=True),
            },
            "tunnel": False, "forcerun": False, "hidden": False, "customState": None, "layer": 0,
            "requirements": {"executor": "slurm", **(requirements or {})},
        }
    }


def squeue_jobs(name_part: str = "") -> list[str]:
    """Ids of the jobs squeue lists (pending, running, completing): those of our runners' lease names."""
    done = subprocess.run(["squeue", "--noheader", "--format=%i|%j|%T"], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    jobs = []
    for line in done.stdout.splitlines():
        job_id, job_name, _state = line.strip().split("|")
        if job_name.startswith("nodeworks-") and name_part in job_name:
            jobs.append(job_id)
    return jobs


def wait_for(predicate, timeout: float, message: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    pytest.fail(message)


def job_id_in_log(api, run_id) -> str:
    found = re.findall(r"SLURM_JOB_ID=(\d+)", task_log(api, run_id))
    return found[-1] if found else ""


def test_node_runs_as_a_slurm_job(slurm_runner, publish_and_execute, wait_run, user_api):
    slurm_runner("r-slurm")
    workflow = command_workflow("echo job=$SLURM_JOB_ID partition=$SLURM_JOB_PARTITION",
                                {"cpus": 1, "memory_mb": 100, "walltime_s": 300})
    workflow_id, run_id = publish_and_execute(workflow)
    status = wait_run(workflow_id, run_id=run_id, timeout=120)
    assert status["run"]["state"] == "succeeded", status
    stdout = node(status, "task")["outputs"]["stdout"]
    match = re.fullmatch(r"job=(\d+) partition=(\S+)\n", stdout)
    assert match, stdout
    assert match.group(2) == PARTITION
    log = task_log(user_api, run_id)
    assert f"SLURM_JOB_ID={match.group(1)}" in log  # the job script's first line
    assert f"submitted SLURM job {match.group(1)}" in log


def test_at_most_slurm_max_jobs_in_flight(slurm, start_runner, publish_and_execute, wait_run):
    """Three independent nodes, a runner that could run three at once, but slurm_max_jobs=1: one job at a time."""
    runner = start_runner("r-slurm-max", executors=("slurm",), concurrency=3,
                 extra_args=[f"--slurm-partition={slurm}", "--slurm-poll=0.5", "--slurm-max-jobs=1"])
    workflow = {}
    for name in ("a", "b", "c"):
        workflow.update(command_workflow("date +%s.%N; sleep 1; date +%s.%N", name=name))
    workflow_id, run_id = publish_and_execute(workflow)
    status = wait_run(workflow_id, run_id=run_id, timeout=120)
    assert status["run"]["state"] == "succeeded", status
    spans = sorted(tuple(map(float, node(status, n)["outputs"]["stdout"].split())) for n in ("a", "b", "c"))
    for (_, end), (begin, _) in itertools.pairwise(spans):
        assert begin >= end, f"two SLURM jobs ran at once: {spans}"
    assert "is full" in runner.log()  # start() said NoCapacity and the loop kept the tasks


def test_cancel_scancels_the_job(slurm_runner, publish_and_execute, wait_run, user_api):
    slurm_runner("r-slurm-cancel")
    marker = uuid.uuid4().hex
    workflow_id, run_id = publish_and_execute(command_workflow(f"echo started {marker}; sleep 300"))
    wait_for(lambda: marker in task_log(user_api, run_id), 90, "the job did not start")
    job_id = job_id_in_log(user_api, run_id)
    assert job_id and job_id in squeue_jobs()
    user_api.post(f"/api/v1/workflow/cancel/{workflow_id}", {})
    status = wait_task_state(user_api, workflow_id, run_id, "cancelled")
    assert status["run"]["state"] == "cancelled"
    wait_for(lambda: job_id not in squeue_jobs(), 60, f"job {job_id} is still in squeue after cancel")


def test_restarted_runner_readopts_its_job(slurm_runner, publish_and_execute, wait_run, user_api):
    """The runner dies while its job runs; restarted at once, it watches the same job and reports its result."""
    runner = slurm_runner("r-slurm-adopt")
    marker = uuid.uuid4().hex
    workflow_id, run_id = publish_and_execute(command_workflow(f"echo started {marker}; sleep 4; echo finished"))
    wait_for(lambda: marker in task_log(user_api, run_id), 90, "the job did not start")
    job_id = job_id_in_log(user_api, run_id)
    runner.kill9()
    runner.restart()
    status = wait_run(workflow_id, run_id=run_id, timeout=120)
    assert status["run"]["state"] == "succeeded", status
    task = node(status, "task")
    assert task["outputs"]["stdout"].endswith("finished\n")
    if task["attempt"] == 1:  # the restarted runner got in before the (2 s) lease expired: the same job
        assert "re-adopted" in runner.log()
        assert job_id_in_log(user_api, run_id) == job_id
    wait_for(lambda: not squeue_jobs(), 60, "jobs left in squeue")


def test_lost_lease_of_an_adopted_job_is_scancelled(slurm_runner, publish_and_execute, wait_run, user_api):
    """The runner dies; its lease expires and the task is re-queued; the restarted runner scancels the old job."""
    runner = slurm_runner("r-slurm-lost")
    marker = uuid.uuid4().hex
    workflow_id, run_id = publish_and_execute(command_workflow(f"echo started {marker}; sleep 300"))
    wait_for(lambda: marker in task_log(user_api, run_id), 90, "the job did not start")
    first_job = job_id_in_log(user_api, run_id)
    runner.kill9()
    time.sleep(4)  # the lease (2 s in these tests) expires; the reaper re-queues the task
    runner.restart()
    wait_for(lambda: first_job not in squeue_jobs(), 60, f"the orphaned job {first_job} was not scancelled")
    assert "re-adopted" in runner.log()
    user_api.post(f"/api/v1/workflow/cancel/{workflow_id}", {})
    status = wait_run(workflow_id, run_id=run_id, timeout=60)
    assert status["run"]["state"] == "cancelled"
    wait_for(lambda: not squeue_jobs(), 60, "jobs left in squeue after cancel")
