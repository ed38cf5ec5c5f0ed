"""Every built-in node's documented rule, the plug-in loader and the Nodeworks compatibility module."""

from __future__ import annotations

import json
import math
import os
import time

import pytest
from conftest import nc_file, node_obj

from nodeworks_runner.execute import run_task
from nodeworks_runner.nodes import builtin_paths, plugins


def run(node, inputs=None, workdir=".", **task):
    return run_task(dict(task, node=node, inputs=inputs or {}), workdir)


def ok(node, inputs=None, workdir=".", **task):
    result = run(node, inputs, workdir, **task)
    assert result.state == "succeeded", result.error
    return result.outputs


def sample(name):
    return nc_file(name)


@pytest.mark.parametrize("name", ["arithmetic.nc", "sine_plot.nc", "product.nc", "node_ex.nc", "demo.nc", "demo1.nc"])
def test_every_path_of_the_samples_is_known(name):
    known = {"/".join(p) for p in builtin_paths()}
    for obj in sample(name).values():
        if obj["type"] == "Node":
            assert "/".join(obj["path"]) in known
    assert "shell/Command" in known


def test_every_builtin_documents_its_rule():
    from nodeworks_runner.nodes import _BUILTINS

    for path, fn in _BUILTINS.items():
        assert fn.__doc__ and len(fn.__doc__.strip()) > 20, path


# ---------------------------------------------------------------- types


def test_types_emit_their_saved_value_cast_to_the_dtype():
    nodes = sample("arithmetic.nc")
    assert ok(nodes["integer"]) == {"int": 87}
    integer = json.loads(json.dumps(nodes["integer"]))
    integer["terminals"]["int"]["value"] = "7"
    assert ok(integer) == {"int": 7}
    demo1 = sample("product.nc")
    assert ok(demo1["float"]) == {"float": 3.0}
    assert ok(sample("custom_string.nc")["string"]) == {"string": "ada"}
    boolean = node_obj("b", ["types", "Boolean"], outputs=[("bool", "true")], dtypes={"bool": "<class 'bool'>"})
    assert ok(boolean) == {"bool": True}
    as_float = node_obj("f", ["types", "Float"], outputs=[("float", 2)], dtypes={"float": "<class 'float'>"})
    value = ok(as_float)["float"]
    assert value == 2.0 and isinstance(value, float)


# ---------------------------------------------------------------- math


def test_node_ex_chain_with_changed_values():
    nodes = sample("arithmetic.nc")
    power = ok(nodes["power"], {"base": 2.0, "exponent": 5.0})["result"]
    assert power == 32
    product = ok(nodes["multiply"], {"input": [power, 7]})["result"]
    assert product == 224
    root = ok(nodes["root"], {"radicand": 225.0, "degree": 2.0})["result"]
    assert root == 15
    assert ok(nodes["subtract"], {"minuend": [product], "subtrahend": [root]})["result"] == 209


def test_node_ex_with_its_own_values_gives_its_saved_results():
    """The real sample (../shared): Nodeworks's own saved results."""
    nodes = sample("node_ex.nc")
    power = ok(nodes["power"], {"base": 5.0, "exponent": 5.0})["result"]
    product = ok(nodes["multiply"], {"input": [power, 87]})["result"]
    root = ok(nodes["root"], {"radicand": 225.0, "degree": 2.0})["result"]
    assert (power, product, root) == (3125, 271875, 15)
    assert ok(nodes["subtract"], {"minuend": [product], "subtrahend": [root]})["result"] == 271860


def test_a_list_of_one_value_acts_as_that_value_and_longer_lists_pair_up():
    power = node_obj("p", ["math", "Power"], {"base": None, "exponent": None}, ["result"], multi=("base", "exponent"))
    assert ok(power, {"base": [3], "exponent": [2]})["result"] == 9
    assert ok(power, {"base": [1, 2, 3], "exponent": 2})["result"] == [1, 4, 9]
    assert ok(power, {"base": [2, 3], "exponent": [3, 2]})["result"] == [8, 9]
    assert ok(power, {"base": "2", "exponent": "3"})["result"] == 8
    failed = run(power, {"base": [1, 2], "exponent": [1, 2, 3]})
    assert failed.state == "failed" and "different lengths" in failed.error
    missing = run(power, {"base": None, "exponent": 2})
    assert missing.state == "failed" and "'base' has no value" in missing.error


def test_multiply_add_sum_subtract_divide_root():
    multiply = node_obj("m", ["math", "Multiply"], {"input": None}, ["result"], multi=("input",))
    assert ok(multiply, {"input": [2, 3, 4]})["result"] == 24
    assert ok(multiply, {"input": 5})["result"] == 5  # unconnected multiinput: its saved value
    add = node_obj("a", ["math", "Add"], {"input": None}, ["result"], multi=("input",))
    assert ok(add, {"input": [1, 2, 3.5]})["result"] == 6.5
    total = node_obj("s", ["math", "Sum"], {"input": None}, ["result"], multi=("input",))
    assert ok(total, {"input": [1, 2]})["result"] == 3
    subtract = node_obj("s", ["math", "Subtract"], {"minuend": None, "subtrahend": None}, ["result"])
    assert ok(subtract, {"minuend": 10, "subtrahend": [4]})["result"] == 6
    divide = node_obj("d", ["math", "Divide"], {"dividend": None, "divisor": None}, ["result"])
    assert ok(divide, {"dividend": 7, "divisor": 2})["result"] == 3.5
    zero = run(divide, {"dividend": 1, "divisor": 0})
    assert zero.state == "failed" and "division by zero" in zero.error
    root = node_obj("r", ["math", "Root"], {"radicand": None, "degree": None}, ["result"])
    assert ok(root, {"radicand": 27, "degree": 3})["result"] == pytest.approx(3)
    assert ok(root, {"radicand": -8, "degree": 3})["result"] == pytest.approx(-2)
    empty = run(multiply, {"input": []})
    assert empty.state == "failed" and "no values" in empty.error


def test_math_on_arrays_is_elementwise():
    np = pytest.importorskip("numpy")
    from nodeworks_runner import values

    multiply = node_obj("m", ["math", "Multiply"], {"input": None}, ["result"], multi=("input",))
    out = ok(multiply, {"input": [values.encode(np.array([1.0, 2.0])), 3]})["result"]
    assert np.array_equal(values.decode(out), [3.0, 6.0])


# ---------------------------------------------------------------- numpy


def test_range_casts_string_values_and_honours_type():
    np = pytest.importorskip("numpy")
    from nodeworks_runner import values

    demo = sample("sine_plot.nc")
    out = ok(demo["range"], {"start": "0.0", "stop": "10.0", "step": "0.1", "type": "float"})["range"]
    array = values.decode(out)
    assert array.shape == (100,) and array.dtype == np.float64
    assert np.allclose(array, np.arange(0, 10, 0.1))
    ints = values.decode(ok(demo["range"], {"start": 0, "stop": 5, "step": 1, "type": "int32"})["range"])
    assert ints.dtype == np.int32 and list(ints) == [0, 1, 2, 3, 4]
    half = values.decode(ok(demo["range"], {"start": 0, "stop": 1, "step": 0.5, "type": "foat16"})["range"])
    assert half.dtype == np.float16
    assert "step must not be 0" in run(demo["range"], {"start": 0, "stop": 1, "step": 0, "type": "float"}).error
    assert "unknown type" in run(demo["range"], {"start": 0, "stop": 1, "step": 1, "type": "complex"}).error


def test_trig_applies_the_named_operation_only():
    np = pytest.importorskip("numpy")
    from nodeworks_runner import values

    demo = sample("sine_plot.nc")
    x = np.linspace(0, 3, 7)
    for operation, fn in (("sin", np.sin), ("cos", np.cos), ("tan", np.tan), ("arctan", np.arctan)):
        node = json.loads(json.dumps(demo["trig"]))
        out = values.decode(ok(node, {"input": values.encode(x), "operation": operation})["array"])
        assert np.max(np.abs(out - fn(x))) <= 1e-12
    assert values.decode(ok(demo["trig"], {"input": [0.0, 1.0], "operation": "sin"})["array"])[1] == np.sin(1.0)
    bad = run(demo["trig"], {"input": [1.0], "operation": "__import__"})
    assert bad.state == "failed" and "unknown operation" in bad.error


def test_plot_makes_a_png_artifact(tmp_path):
    np = pytest.importorskip("numpy")
    pytest.importorskip("matplotlib")
    from nodeworks_runner import values

    demo = sample("sine_plot.nc")
    x = np.arange(0, 10, 0.1)
    result = run(demo["plot"], {"x": [values.encode(x)], "y": [values.encode(np.sin(x)), values.encode(np.cos(x))]},
                 workdir=tmp_path)
    assert result.state == "succeeded", result.error
    assert result.outputs == {}  # the Plot node has no output terminals
    [(name, path)] = result.artifacts
    assert name == "plot.png"
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert width >= 300 and height >= 300
    mismatch = run(demo["plot"], {"x": [[1, 2], [1, 2]], "y": [[1, 2], [1, 2], [3, 4]]}, workdir=tmp_path)
    assert mismatch.state == "failed" and "give one x" in mismatch.error
    nothing = run(demo["plot"], {"x": [], "y": None}, workdir=tmp_path)
    assert nothing.state == "failed"


def test_plot_output_terminal_receives_the_artifact(tmp_path):
    pytest.importorskip("matplotlib")
    plot = node_obj("p", ["matplotlib", "Plot"], {"x": None, "y": None}, ["image"], multi=("x", "y"))
    result = run(plot, {"x": None, "y": [[1, 3, 2]]}, workdir=tmp_path)
    assert result.state == "succeeded", result.error
    assert result.outputs["image"]["$nw"] == "artifact"
    assert result.outputs["image"]["path"] == result.artifacts[0][1]


# ---------------------------------------------------------------- shell


def command_node():
    return node_obj("cmd", ["shell", "Command"], {"command": None}, ["stdout", "stderr", "returncode"])


def test_command_runs_an_argv_list_without_a_shell(tmp_path, capfd):
    out = ok(command_node(), {"command": ["echo", "a; echo b", "$HOME"]}, workdir=tmp_path)
    assert out == {"stdout": "a; echo b $HOME\n", "stderr": "", "returncode": 0}
    assert "a; echo b $HOME" in capfd.readouterr().out  # streamed to the log too


def test_command_string_runs_in_sh_in_the_workdir(tmp_path):
    out = ok(command_node(), {"command": "pwd; echo err >&2"}, workdir=tmp_path)
    assert out["stdout"].strip() == str(tmp_path) and out["stderr"] == "err\n"


def test_command_failure_and_check_false(tmp_path):
    failed = run(command_node(), {"command": "echo partial; exit 3"}, workdir=tmp_path)
    assert failed.state == "failed" and "status 3" in failed.error
    assert failed.outputs == {"stdout": "partial\n", "stderr": "", "returncode": 3}
    node = command_node()
    node["terminals"]["check"] = {"value": False, "opts": {"in": True}}
    assert ok(node, {"command": "exit 4", "check": False}, workdir=tmp_path)["returncode"] == 4
    missing = run(command_node(), {"command": ["/no/such/program"]}, workdir=tmp_path)
    assert missing.state == "failed" and "cannot start" in missing.error
    assert run(command_node(), {"command": None}, workdir=tmp_path).state == "failed"


# ---------------------------------------------------------------- unknown paths and plug-ins


def test_unknown_path_names_the_path_and_the_runner():
    result = run(sample("custom_string.nc")["my string node"], {"input": "x"}, runner_name="hpc-login-1")
    assert result.state == "failed"
    assert "my custom nodes/my string node" in result.error and "hpc-login-1" in result.error


NODEWORKS_FILE = '''\
from nodeworks import Node
from nodeworks.tools import flatten

NAME = 'my custom nodes'


def returnNodes():
    return [MyStringNode, Upper, Returns, Shortcut]


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
        print("got " + str(self.terminals['input'].value))


class Upper(Node):
    name = 'upper'

    def __init__(self, parent=None):
        self.terminalOpts = {'text': {'in': True}, 'out': {'out': True}, 'flat': {'out': True}}
        Node.__init__(self, parent)

    def process(self):
        self.terminals['out'].value = str(self.terminals['text'].value).upper()
        self.terminals['flat'].setValue(flatten([1, [2, (3, [4])]]))


class Returns(Node):
    name = 'returns'

    def process(self):
        return {'answer': 42}


class Shortcut(Node):
    name = 'shortcut'
    terminalOpts = {'x': {'in': True}, 'y': {'out': True}}

    def process(self):
        self.terminals['y'] = self.terminals['x'].value * 2
'''


@pytest.fixture
def plugin_dir(tmp_path):
    plugins.reset_cache()
    folder = tmp_path / "plugins"
    folder.mkdir()
    yield folder
    plugins.reset_cache()


def test_nodeworks_custom_node_file_loads_unchanged(plugin_dir, capfd):
    (plugin_dir / "mynodes.py").write_text(NODEWORKS_FILE)
    node = sample("custom_string.nc")["my string node"]
    result = run(node, {"input": "stephan"}, node_path=[str(plugin_dir)])
    assert result.state == "succeeded", result.error
    assert "got stephan" in capfd.readouterr().out
    upper = node_obj("u", ["my custom nodes", "upper"], {"text": None}, ["out", "flat"])
    assert ok(upper, {"text": "abc"}, node_path=[str(plugin_dir)]) == {"out": "ABC", "flat": [1, 2, 3, 4]}
    returns = node_obj("r", ["my custom nodes", "returns"], {}, ["answer"])
    assert ok(returns, {}, node_path=[str(plugin_dir)]) == {"answer": 42}
    shortcut = node_obj("s", ["my custom nodes", "shortcut"], {"x": None}, ["y"])
    assert ok(shortcut, {"x": 21}, node_path=[str(plugin_dir)]) == {"y": 42}


def test_plugin_files_are_picked_up_and_reloaded_when_changed(plugin_dir):
    node = node_obj("v", ["versions", "Version"], {}, ["v"])
    assert run(node, node_path=[str(plugin_dir)]).state == "failed"
    text = ("from nodeworks import Node\nNAME = 'versions'\ndef returnNodes():\n    return [V]\n"
            "class V(Node):\n    name = 'Version'\n    def process(self):\n        return {'v': %d}\n")
    path = plugin_dir / "versions.py"
    path.write_text(text % 1)
    assert ok(node, node_path=[str(plugin_dir)]) == {"v": 1}
    path.write_text(text % 22)  # another size, and a newer mtime
    os.utime(path, (time.time() + 5, time.time() + 5))
    assert ok(node, node_path=[str(plugin_dir)]) == {"v": 22}


def test_a_broken_plugin_file_is_named_when_its_path_is_wanted(plugin_dir):
    (plugin_dir / "broken.py").write_text("NAME = 'x'\nraise RuntimeError('boom')\n")
    result = run(node_obj("n", ["x", "y"]), node_path=[str(plugin_dir)], runner_name="r")
    assert result.state == "failed" and "broken.py" in result.error and "boom" in result.error


def test_a_node_exception_fails_the_task_with_its_traceback(plugin_dir):
    (plugin_dir / "bad.py").write_text(
        "from nodeworks import Node\nNAME = 'bad'\ndef returnNodes():\n    return [B]\n"
        "class B(Node):\n    name = 'B'\n    def process(self):\n        raise KeyError('nope')\n")
    result = run(node_obj("b", ["bad", "B"]), node_path=[str(plugin_dir)])
    assert result.state == "failed" and "KeyError" in result.error and "Traceback" in result.error


def test_compat_module_terminal_api():
    from nodeworks_runner.compat import ensure_nodeworks_importable

    ensure_nodeworks_importable()
    import nodeworks
    from nodeworks.tools import flatten

    assert getattr(nodeworks, "NODEWORKS_RUNNER_COMPAT", False)

    class N(nodeworks.Node):
        name = "n"

        def __init__(self, parent=None):
            self.terminalOpts = {"a": {"in": True, "multiinput": True}, "b": {"out": True}}
            nodeworks.Node.__init__(self, parent)

    n = N()
    assert n.terminals["a"].isInput() and n.terminals["a"].isMultiInput() and n.terminals["b"].isOutput()
    n.terminals["b"] = 5
    assert n.terminals["b"].value == 5 and n.terminals["b"].getValue() == 5
    assert list(n.inputs()) == ["a"] and list(n.outputs()) == ["b"]
    assert flatten(3) == [3] and flatten([[1, [2]], (3,)]) == [1, 2, 3]
    assert math.isclose(1.0, 1.0)
