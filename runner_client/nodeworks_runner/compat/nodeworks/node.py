"""``from nodeworks.node import Node`` works too."""

from nodeworks import Node, Terminal, Terminals  # noqa: F401
