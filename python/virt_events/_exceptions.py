"""Exceptions raised inside C callbacks.

A C callback never lets an exception escape into C: an exception raised by
a user callback is printed with its traceback to stderr and the loop goes on
(KeyboardInterrupt and SystemExit are kept and re-raised once the loop
iteration returns to Python, by raise_pending).
"""

import sys
import threading
import traceback

_pending = threading.local()


def _report(where):
    """Reports the exception being handled inside a C callback."""
    exc = sys.exc_info()[1]
    if isinstance(exc, (KeyboardInterrupt, SystemExit)):
        if getattr(_pending, "exc", None) is None:
            _pending.exc = exc
        return
    try:
        sys.stderr.write(f"virt_events: exception in {where} (ignored, the event loop goes on):\n")
        traceback.print_exc()
        sys.stderr.flush()
    except BaseException:
        pass


def raise_pending():
    """Re-raises a KeyboardInterrupt/SystemExit caught in a callback that
    ran on this thread (called once control is back in Python)."""
    exc = getattr(_pending, "exc", None)
    if exc is not None:
        _pending.exc = None
        raise exc
