"""The arrows between the apps point one way (docs/architecture.md):

    nodeworks_server  ←  accounts  ←  workflows  ←  runners
                                                ←  triggers

An app imports only the ones it points to (runners and triggers know nothing of each other);
nodeworks_server imports none, except its URL map, which
wires every app's views. Every import counts, at module level or inside a function (a lazy import
that dodges a cycle is still a cycle), and so does `apps.get_model("<app>", ...)` or
`import_module("<app>...")` naming an app to the right.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
_BASE = ("nodeworks_server", "accounts", "workflows")
ALLOWED = {
    "nodeworks_server": {"nodeworks_server"},
    "accounts": {"nodeworks_server", "accounts"},
    "workflows": set(_BASE),
    "runners": {*_BASE, "runners"},
    "triggers": {*_BASE, "triggers"},
}
LAYERS = list(ALLOWED)
MAY_IMPORT_ANY_APP = {"nodeworks_server/urls.py"}


def _named_apps(tree: ast.AST, package: str) -> list[tuple[int, str]]:
    """(line, top-level package) of every import and dynamic lookup in the tree that names one of LAYERS."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name.split(".")[0]) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            found.append((node.lineno, package if node.level else (node.module or "").split(".")[0]))
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name in ("get_model", "import_module", "__import__") and isinstance(node.args[0].value, str):
                found.append((node.lineno, node.args[0].value.split(".")[0]))
    return [(line, name) for line, name in found if name in LAYERS]


def wrong_arrows(path: str, source: str) -> list[str]:
    """The imports of `path` (relative to the repository) that point the wrong way."""
    package = path.split("/")[0]
    if package not in LAYERS or path in MAY_IMPORT_ANY_APP:
        return []
    allowed = ALLOWED[package]
    return [
        f"{path}:{line} imports {name}"
        for line, name in _named_apps(ast.parse(source, filename=path), package)
        if name not in allowed
    ]


def _sources():
    for package in LAYERS:
        for file in sorted((ROOT / package).rglob("*.py")):
            yield file.relative_to(ROOT).as_posix(), file.read_text(encoding="utf-8")


def test_no_arrow_points_the_wrong_way():
    problems = [problem for path, source in _sources() for problem in wrong_arrows(path, source)]
    assert not problems, "imports against the app layering (docs/architecture.md):\n" + "\n".join(problems)


def test_every_app_is_checked():
    checked = {path.split("/")[0] for path, _ in _sources()}
    assert checked == set(LAYERS)


@pytest.mark.parametrize(
    ("path", "source"),
    [
        ("workflows/run_selectors.py", "from runners.models import Runner\n"),
        ("workflows/services/runs.py", "def f():\n    from runners import services\n"),
        ("workflows/dag.py", "import runners.models\n"),
        ("workflows/x.py", "from django.apps import apps\nRunner = apps.get_model('runners', 'Runner')\n"),
        ("workflows/x.py", "import importlib\nm = importlib.import_module('runners.services')\n"),
        ("accounts/services.py", "from workflows.models import Run\n"),
        ("nodeworks_server/apis.py", "def figures():\n    from runners.selectors import queue_figures\n"),
        ("nodeworks_server/json_limits.py", "from workflows.nodeworks_format import json_depth_ok\n"),
        ("workflows/services/runs.py", "from triggers.models import Trigger\n"),
        ("triggers/services.py", "from runners.scope import runners_serving\n"),
        ("runners/services.py", "from triggers import services\n"),
    ],
)
def test_a_wrong_arrow_is_caught(path, source):
    assert wrong_arrows(path, source)


@pytest.mark.parametrize(
    ("path", "source"),
    [
        ("runners/services.py", "from workflows import lifecycle\nfrom accounts.secrets import secret_new\n"),
        ("workflows/nodeworks_format.py", "from . import dag\nfrom nodeworks_server.constants import EXECUTORS\n"),
        ("nodeworks_server/urls.py", "from runners.selectors import queue_figures\n"),
        ("accounts/services.py", "from nodeworks_server.errors import InvalidInput\n"),
        ("triggers/services.py", "from workflows.services.runs import run_create\nfrom accounts import models\n"),
    ],
)
def test_a_right_arrow_passes(path, source):
    assert wrong_arrows(path, source) == []
