"""The helpers of ``nodeworks.tools`` that custom nodes import."""


def flatten(items):
    """Flattens nested lists and tuples into one list: ``flatten([1, [2, (3, [4])]]) == [1, 2, 3, 4]``."""
    flat = []
    stack = [iter([items])]
    while stack:
        for item in stack[-1]:
            if isinstance(item, (list, tuple)):
                stack.append(iter(item))
                break
            flat.append(item)
        else:
            stack.pop()
    return flat
