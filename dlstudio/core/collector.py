"""Python's cyclic garbage collector held off during the walks over a whole graph.

A full collection visits every object alive in the process (torch and Qt alone bring about
300,000), and CPython starts one each time the objects that survived younger collections grow
by a quarter. Analysing, generating and compiling a large graph creates such objects by the
ten thousand (node infos, specs, source lines, modules), so the collector ran full passes
again and again during the work: about 40% of a 10,000-node compile. The work makes next to no
cyclic garbage, so it runs with the collector off; afterwards the young generation is
collected once, as it would have been at the next allocation.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_LOCK = threading.Lock()
_depth = 0
_resume = False


@contextmanager
def collector_paused() -> Iterator[None]:
    """Run the body with the cyclic garbage collector off (reference counting still frees
    almost everything). Nested and concurrent uses (worker threads) share one pause: the
    collector comes back, if it was on, when the last of them ends."""
    global _depth, _resume
    with _LOCK:
        if _depth == 0:
            _resume = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _LOCK:
            _depth -= 1
            resume = _depth == 0 and _resume
            if resume:
                gc.enable()
        if resume:
            gc.collect(0)
