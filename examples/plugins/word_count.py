"""A Nodeworks custom-node file: the "Word Count" node of the group "example nodes".

Written against Nodeworks's custom-node API (``NAME``, ``returnNodes()``, ``Node`` subclasses with
``terminalOpts`` and ``process()``), so the same file works in the Nodeworks desktop app and on a
runner started with ``--node-path examples/plugins`` (the runner brings a small ``nodeworks``
compatibility module when Nodeworks itself is not installed).
"""

from collections import Counter

from nodeworks import Node

NAME = "example nodes"


def returnNodes():
    return [WordCount]


class WordCount(Node):
    name = "Word Count"

    def __init__(self, parent=None):
        self.terminalOpts = {
            "text": {"widget": "lineedit", "in": True, "showlabel": True, "dtype": str},
            "words": {"out": True, "dtype": int},
            "most_common": {"out": True, "dtype": str},
        }
        Node.__init__(self, parent)

    def process(self):
        words = str(self.terminals["text"].value or "").lower().split()
        self.terminals["words"].value = len(words)
        # Ties go to the word seen first, so the answer does not depend on hashing.
        self.terminals["most_common"].value = Counter(words).most_common(1)[0][0] if words else ""
        print(f"counted {len(words)} words")
