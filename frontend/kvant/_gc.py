"""The cyclic garbage collector around kvant's bursts of allocation: importing JAX and
PennyLane, and compiling.

Both create ~10^5 objects at once. With the collector running, each young collection during the
burst traverses the objects created so far, and the full collections it triggers traverse all
of them: 520 young, 47 middle and 4 full collections while ``import kvant`` ran, 0.23-0.36 s of
its ~2.7 s (measured with ``gc.callbacks`` on a loaded 2-core machine). Reference counting still
frees what is not in a cycle while the collector is paused; cycles wait until it runs again.
"""

from __future__ import annotations

import contextlib
import gc


@contextlib.contextmanager
def paused():
    """The collector off for the duration (if it was on); what was allocated meanwhile is
    collected as usual afterwards."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@contextlib.contextmanager
def long_lived_imports():
    """Paused while modules that live as long as the process are imported; then their objects
    are put in the oldest generation at once, where the next full collection examines them (and
    any cycle among them is freed then), instead of each young collection that follows
    traversing all of them again on their way there.

    ``gc.freeze()`` followed by ``gc.unfreeze()`` moves every tracked object to the oldest
    generation and leaves none frozen. It is skipped when the program froze objects itself
    (``gc.get_freeze_count()``): unfreezing would release those too.
    """
    with paused():
        try:
            yield
        finally:
            if gc.get_freeze_count() == 0:
                gc.freeze()
                gc.unfreeze()
