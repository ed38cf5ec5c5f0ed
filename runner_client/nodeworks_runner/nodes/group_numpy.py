"""``numpy`` group (needs the ``numpy`` extra: ``pip install nodeworks-runner[numpy]``)."""

from __future__ import annotations

from nodeworks_runner.nodes import NodeContext, NodeFailure, builtin

# Names offered by Nodeworks's Range "type" combobox (sic: "foat16" is in the saved files).
_RANGE_TYPES = {
    "int": "int64", "int0": "intp", "int8": "int8", "int16": "int16", "int32": "int32", "int64": "int64",
    "float": "float64", "foat16": "float16", "float16": "float16", "float32": "float32", "float64": "float64",
}

_TRIG = ("sin", "cos", "tan", "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh", "arcsinh", "arccosh",
         "arctanh", "deg2rad", "rad2deg", "degrees", "radians")


def _numpy():
    try:
        import numpy
    except ImportError:
        raise NodeFailure("this node needs numpy on the runner: pip install 'nodeworks-runner[numpy]'") from None
    return numpy


def _one(value):
    if isinstance(value, (list, tuple)) and len(value) == 1:
        return value[0]
    return value


@builtin("numpy", "Range")
def range_node(ctx: NodeContext) -> dict:
    """Range: ``range = numpy.arange(start, stop, step, dtype=type)``.

    ``start``, ``stop`` and ``step`` are cast by their terminal dtype (saved values may be strings
    such as ``"0.0"``); ``type`` is one of int, int0, int8..int64, float, float16 (also the saved
    "foat16"), float32, float64 (default float). A step of 0 fails the task.
    """
    np = _numpy()
    start = ctx.input("start", 0)
    stop = ctx.input("stop")
    step = ctx.input("step", 1)
    start, stop, step = (_one(v) for v in (start, stop, step))
    if stop is None:
        raise NodeFailure("input 'stop' has no value")
    if step is None:
        step = 1
    try:
        start, stop, step = float(start if start is not None else 0), float(stop), float(step)
    except (TypeError, ValueError):
        raise NodeFailure("start/stop/step must be numbers, got %r, %r, %r" % (start, stop, step)) from None
    if step == 0:
        raise NodeFailure("step must not be 0")
    kind = str(_one(ctx.input("type", "float")) or "float")
    if kind not in _RANGE_TYPES:
        raise NodeFailure("unknown type %r (one of %s)" % (kind, ", ".join(sorted(_RANGE_TYPES))))
    return {"range": np.arange(start, stop, step, dtype=np.dtype(_RANGE_TYPES[kind]))}


@builtin("numpy", "Trig")
def trig_node(ctx: NodeContext) -> dict:
    """Trig: ``array = numpy.<operation>(input)``.

    ``operation`` is one of sin, cos, tan, arcsin, arccos, arctan, sinh, cosh, tanh, arcsinh,
    arccosh, arctanh, deg2rad, rad2deg, degrees, radians (a fixed list, never an arbitrary name).
    A list input is converted with ``numpy.asarray``.
    """
    np = _numpy()
    operation = str(_one(ctx.input("operation", "sin")) or "sin")
    if operation not in _TRIG:
        raise NodeFailure("unknown operation %r (one of %s)" % (operation, ", ".join(_TRIG)))
    value = ctx.inputs.get("input")
    if value is None:
        raise NodeFailure("input 'input' has no value")
    return {"array": getattr(np, operation)(np.asarray(value, dtype=float))}
