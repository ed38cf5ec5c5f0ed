"""Pausing Python's cyclic garbage collector while a call builds a large tree of objects.

Decoding a 12 MB workflow makes ~1.5 million dicts, lists and strings; each 700 new containers start
a collection, and every so often a full one walks all objects alive. That walking was 80 % of
`json.loads` of a 20 MB stored file (0.92 s with the collector, 0.18 s without) and half of building a
run's task rows, while such trees hold no cycles for it to find. The collector is process-wide: in a
threaded server one call's pause is every thread's, so pauses nest by count and the last one out
switches it back on (unless it was off before the first); cycles made meanwhile are collected then.

What the collector skipped may be owed: cyclic garbage made during a pause waits for it, and objects
that grew old in a pause are left to full collections, which come rarely. When a pause ends with a
million new objects still alive (more than the revision caches keep), something large is held, maybe
by a cycle (workflows/apis.py lets go of a publish's body for that reason): the next request to finish
then runs a full collection, after its answer was sent.
"""

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from django.core.signals import request_finished

# New container objects alive when a pause ends past which a full collection is owed.
LARGE_PAUSE_OBJECTS = 1_000_000

_lock = threading.Lock()
_depth = 0
_was_enabled = False
_collection_owed = False


@contextmanager
def gc_paused() -> Iterator[None]:
    global _depth, _was_enabled, _collection_owed
    with _lock:
        if _depth == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                if gc.get_count()[0] > LARGE_PAUSE_OBJECTS:
                    _collection_owed = True
                if _was_enabled:
                    gc.enable()


def _collect_if_owed(**_kwargs) -> None:
    global _collection_owed
    with _lock:
        if not _collection_owed or _depth or not gc.isenabled():
            return  # a pause still running: the collection waits for a later request
        _collection_owed = False
    gc.collect()


request_finished.connect(_collect_if_owed, dispatch_uid="nodeworks_gc_pause")
