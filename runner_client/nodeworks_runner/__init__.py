"""nodeworks-runner: executes the tasks of Nodeworks Distributed workflows on this host."""

__version__ = "0.1.0"
PROTOCOL_VERSION = "1"
