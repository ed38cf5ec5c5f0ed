"""The four real samples, changed so that results must be computed, run on real runner processes."""

from __future__ import annotations

import io

import pytest

from tests.runner.conftest import nc_sample, node, plugin_file


def decode_array(value):
    import base64

    import numpy as np

    assert value["$nw"] == "ndarray", value
    return np.frombuffer(base64.b64decode(value["data"]), dtype=np.dtype(value["dtype"])).reshape(value["shape"])


def test_node_ex_computes_with_changed_parameters(start_runner, publish_and_execute, wait_run):
    workflow = nc_sample("node_ex.nc")
    workflow["integer"]["terminals"]["int"]["value"] = 7
    workflow["power"]["terminals"]["base"]["value"] = 2
    start_runner("r-node-ex")
    workflow_id, run_id = publish_and_execute(workflow)
    status = wait_run(workflow_id, run_id=run_id)
    assert status["run"]["state"] == "succeeded", status
    assert node(status, "power")["outputs"]["result"] == 32
    assert node(status, "multiply")["outputs"]["result"] == 224
    assert node(status, "root")["outputs"]["result"] == 15
    assert node(status, "subtract")["outputs"]["result"] == 209
    assert node(status, "integer")["outputs"]["int"] == 7


def test_demo1_multiplies_changed_float(start_runner, publish_and_execute, wait_run):
    workflow = nc_sample("demo1.nc")
    workflow["float"]["terminals"]["float"]["value"] = 4.0
    start_runner("r-demo1")
    workflow_id, run_id = publish_and_execute(workflow)
    status = wait_run(workflow_id, run_id=run_id)
    assert status["run"]["state"] == "succeeded", status
    assert node(status, "multiply")["outputs"]["result"] == 24


def test_demo_range_trig_and_plot_artifact(start_runner, publish_and_execute, wait_run, user_api):
    np = pytest.importorskip("numpy")
    image = pytest.importorskip("PIL.Image")
    workflow = nc_sample("demo.nc")
    start_runner("r-demo")
    workflow_id, run_id = publish_and_execute(workflow)
    status = wait_run(workflow_id, run_id=run_id, timeout=60)
    assert status["run"]["state"] == "succeeded", status
    x = decode_array(node(status, "range")["outputs"]["range"])
    assert x.shape == (100,)
    assert np.allclose(x, np.arange(0.0, 10.0, 0.1))
    sin = decode_array(node(status, "trig")["outputs"]["array"])
    cos = decode_array(node(status, "trig.0")["outputs"]["array"])
    assert np.max(np.abs(sin - np.sin(x))) <= 1e-12
    assert np.max(np.abs(cos - np.cos(x))) <= 1e-12
    artifacts = node(status, "plot")["artifacts"]
    assert len(artifacts) == 1 and artifacts[0]["name"].endswith(".png"), artifacts
    png = user_api.download(f"/api/v1/artifacts/{artifacts[0]['id']}")
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    picture = image.open(io.BytesIO(png))
    width, height = picture.size
    assert width >= 300 and height >= 300
    assert len(picture.convert("RGB").getcolors(maxcolors=1 << 24)) > 1


CUSTOM_NODE = '''\
from nodeworks import Node
from nodeworks.tools import flatten

NAME = 'my custom nodes'


def returnNodes():
    return [MyStringNode]


class MyStringNode(Node):
    name = 'my string node'

    def __init__(self, parent=None):
        self.terminalOpts = {
            'input': {'widget': 'lineedit',
                      'in': True,
                      'showlabel': True,
                      },
        }
        Node.__init__(self, parent)

    def process(self):
        print("hello " + str(self.terminals['input'].value))
'''


def test_demo2_unknown_node_then_plugin(start_runner, publish_and_execute, wait_run, user_api, tmp_path):
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    start_runner("r-demo2", extra_args=["--node-path", str(plugins)])
    workflow_id, run_id = publish_and_execute(nc_sample("demo2.nc"))
    status = wait_run(workflow_id, run_id=run_id)
    assert status["run"]["state"] == "failed", status
    error = node(status, "my string node")["error"]
    assert "my custom nodes/my string node" in error and "r-demo2" in error, error
    assert node(status, "string")["state"] == "succeeded"

    plugin_file(plugins, "mynodes.py", CUSTOM_NODE)
    run_id = user_api.post(f"/api/v1/workflow/execute/{workflow_id}", {})["run"]["id"]
    status = wait_run(workflow_id, run_id=run_id)
    assert status["run"]["state"] == "succeeded", status
    log = user_api.download(f"/api/v1/runs/{run_id}/logs/my%20string%20node").decode()
    assert "stephan" in log, log
