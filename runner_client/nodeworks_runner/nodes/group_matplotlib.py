"""``matplotlib`` group (needs the ``numpy`` extra, which brings matplotlib). Plots become PNG artifacts."""

from __future__ import annotations

from nodeworks_runner.nodes import NodeContext, NodeFailure, builtin

WIDTH_IN, HEIGHT_IN, DPI = 6.4, 4.8, 100  # 640 x 480 pixels


def _as_list(value) -> list:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


@builtin("matplotlib", "Plot")
def plot_node(ctx: NodeContext) -> dict:
    """Plot: draws each ``y`` against ``x`` and saves a 640x480 PNG as an artifact named ``<node>.png``.

    ``x`` and ``y`` are multiinputs. With one ``x``, every ``y`` is plotted against it; with as many
    ``x`` as ``y``, they pair in connection order; with no ``x``, against the index. Uses the Agg
    backend (no display). The node has no output terminals in Nodeworks; if it has any here, each
    receives the artifact reference.
    """
    try:
        import matplotlib

        matplotlib.use("Agg", force=True)
        import matplotlib.pyplot as plt
        import numpy as np
    except ImportError:
        raise NodeFailure("this node needs matplotlib on the runner: pip install 'nodeworks-runner[numpy]'") from None
    xs = [np.asarray(x) for x in _as_list(ctx.inputs.get("x")) if x is not None]
    ys = [np.asarray(y) for y in _as_list(ctx.inputs.get("y")) if y is not None]
    if not ys:
        raise NodeFailure("input 'y' has no values to plot")
    if xs and len(xs) not in (1, len(ys)):
        raise NodeFailure("got %d x arrays for %d y arrays: give one x, or one per y" % (len(xs), len(ys)))
    figure = plt.figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI)
    try:
        axes = figure.add_subplot(1, 1, 1)
        for index, y in enumerate(ys):
            if xs:
                x = xs[0] if len(xs) == 1 else xs[index]
                if np.shape(x) != np.shape(y):
                    raise NodeFailure("x and y #%d differ in shape: %s vs %s" % (index + 1, np.shape(x), np.shape(y)))
                axes.plot(x, y, label="y%d" % (index + 1))
            else:
                axes.plot(y, label="y%d" % (index + 1))
        if len(ys) > 1:
            axes.legend()
        axes.set_title(ctx.name)
        axes.grid(True)
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in str(ctx.node.get("uniquename") or "plot"))
        path = ctx.workdir / ("%s.png" % safe)
        figure.savefig(str(path), dpi=DPI, format="png")
    finally:
        plt.close(figure)
    artifact = ctx.add_artifact(path, name=path.name)
    return {name: artifact for name in ctx.output_terminals()}
