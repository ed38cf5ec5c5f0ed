"""Built-in pure nodes run in the runner process (executors/inline.py): which ones, and what they give."""

from __future__ import annotations

from pathlib import Path

from nodeworks_runner.executors.inline import run_inline, runs_inline


def _task(path, *, inputs=None, requirements=None, terminals=None):
    return {
        "task_id": 1, "lease_id": "00000000-0000-0000-0000-000000000001",
        "node": {"uniquename": "n", "path": list(path), "terminals": terminals or {}},
        "inputs": inputs or {}, "requirements": {"executor": "local", **(requirements or {})},
    }


def test_types_and_math_run_inline_and_nothing_else():
    assert runs_inline(_task(["types", "Integer"]), offered=["local"], node_path=[])
    assert runs_inline(_task(["math", "Add"]), offered=["local"], node_path=[])
    assert not runs_inline(_task(["shell", "Command"]), offered=["local"], node_path=[])
    assert not runs_inline(_task(["numpy", "Linspace"]), offered=["local"], node_path=[])


def test_what_a_worker_would_do_differently_keeps_a_task_out_of_the_runner_process(tmp_path):
    offered = ["local", "shell"]
    assert not runs_inline(_task(["math", "Add"], requirements={"executor": "shell"}), offered=offered, node_path=[])
    assert not runs_inline(_task(["math", "Add"]), offered=["shell"], node_path=[])
    assert not runs_inline(_task(["math", "Add"], requirements={"environment": "/opt/py/bin/python"}),
                           offered=offered, node_path=[])
    artifact = {"$nw": "artifact", "id": "a1b2", "name": "x.npy", "kind": "ndarray"}
    assert not runs_inline(_task(["math", "Add"], inputs={"input": [artifact]}), offered=offered, node_path=[])
    # A site's own plug-in for the same path runs in a worker, like any plug-in.
    (tmp_path / "mine.py").write_text(
        "from nodeworks.node import Node\n"
        "NAME = 'math'\n"
        "class Add(Node):\n"
        "    name = 'Add'\n"
        "    def process(self):\n"
        "        pass\n"
        "def returnNodes():\n"
        "    return [Add]\n"
    )
    assert not runs_inline(_task(["math", "Add"]), offered=offered, node_path=[str(tmp_path)])
    assert runs_inline(_task(["types", "Integer"]), offered=offered, node_path=[str(tmp_path)])


def test_an_inline_node_gives_its_outputs_and_its_failure_goes_to_its_log_not_the_runners(tmp_path, capsys):
    add = _task(["math", "Add"], inputs={"input": [2, 3.5]},
                terminals={"input": {"opts": {"in": True, "multiinput": True}}, "result": {"opts": {"out": True}}})
    result, printed = run_inline(add, tmp_path / "w", inline_limit=1024)
    assert (result.state, result.outputs, printed) == ("succeeded", {"result": 5.5}, "")
    assert not Path(tmp_path / "w").exists()  # no work directory unless an output is spilled

    broken = dict(add, inputs={"input": ["two", 1]})
    result, printed = run_inline(broken, tmp_path / "w", inline_limit=1024)
    assert result.state == "failed" and "not a number" in result.error
    assert "not a number" in printed
    assert "not a number" not in capsys.readouterr().err
