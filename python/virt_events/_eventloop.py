"""The library's default event loop, and handles and timers on the
registered loop."""

from __future__ import annotations

from typing import Any, Callable

from ._errors import _fail, libvirtError, virGetLastError
from ._exceptions import raise_pending
from ._lib import lib
from ._loop_owner import claim_event_loop
from ._registry import _C_FREE_ADDR, register
from ._trampolines import _C_HANDLE_ADDR, _C_TIMEOUT_ADDR

def virEventRegisterDefaultImpl() -> int:
    """Registers the library's built-in poll loop (run it with
    virEventRunDefaultImpl)."""
    claim_event_loop("default")
    ret = lib.virEventRegisterDefaultImpl()
    if ret == -1:
        raise _fail("virEventRegisterDefaultImpl")
    return ret


def virEventRunDefaultImpl() -> int:
    """Runs one iteration of the default loop: waits for the next due timer
    or ready handle and dispatches it; callbacks run on this thread."""
    ret = lib.virEventRunDefaultImpl()
    err = virGetLastError() if ret == -1 else None
    raise_pending()
    if ret == -1:
        raise libvirtError("virEventRunDefaultImpl() failed", err=err)
    return ret


def virEventAddTimeout(timeout: int, cb: Callable[[int, Any], object], opaque: Any = None) -> int:
    """Adds a timer to the registered loop, calling ``cb(timer, opaque)``
    every `timeout` ms (-1: disabled, 0: every iteration); returns its id."""
    if not callable(cb):
        raise TypeError("virEventAddTimeout: cb must be callable")
    return register(
        None,
        cb,
        opaque,
        "virEventAddTimeout",
        lambda token: lib.virEventAddTimeout(timeout, _C_TIMEOUT_ADDR, token, _C_FREE_ADDR),
        lib.virEventRemoveTimeout,
    )


def virEventUpdateTimeout(timer: int, timeout: int) -> None:
    lib.virEventUpdateTimeout(timer, timeout)


def virEventRemoveTimeout(timer: int) -> int:
    ret = lib.virEventRemoveTimeout(timer)
    if ret == -1:
        raise _fail("virEventRemoveTimeout")
    return ret


def virEventAddHandle(fd: int, events: int, cb: Callable[[int, int, int, Any], object], opaque: Any = None) -> int:
    """Watches `fd` for `events` (VIR_EVENT_HANDLE_* bits) on the registered
    loop, calling ``cb(watch, fd, events, opaque)``; returns the watch id."""
    if not callable(cb):
        raise TypeError("virEventAddHandle: cb must be callable")
    return register(
        None,
        cb,
        opaque,
        "virEventAddHandle",
        lambda token: lib.virEventAddHandle(fd, events, _C_HANDLE_ADDR, token, _C_FREE_ADDR),
        lib.virEventRemoveHandle,
    )


def virEventUpdateHandle(watch: int, events: int) -> None:
    lib.virEventUpdateHandle(watch, events)


def virEventRemoveHandle(watch: int) -> int:
    ret = lib.virEventRemoveHandle(watch)
    if ret == -1:
        raise _fail("virEventRemoveHandle")
    return ret
