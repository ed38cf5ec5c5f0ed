"""``types`` group: value nodes without inputs.

Rule (SPEC.md): a ``types/*`` node emits the value saved in each of its output terminals, cast to
the terminal's dtype (``opts.dtype`` such as ``"<class 'float'>"``). This is how a workflow carries
its parameters; execute overrides (``{"inputs": {"node.terminal": value}}``) change the saved value.
"""

from __future__ import annotations

from nodeworks_runner.nodes import NodeContext, builtin
from nodeworks_runner.values import cast_dtype


def _emit_saved(ctx: NodeContext) -> dict:
    return {
        name: cast_dtype(ctx.terminals[name].get("value"), ctx.dtype(name))
        for name in ctx.output_terminals()
    }


@builtin("types", "Float")
def float_node(ctx: NodeContext) -> dict:
    """Float: emits its saved output value (terminal ``float``) as a float."""
    return _emit_saved(ctx)


@builtin("types", "Integer")
def integer_node(ctx: NodeContext) -> dict:
    """Integer: emits its saved output value (terminal ``int``) as an int."""
    return _emit_saved(ctx)


@builtin("types", "String")
def string_node(ctx: NodeContext) -> dict:
    """String: emits its saved output value (terminal ``string``) as a str."""
    return _emit_saved(ctx)


@builtin("types", "Boolean")
def boolean_node(ctx: NodeContext) -> dict:
    """Boolean: emits its saved output value as a bool ("true"/"1"/"yes" strings are true)."""
    return _emit_saved(ctx)
