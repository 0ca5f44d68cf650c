"""The registry of registrations, keyed by the token passed as C opaque.

A registration passes the C library a trampoline, an integer token as the C
opaque, and one shared C free function. The token keys ``_registry``, which
holds the Python side of the registration (the connection object, the
Python callback and its opaque), so those stay alive exactly as long as the
C library holds the registration: the library calls the free function when
the registration ends (synchronously inside Deregister*, or at the end of
the flush for a deregistration made while events are being dispatched), and
that removes the entry.
"""

from __future__ import annotations

import atexit
import ctypes
import functools
import itertools
import time
from ctypes import c_void_p
from typing import Any, Callable, Dict

from ._errors import libvirtError, silence_errors, virGetLastError
from ._exceptions import _report
from ._lib import FreeCallback, keep_forever, lib

_registry: Dict[int, _Entry] = {}
_tokens = itertools.count(1)  # 0 would be a NULL opaque


class _Entry:
    __slots__ = ("conn", "cb", "opaque", "end", "__weakref__")

    def __init__(self, conn, cb, opaque):
        self.conn = conn
        self.cb = cb
        self.opaque = opaque
        # Set once registered: ends the registration (for _shutdown).
        self.end = None


def _register_entry(entry):
    token = next(_tokens)
    _registry[token] = entry
    return token


def register(
    conn: Any, cb: Any, opaque: Any, function: str, make: Callable[[int], int], end: Callable[[int], object]
) -> int:
    """Makes one registration through the library's `function`: `make(token)`
    calls it with the token as C opaque and _C_FREE_ADDR, returning the
    callback (timer, watch) ID or -1; `end(ID)` is how _shutdown ends it."""
    entry = _Entry(conn, cb, opaque)
    token = _register_entry(entry)
    ret = make(token)
    if ret == -1:
        err = virGetLastError()
        _registry.pop(token, None)  # the library does not free a failed registration
        raise libvirtError(f"{function}() failed", conn=conn, err=err)
    entry.end = functools.partial(end, ret)
    return ret


def _free(token):
    try:
        _registry.pop(token, None)
    except BaseException:
        _report("the free callback")


_C_FREE = keep_forever(FreeCallback(_free))
_C_FREE_ADDR = ctypes.cast(_C_FREE, c_void_p).value


def registered_count():
    """How many registrations (events, timers, handles) the binding holds."""
    return len(_registry)


def _shutdown(timeout=2.0):
    """At interpreter exit: ends every registration still held, and waits
    for the library to release them, so that no thread of the library (or a
    daemon thread running its loop) calls into Python once the interpreter
    is finalizing: Python then ends such a thread with pthread_exit, whose
    forced unwind through the library's frames aborts the process."""
    if not lib.loaded or not _registry:
        return
    silence_errors()
    for entry in list(_registry.values()):
        try:
            if entry.end is not None:
                entry.end()
        except Exception:
            pass
    deadline = time.monotonic() + timeout
    while _registry and time.monotonic() < deadline:
        time.sleep(0.002)  # lets a dispatch in progress finish and free


atexit.register(_shutdown)
