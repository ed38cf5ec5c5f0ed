"""``math`` group: arithmetic on numbers (and NumPy arrays, elementwise, when values are arrays).

Common rules, documented per node below:

* A multiinput terminal receives a list (one item per connection, in connection order); an
  unconnected one keeps its saved value, which may be a plain number.
* "A list of one value acts as that value" (SPEC.md): ``[5.0]`` is ``5.0``.
* For binary nodes (Power, Subtract, Divide, Root) a list of several values on either side is
  combined item by item with the other side (a single value pairs with every item); the result is
  then a list.
* Strings that hold numbers (``"2.5"``) are read as numbers; ``None`` is an error naming the terminal.
"""

from __future__ import annotations

import operator
from functools import reduce

from nodeworks_runner.nodes import NodeContext, NodeFailure, builtin


def _number(value, terminal: str):
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, str):
        try:
            return int(value) if value.strip().lstrip("+-").isdigit() else float(value)
        except ValueError:
            raise NodeFailure("input %r is not a number: %r" % (terminal, value)) from None
    if value is None:
        raise NodeFailure("input %r has no value" % terminal)
    return value  # int, float, numpy scalar or array


def _one(value, terminal: str):
    """A list of one value acts as that value; a longer list stays a list of numbers."""
    if isinstance(value, (list, tuple)):
        if len(value) == 0:
            raise NodeFailure("input %r is an empty list" % terminal)
        if len(value) == 1:
            return _one(value[0], terminal)
        return [_number(item, terminal) for item in value]
    return _number(value, terminal)


def _binary(op, left, right, left_name: str, right_name: str):
    a, b = _one(left, left_name), _one(right, right_name)
    if isinstance(a, list) or isinstance(b, list):
        xs = a if isinstance(a, list) else None
        ys = b if isinstance(b, list) else None
        if xs is not None and ys is not None and len(xs) != len(ys):
            raise NodeFailure("inputs %r and %r have different lengths (%d, %d)" % (left_name, right_name,
                                                                                   len(xs), len(ys)))
        count = len(xs if xs is not None else ys)
        return [op(xs[i] if xs is not None else a, ys[i] if ys is not None else b) for i in range(count)]
    return op(a, b)


def _items(value, terminal: str) -> list:
    """A multiinput's values: a list stays a list, a single saved value is a list of one."""
    if isinstance(value, (list, tuple)):
        items = list(value)
    else:
        items = [value]
    if not items:
        raise NodeFailure("input %r has no values" % terminal)
    return [_number(item, terminal) for item in items]


@builtin("math", "Power")
def power(ctx: NodeContext) -> dict:
    """Power: ``result = base ** exponent``.

    ``base`` and ``exponent`` are multiinputs; a list of one value acts as that value, longer lists
    combine item by item (see the module rules).
    """
    return {"result": _binary(operator.pow, ctx.inputs.get("base"), ctx.inputs.get("exponent"), "base", "exponent")}


@builtin("math", "Multiply")
def multiply(ctx: NodeContext) -> dict:
    """Multiply: ``result`` is the product of every value on the multiinput ``input``, in order."""
    return {"result": reduce(operator.mul, _items(ctx.inputs.get("input"), "input"))}


def _sum(ctx: NodeContext) -> dict:
    return {"result": reduce(operator.add, _items(ctx.inputs.get("input"), "input"))}


@builtin("math", "Add")
def add(ctx: NodeContext) -> dict:
    """Add: ``result`` is the sum of every value on the multiinput ``input``, in order."""
    return _sum(ctx)


@builtin("math", "Sum")
def sum_node(ctx: NodeContext) -> dict:
    """Sum: the same as Add: ``result`` is the sum of the values on ``input``."""
    return _sum(ctx)


@builtin("math", "Subtract")
def subtract(ctx: NodeContext) -> dict:
    """Subtract: ``result = minuend - subtrahend`` (both multiinputs; a list of one acts as its value)."""
    return {"result": _binary(operator.sub, ctx.inputs.get("minuend"), ctx.inputs.get("subtrahend"),
                              "minuend", "subtrahend")}


def _divide(a, b):
    try:
        return a / b
    except ZeroDivisionError:
        raise NodeFailure("division by zero") from None


@builtin("math", "Divide")
def divide(ctx: NodeContext) -> dict:
    """Divide: ``result = dividend / divisor`` (true division; division by zero fails the task)."""
    return {"result": _binary(_divide, ctx.inputs.get("dividend"), ctx.inputs.get("divisor"), "dividend", "divisor")}


def _root(radicand, degree):
    if degree == 0:
        raise NodeFailure("root of degree 0")
    if isinstance(radicand, (int, float)) and radicand < 0 and float(degree).is_integer() and int(degree) % 2:
        return -((-radicand) ** (1.0 / degree))  # odd root of a negative number stays real
    return radicand ** (1.0 / degree)


@builtin("math", "Root")
def root(ctx: NodeContext) -> dict:
    """Root: ``result = radicand ** (1 / degree)``; an odd root of a negative number is real and negative."""
    return {"result": _binary(_root, ctx.inputs.get("radicand"), ctx.inputs.get("degree"), "radicand", "degree")}
