"""The workflows of examples/: each publishes, validates and plans; those a local runner can run are
run end to end by a real `nodeworks-runner` process against a live server, and their outputs checked.
The SLURM one runs only where a SLURM cluster is set up (scripts/ci/setup-slurm.sh), else it skips.

Also here: the management commands run.sh uses, and the fixture copies of the runner package.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.core.management import call_command

import tests.runner.conftest as live
import tests.runner.test_slurm_executor as slurm_tests
from tests.conftest import publish
from tests.runner.conftest import node

# The live server, user and runner fixtures of tests/runner (and its SLURM ones), visible here too.
runner_live_server, live_server_url, make_api_user, user_api = (
    live.runner_live_server, live.live_server_url, live.make_api_user, live.user_api)
start_runner, publish_and_execute, wait_run = live.start_runner, live.publish_and_execute, live.wait_run
slurm, slurm_runner = slurm_tests.slurm, slurm_tests.slurm_runner

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
PLUGINS = EXAMPLES / "plugins"
EXAMPLE_FILES = sorted(path.name for path in EXAMPLES.glob("*.nc"))


def example(name: str) -> dict:
    return json.loads((EXAMPLES / name).read_text())


def test_there_are_the_six_examples_and_each_has_a_line_in_the_readme():
    assert EXAMPLE_FILES == [
        "fan_out_gather.nc", "parameter_sweep.nc", "plot.nc", "plugin_word_count.nc", "shell_pipeline.nc",
        "slurm_node.nc",
    ]
    readme = (EXAMPLES / "README.md").read_text()
    for name in EXAMPLE_FILES:
        assert f"`{name}`" in readme, name
    assert "`plugins/word_count.py`" in readme


@pytest.mark.django_db
@pytest.mark.parametrize("name", EXAMPLE_FILES)
def test_every_example_publishes_validates_and_plans(alice_client, name):
    response = publish(alice_client, name, example(name))
    assert response.status_code == 201, response.content
    workflow_id = response.json()["id"]
    plan = alice_client.get(f"/api/v1/workflow/plan/{workflow_id}")
    assert plan.status_code == 200, plan.content
    nodes = [key for key, obj in example(name).items() if obj["type"] == "Node"]
    assert sorted(plan.json()["order"]) == sorted(nodes)


def test_the_runner_packages_fixtures_are_the_servers():
    """runner_client/tests keeps its own copy (the runner never imports the server): the same bytes."""
    server = {path.name: path.read_bytes() for path in (ROOT / "tests" / "fixtures").glob("*.nc")}
    runner = {path.name: path.read_bytes() for path in (ROOT / "runner_client" / "tests" / "fixtures").glob("*.nc")}
    assert server == runner and server


# ---------------------------------------------------------------- run.sh's management commands


@pytest.mark.django_db
def test_run_sh_loads_examples_and_a_local_runner_shared_with_all(settings, alice):
    from django.contrib.auth import get_user_model

    from runners.models import Runner
    from workflows.models import Workflow

    call_command("ensure_admin", stdout=io.StringIO())
    admin = get_user_model().objects.get(username="admin")
    out = io.StringIO()
    call_command("load_sample", str(EXAMPLES / "fan_out_gather.nc"), "--user", "admin", "--name", "gather", stdout=out)
    call_command("load_sample", str(EXAMPLES / "fan_out_gather.nc"), "--user", "admin", "--name", "gather", stdout=out)
    assert Workflow.objects.filter(owner=admin, name="gather").count() == 1  # loaded once

    token_file = io.StringIO()
    call_command("ensure_local_runner", "--user", "admin", "--shared-with-all", stdout=token_file)
    again = io.StringIO()
    call_command("ensure_local_runner", "--user", "admin", "--shared-with-all", stdout=again)
    assert token_file.getvalue() == again.getvalue()  # the same runner, not a second one
    runner = Runner.objects.get(owner=admin)
    assert runner.shared_with_all and runner.executors == ["local", "shell"]
    assert Path(token_file.getvalue().strip()).stat().st_mode & 0o777 == 0o600

    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="only runners of staff users can be shared"):
        call_command("ensure_local_runner", "--user", alice.username, "--name", "alices", "--shared-with-all",
                     stdout=io.StringIO())


# ---------------------------------------------------------------- end to end, real runner processes


@pytest.fixture
def example_runner(start_runner):
    """A runner like run.sh's: executors local and shell, the plug-ins of examples/plugins."""
    return start_runner("r-examples", extra_args=["--node-path", str(PLUGINS)])


def run_example(name, publish_and_execute, wait_run, inputs=None, timeout=60.0):
    workflow_id, run_id = publish_and_execute(example(name), name=name, inputs=inputs)
    status = wait_run(workflow_id, run_id=run_id, timeout=timeout)
    assert status["run"]["state"] == "succeeded", json.dumps(status)[:3000]
    return status


def test_parameter_sweep_computes_every_value_and_takes_another_sweep(example_runner, publish_and_execute, wait_run):
    status = run_example("parameter_sweep.nc", publish_and_execute, wait_run)
    assert node(status, "power")["outputs"]["result"] == [2, 4, 8, 16, 32, 64, 128, 256]
    assert node(status, "minus_one")["outputs"]["result"] == [1, 3, 7, 15, 31, 63, 127, 255]
    status = run_example("parameter_sweep.nc", publish_and_execute, wait_run,
                         inputs={"power.exponent": [10, 20], "base.float": 2.0})
    assert node(status, "minus_one")["outputs"]["result"] == [1023, 1048575]


def test_fan_out_and_gather_sums_the_three_branches(example_runner, publish_and_execute, wait_run):
    status = run_example("fan_out_gather.nc", publish_and_execute, wait_run)
    assert [node(status, key)["outputs"]["result"] for key in ("square", "cube", "half")] == [9, 27, 1.5]
    assert node(status, "total")["outputs"]["result"] == 37.5
    status = run_example("fan_out_gather.nc", publish_and_execute, wait_run, inputs={"x.float": 2.0})
    assert node(status, "total")["outputs"]["result"] == 13


def test_shell_pipeline_stdout(example_runner, publish_and_execute, wait_run, user_api):
    status = run_example("shell_pipeline.nc", publish_and_execute, wait_run)
    outputs = node(status, "pipeline")["outputs"]
    assert outputs["stdout"] == "apple=2\nfig=1\npear=1\n" and outputs["returncode"] == 0, outputs
    status = run_example("shell_pipeline.nc", publish_and_execute, wait_run,
                         inputs={"script.string": "echo one two | wc -w"})
    assert node(status, "pipeline")["outputs"]["stdout"].strip() == "2"


def test_plot_makes_a_png_artifact(example_runner, publish_and_execute, wait_run, user_api):
    pytest.importorskip("matplotlib")
    image = pytest.importorskip("PIL.Image")
    status = run_example("plot.nc", publish_and_execute, wait_run)
    [artifact] = node(status, "plot")["artifacts"]
    assert artifact["name"] == "plot.png"
    png = user_api.download(f"/api/v1/artifacts/{artifact['id']}")
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    picture = image.open(io.BytesIO(png))
    assert picture.size == (640, 480) and len(picture.convert("RGB").getcolors(maxcolors=1 << 24)) > 1


def test_plugin_node_counts_words(example_runner, publish_and_execute, wait_run, user_api):
    status = run_example("plugin_word_count.nc", publish_and_execute, wait_run)
    assert node(status, "count")["outputs"] == {"words": 11, "most_common": "the"}
    log = user_api.download(f"/api/v1/runs/{status['run']['id']}/logs/count").decode()
    assert "counted 11 words" in log


def test_plugin_node_fails_clearly_without_its_plugin(start_runner, publish_and_execute, wait_run):
    start_runner("r-no-plugins")
    workflow_id, run_id = publish_and_execute(example("plugin_word_count.nc"))
    status = wait_run(workflow_id, run_id=run_id)
    assert status["run"]["state"] == "failed"
    assert "example nodes/Word Count" in node(status, "count")["error"]


@pytest.mark.slow
def test_slurm_example_runs_on_slurm(slurm_runner, start_runner, publish_and_execute, wait_run):
    start_runner("r-local")  # the Integer node has no executor requirement: it runs locally
    slurm_runner("r-slurm")
    status = run_example("slurm_node.nc", publish_and_execute, wait_run, timeout=180)
    assert node(status, "root")["runner"] == "r-slurm"
    assert node(status, "root")["outputs"]["result"] == 1000.0
