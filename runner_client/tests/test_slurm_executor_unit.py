"""Unit tests of the slurm executor with fake ``sbatch``/``squeue``/``scancel`` (no SLURM needed).

The fake tools keep a job table in a folder: ``sbatch`` records its argv and environment, gives the
next job id and runs the job script locally in the background (with ``SLURM_JOB_ID`` set, in
``--chdir``, output to ``--output``); ``squeue`` answers from the table (RUNNING while the job's
process lives, then COMPLETED / CANCELLED) and logs every call; ``scancel`` kills the job. The real
cluster is tested in tests/runner/test_slurm_executor.py.
"""

from __future__ import annotations

import json
import os
import stat
import sys
import time
from pathlib import Path

import pytest
from fake_server import make_task

from nodeworks_runner.executors.base import CANCELLED, FAILED, SUCCEEDED
from nodeworks_runner.executors.slurm import (
    NoCapacity,
    SlurmError,
    SlurmExecutor,
    SqueuePoller,
    format_walltime,
)

FAKE_SLURM = r'''#!PYTHON
import json, os, signal, subprocess, sys, time
root = os.environ["FAKE_SLURM_DIR"]
tool = os.path.basename(sys.argv[0])
table_path = os.path.join(root, "jobs.json")

def load():
    try:
        with open(table_path) as handle:
            return json.load(handle)
    except FileNotFoundError:
        return {}

def save(table):
    with open(table_path + ".tmp", "w") as handle:
        json.dump(table, handle)
    os.replace(table_path + ".tmp", table_path)

def alive(pid):
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    try:  # a zombie is not alive
        with open("/proc/%d/stat" % pid) as handle:
            return handle.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False

with open(os.path.join(root, "calls.jsonl"), "a") as handle:
    handle.write(json.dumps([tool] + sys.argv[1:]) + "\n")

if tool == "sbatch":
    refuse = os.environ.get("FAKE_SBATCH_REFUSE")
    if refuse:
        print("sbatch: error: " + refuse, file=sys.stderr)
        sys.exit(1)
    args = sys.argv[1:]
    options = {}
    while args and args[0].startswith("-"):
        key, _, value = args.pop(0).partition("=")
        options[key] = value
    table = load()
    job_id = str(len(table) + 1)
    with open(os.path.join(root, "env-%s.json" % job_id), "w") as handle:
        json.dump(dict(os.environ), handle)
    output = options["--output"].replace("%j", job_id)
    env = dict(os.environ, SLURM_JOB_ID=job_id, SLURM_JOB_PARTITION=options.get("--partition", "debug"))
    with open(output, "ab") as out:
        process = subprocess.Popen(["/bin/sh"] + args, cwd=options["--chdir"], stdout=out, stderr=subprocess.STDOUT,
                                   env=env, start_new_session=True)
    table[job_id] = {"pid": process.pid, "options": options, "state": "RUNNING"}
    save(table)
    print(job_id)
elif tool == "squeue":
    table = load()
    wanted = name = None
    for arg in sys.argv[1:]:
        if arg.startswith("--jobs="):
            wanted = arg.split("=", 1)[1].split(",")
        if arg.startswith("--name="):
            name = arg.split("=", 1)[1]
    lines = []
    for job_id, job in table.items():
        if wanted is not None and job_id not in wanted:
            continue
        if name is not None and job["options"].get("--job-name") != name:
            continue
        if name is not None:
            lines.append(job_id)
            continue
        if job["state"] == "RUNNING" and not alive(job["pid"]):
            job["state"] = "COMPLETED"
        if job.get("forgotten"):
            continue
        lines.append("%s|%s|None" % (job_id, job["state"]))
    save(table)
    if wanted is not None and not lines:
        print("slurm_load_jobs error: Invalid job id specified", file=sys.stderr)
        sys.exit(1)
    print("\n".join(lines))
elif tool == "scancel":
    table = load()
    for job_id in sys.argv[1:]:
        job = table.get(job_id)
        if job:
            try:
                os.killpg(job["pid"], signal.SIGTERM)
            except OSError:
                pass
            job["state"] = "CANCELLED"
    save(table)
'''


@pytest.fixture
def slurm(tmp_path, monkeypatch):
    """Fake sbatch/squeue/scancel first on PATH; returns their folder (jobs.json, calls.jsonl, env-N.json)."""
    root = tmp_path / "fake-slurm"
    bin_dir = root / "bin"
    bin_dir.mkdir(parents=True)
    for tool in ("sbatch", "squeue", "scancel"):
        path = bin_dir / tool
        path.write_text(FAKE_SLURM.replace("PYTHON", sys.executable, 1))
        path.chmod(path.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", str(bin_dir) + os.pathsep + os.environ["PATH"])
    monkeypatch.setenv("FAKE_SLURM_DIR", str(root))
    monkeypatch.setenv("NODEWORKS_RUNNER_TOKEN", "nwr_secret_must_not_reach_jobs")
    yield root
    with SqueuePoller._instance_lock:
        if SqueuePoller._instance is not None:
            SqueuePoller._instance.stop()
        SqueuePoller._instance = None
    table = root / "jobs.json"
    if table.exists():
        import signal

        for job in json.loads(table.read_text()).values():
            try:
                os.killpg(job["pid"], signal.SIGKILL)
            except OSError:
                pass


def calls(root: Path, tool: str) -> list:
    path = root / "calls.jsonl"
    if not path.exists():
        return []
    return [c for c in (json.loads(line) for line in path.read_text().splitlines()) if c[0] == tool]


@pytest.fixture
def sconfig(config):
    config.executors = ["slurm"]
    config.slurm_partition = "debug"
    config.slurm_account = "proj42"
    config.slurm_qos = "short"
    config.slurm_extra_args = ["--constraint=haswell", "--exclusive"]
    config.slurm_max_jobs = 2
    config.slurm_poll_s = 0.2
    config.shared_dir = config.work_dir
    return config


def command_task(command, **requirements):
    node = {"name": "cmd", "uniquename": "cmd", "path": ["shell", "Command"], "terminals": {}}
    return make_task(3, node, {"command": command}, executor="slurm", **requirements)


def workdir_for(config, task) -> Path:
    path = Path(config.shared_dir) / task["lease_id"]
    path.mkdir(parents=True)
    return path


def wait(handle, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = handle.poll()
        if result is not None:
            return result
        time.sleep(0.05)
    raise AssertionError("the job did not finish")


def test_format_walltime():
    assert format_walltime(1) == "0-00:01:00"
    assert format_walltime(3661.2) == "0-01:01:02"
    assert format_walltime(2 * 86400 + 5) == "2-00:00:05"


def test_sbatch_arguments_and_job_output(sconfig, slurm):
    task = command_task("echo job=$SLURM_JOB_ID", cpus=2, memory_mb=1000, gpus=1, walltime_s=90,
                        env={"SBATCH_PARTITION": "gpu-hog", "SLURM_ACCOUNT": "stolen", "PLAIN": "yes"})
    executor = SlurmExecutor(sconfig)
    workdir = workdir_for(sconfig, task)
    handle = executor.start(task, workdir)
    result = wait(handle)
    assert result.state == SUCCEEDED, result
    assert result.outputs["stdout"] == "job=1\n"
    assert handle.info() == {"slurm_job_id": "1"}
    argv = calls(slurm, "sbatch")[0]
    for expected in ("--parsable", "--partition=debug", "--account=proj42", "--qos=short", "--cpus-per-task=2",
                     "--mem=1000M", "--gres=gpu:1", "--time=0-00:01:30", "--constraint=haswell", "--exclusive",
                     f"--chdir={workdir}", f"--output={workdir}/slurm-%j.out"):
        assert expected in argv, (expected, argv)
    script = argv.index(str(workdir / "nodeworks-job.sh"))
    assert argv[script + 1:] == [sconfig.python, "-m", "nodeworks_runner.execute", str(workdir / "task.json"),
                                 str(workdir / "result.json")]
    env = json.loads((slurm / "env-1.json").read_text())
    assert env["PLAIN"] == "yes"
    assert "SBATCH_PARTITION" not in env and "SLURM_ACCOUNT" not in env  # a workflow cannot redirect the job
    assert "NODEWORKS_RUNNER_TOKEN" not in env
    log = handle.read_log()
    assert "submitted SLURM job 1" in log
    assert "SLURM_JOB_ID=1" in log
    assert "SLURM job 1 is over: succeeded" in log
    assert not list((Path(sconfig.state_dir) / "slurm").glob("*.json"))  # the record goes with the result


def test_conda_environment_runs_through_conda(sconfig, slurm):
    sconfig.conda_command = "/opt/conda/bin/conda"
    task = command_task("true", environment="nodeworks")
    executor = SlurmExecutor(sconfig)
    workdir = workdir_for(sconfig, task)
    executor.start(task, workdir)
    argv = calls(slurm, "sbatch")[0]
    script = argv.index(str(workdir / "nodeworks-job.sh"))
    assert argv[script + 1:script + 7] == ["/opt/conda/bin/conda", "run", "--no-capture-output", "-n", "nodeworks",
                                           "python"]
    env = json.loads((slurm / "env-1.json").read_text())
    assert "PYTHONPATH" in env  # the package is importable by the other interpreter


def test_at_most_max_jobs_in_flight(sconfig, slurm):
    executor = SlurmExecutor(sconfig)
    handles = []
    for _ in range(2):
        task = command_task("sleep 1")
        handles.append(executor.start(task, workdir_for(sconfig, task)))
    assert executor.free_slots() == 0
    extra = command_task("true")
    with pytest.raises(NoCapacity):
        executor.start(extra, workdir_for(sconfig, extra))
    assert len(calls(slurm, "sbatch")) == 2  # nothing was submitted
    for handle in handles:
        assert wait(handle).state == SUCCEEDED
    assert executor.free_slots() == 2
    assert wait(executor.start(extra, Path(sconfig.shared_dir) / extra["lease_id"])).state == SUCCEEDED


def test_one_squeue_call_for_all_jobs_at_most_every_poll_interval(sconfig, slurm):
    sconfig.slurm_max_jobs = 10
    sconfig.slurm_poll_s = 0.5
    executor = SlurmExecutor(sconfig)
    handles = []
    for _ in range(4):
        task = command_task("sleep 2")
        handles.append(executor.start(task, workdir_for(sconfig, task)))
    started = time.monotonic()
    while time.monotonic() - started < 1.6:
        for handle in handles:
            handle.poll()  # as often as the loop likes: it never runs squeue itself
        time.sleep(0.01)
    queries = calls(slurm, "squeue")
    assert 1 <= len(queries) <= 5, queries  # 1.6 s / 0.5 s, not once per poll() call
    assert queries[-1][-1] == "--jobs=1,2,3,4"  # all the jobs in one call
    for handle in handles:
        assert wait(handle).state == SUCCEEDED


def test_cancel_runs_scancel_and_reports_cancelled(sconfig, slurm):
    executor = SlurmExecutor(sconfig)
    task = command_task("echo started; sleep 60")
    handle = executor.start(task, workdir_for(sconfig, task))
    time.sleep(0.5)
    assert handle.poll() is None
    handle.cancel(1.0)
    result = wait(handle)
    assert result.state == CANCELLED
    assert calls(slurm, "scancel") == [["scancel", "1"]]
    assert "cancelling SLURM job 1" in handle.read_log()


def test_restart_readopts_recorded_jobs(sconfig, slurm):
    task = command_task("sleep 1; echo done")
    first = SlurmExecutor(sconfig)
    workdir = workdir_for(sconfig, task)
    first.start(task, workdir)
    # The runner process dies here; a new one (new executor, same state dir) adopts the job.
    with SqueuePoller._instance_lock:
        SqueuePoller._instance.stop()
        SqueuePoller._instance = None
    second = SlurmExecutor(sconfig)
    handles = second.adopt(sconfig.state_dir)
    assert len(handles) == 1
    handle = handles[0]
    assert handle.task["lease_id"] == task["lease_id"]
    assert handle.info() == {"slurm_job_id": "1"}
    assert second.free_slots() == sconfig.slurm_max_jobs - 1
    result = wait(handle)
    assert result.state == SUCCEEDED and result.outputs["stdout"] == "done\n"
    assert "re-adopted SLURM job 1" in handle.read_log()
    assert second.adopt(sconfig.state_dir) == []  # the record went with the result


def test_job_that_vanishes_without_result_fails_clearly(sconfig, slurm):
    sconfig.slurm_poll_s = 0.2
    executor = SlurmExecutor(sconfig)
    task = command_task("true")
    workdir = workdir_for(sconfig, task)
    handle = executor.start(task, workdir)
    # The job dies before the entry point writes anything (e.g. a node failure): no result, no exit code.
    table = json.loads((slurm / "jobs.json").read_text())
    import signal

    os.killpg(table["1"]["pid"], signal.SIGKILL)
    table["1"]["state"] = "NODE_FAIL"
    (slurm / "jobs.json").write_text(json.dumps(table))
    result = wait(handle)
    assert result.state == FAILED
    assert "SLURM job 1" in result.error and "wrote no result" in result.error


def test_sbatch_refusals(sconfig, slurm, monkeypatch):
    executor = SlurmExecutor(sconfig)
    monkeypatch.setenv("FAKE_SBATCH_REFUSE", "Batch job submission failed: Job violates accounting/QOS policy "
                                             "(job submit limit, user's size and/or time limits)")
    task = command_task("true")
    with pytest.raises(NoCapacity):
        executor.start(task, workdir_for(sconfig, task))
    monkeypatch.setenv("FAKE_SBATCH_REFUSE", "invalid partition specified: nope")
    task = command_task("true")
    with pytest.raises(SlurmError, match="invalid partition"):
        executor.start(task, workdir_for(sconfig, task))
    assert executor.free_slots() == sconfig.slurm_max_jobs


def test_missing_sbatch_is_not_offered(sconfig, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(RuntimeError, match="sbatch"):
        SlurmExecutor(sconfig)


def test_restart_finds_a_job_submitted_just_before_a_crash(sconfig, slurm):
    """The runner died while sbatch ran: its record has no job id; the job is found by its name."""
    task = command_task("echo found")
    lost = command_task("echo never submitted")
    first = SlurmExecutor(sconfig)
    first.start(task, workdir_for(sconfig, task))
    records = Path(sconfig.state_dir) / "slurm"
    record = records / (task["lease_id"] + ".json")
    data = json.loads(record.read_text())
    assert data["job_id"] == "1" and data["job_name"] == "nodeworks-" + task["lease_id"]
    record.write_text(json.dumps(dict(data, job_id="")))
    (records / (lost["lease_id"] + ".json")).write_text(json.dumps(dict(
        data, job_id="", job_name="nodeworks-" + lost["lease_id"], task=lost)))
    with SqueuePoller._instance_lock:
        SqueuePoller._instance.stop()
        SqueuePoller._instance = None
    handles = SlurmExecutor(sconfig).adopt(sconfig.state_dir)
    assert [h.info() for h in handles] == [{"slurm_job_id": "1"}]
    assert wait(handles[0]).outputs["stdout"] == "found\n"
    assert not list(records.glob("*.json"))
