"""Value rules: what each input terminal of a task receives (SPEC.md, "Execution semantics").

Pure functions over plain data, so the rules test without a database.
"""

from collections.abc import Mapping

Source = tuple[str, str, bool]  # (source node, source terminal, feedback)


def input_terminals(node: dict) -> list[str]:
    return [name for name, terminal in node["terminals"].items() if terminal["opts"].get("in", False)]


def is_multiinput(node: dict, terminal: str) -> bool:
    return bool(node["terminals"][terminal]["opts"].get("multiinput", False))


def assemble_inputs(
    *,
    node: dict,
    sources: Mapping[str, list],
    upstream: Mapping[str, Mapping[str, object]],
    feedback: Mapping[tuple[str, str], object],
) -> dict:
    """`sources`: {terminal: [[node, terminal, feedback], ...]} in the file order of connections.
    `upstream`: outputs of the succeeded parents; `feedback`: values for feedback sources."""
    inputs = {}
    for name in input_terminals(node):
        connected = sources.get(name) or []
        if not connected:
            # Unconnected: the saved (or overridden) value as it is, even for a multiinput.
            inputs[name] = node["terminals"][name].get("value")
            continue
        values = [
            feedback.get((src_node, src_terminal)) if is_feedback else (upstream.get(src_node) or {}).get(src_terminal)
            for src_node, src_terminal, is_feedback in connected
        ]
        inputs[name] = values if is_multiinput(node, name) else values[0]
    return inputs
