"""Issue 11, item 1 with real processes: a `shell/Command` node printing `a\\0b` on a real runner. Today its
result answered 500 and the runner resent the batch for ever, the run never ending. Now its task fails with
the reason (a NUL cannot be stored), the other tasks of the run succeed, and the run finishes."""

from __future__ import annotations

from tests.runner.conftest import make_node, node, task_log, workflow_of

SHELL = {"executor": "shell"}


def command(name: str, script: str) -> dict:
    return make_node(name, ["shell", "Command"], inputs={"command": ["sh", "-c", script]},
                     outputs=("stdout", "stderr", "returncode"), requirements=SHELL)


def test_nul_in_a_shell_output_fails_that_task_only_and_the_run_ends(start_runner, publish_and_execute, wait_run,
                                                                      user_api):
    poison = command("poison", r"printf 'a\000b'; printf 'log\000line\n' >&2")
    fine = [command(f"fine{index}", f"echo fine{index}") for index in range(3)]
    runner = start_runner("r-poison", executors=("shell",))
    workflow_id, run_id = publish_and_execute(workflow_of(poison, *fine))
    status = wait_run(workflow_id, run_id=run_id, timeout=60)
    assert status["run"]["state"] == "failed", status
    bad = node(status, "poison")
    assert bad["state"] == "failed" and "result refused" in bad["error"] and "NUL" in bad["error"], bad
    for index in range(3):
        assert node(status, f"fine{index}")["state"] == "succeeded"
        assert node(status, f"fine{index}")["outputs"]["stdout"] == f"fine{index}\n"
    assert "result refused" in runner.log(), "the runner heard the reason and dropped the result"
    assert runner.process.poll() is None, "the runner goes on serving"
    log = task_log(user_api, run_id, "poison")
    assert "\u2400" in log or "\x00" not in log
