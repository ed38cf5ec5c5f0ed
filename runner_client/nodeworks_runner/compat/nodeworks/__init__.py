"""A compatibility ``nodeworks`` module for Nodeworks custom-node files.

It lets files written for MFIX Nodeworks load unchanged on a runner without Nodeworks::

    from nodeworks import Node
    from nodeworks.tools import flatten

    NAME = 'my custom nodes'

    def returnNodes():
        return [MyNode]

    class MyNode(Node):
        name = 'my node'
        def __init__(self, parent=None):
            self.terminalOpts = {'input': {'widget': 'lineedit', 'in': True, 'showlabel': True},
                                 'output': {'out': True}}
            Node.__init__(self, parent)
        def process(self):
            self.terminals['output'].value = str(self.terminals['input'].value).upper()

Only what a node needs to compute is here (no Qt, no widgets): terminals with ``value``,
``setValue``/``getValue``/``opts``, ``self.terminals[name] = value`` as a shortcut, and a
``process()`` that may also return a dict of output values.
"""

from collections import OrderedDict

NODEWORKS_RUNNER_COMPAT = True
__version__ = "0+nodeworks-runner-compat"

_DEFAULT_OPTS = {
    "widget": None,
    "in": False,
    "out": False,
    "showlabel": True,
    "dtype": None,
    "value": None,
    "multiinput": False,
}


class Terminal(object):
    """One input or output of a node; ``value`` is what flows along connections."""

    def __init__(self, node, name, opts=None, value=None):
        self.node = node
        self.name = name
        merged = dict(_DEFAULT_OPTS)
        merged.update(opts or {})
        self.opts = merged
        self._value = value if value is not None else merged.get("value")

    @property
    def value(self):
        return self._value

    @value.setter
    def value(self, value):
        self._value = value

    def setValue(self, value, *args, **kwargs):
        self._value = value

    def getValue(self):
        return self._value

    def isInput(self):
        return bool(self.opts.get("in"))

    def isOutput(self):
        return bool(self.opts.get("out"))

    def isMultiInput(self):
        return bool(self.opts.get("multiinput"))

    @property
    def dtype(self):
        return self.opts.get("dtype")

    def __repr__(self):
        return "<Terminal %s.%s=%r>" % (getattr(self.node, "name", "?"), self.name, self._value)


class Terminals(OrderedDict):
    """``terminals[name]`` is a Terminal; ``terminals[name] = 3`` sets that terminal's value."""

    def __init__(self, node=None):
        OrderedDict.__init__(self)
        self._node = node

    def __setitem__(self, key, value):
        if isinstance(value, Terminal):
            OrderedDict.__setitem__(self, key, value)
        elif key in self:
            OrderedDict.__getitem__(self, key).value = value
        else:
            OrderedDict.__setitem__(self, key, Terminal(self._node, key, {"out": True}, value))


class Node(object):
    """Base class of Nodeworks nodes: subclasses set ``name``, ``terminalOpts`` and ``process()``."""

    name = "Node"
    nodeworks_runner_compat = True

    def __init__(self, parent=None, *args, **kwargs):
        self.parent = parent
        opts = getattr(self, "terminalOpts", None)
        if opts is None:
            opts = OrderedDict()
            self.terminalOpts = opts
        self.state = {}
        self.terminals = Terminals(self)
        for name, terminal_opts in opts.items():
            self.terminals[name] = Terminal(self, name, terminal_opts)

    def addTerminal(self, name, **opts):
        terminal = Terminal(self, name, opts)
        self.terminals[name] = terminal
        return terminal

    def inputs(self):
        return OrderedDict((n, t) for n, t in self.terminals.items() if t.isInput())

    def outputs(self):
        return OrderedDict((n, t) for n, t in self.terminals.items() if t.isOutput())

    def process(self):
        """Reads ``self.terminals[...].value`` of inputs, sets outputs. Override it."""
        return None

    def __repr__(self):
        return "<Node %s>" % self.name


__all__ = ["Node", "Terminal", "Terminals"]
