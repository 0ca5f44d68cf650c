"""The C trampolines of domain events, timers, handles and close callbacks.

For every event ID there is one C trampoline (a ctypes CFUNCTYPE object
created at import and kept for the life of the process, interpreter
shutdown included); a trampoline finds the Python side of its registration
in the registry by the token the library passes as opaque.
"""

import ctypes
from ctypes import c_int, c_void_p

from ._domain import virDomain
from ._events import EVENTS
from ._exceptions import _report
from ._lib import CloseFunc, HandleCallback, TimeoutCallback, keep_forever, lib
from ._registry import _registry

def _callback_domain(conn, dom_ptr):
    """A virDomain for the domain the library passes to a callback (valid
    only during the call, so it is referenced for the Python object)."""
    if not dom_ptr:
        return None
    if lib.virDomainRef(dom_ptr) < 0:
        return None
    return virDomain(conn, dom_ptr)


def _make_trampoline(spec):
    proto = ctypes.CFUNCTYPE(spec.restype, c_void_p, c_void_p, *spec.argtypes, c_void_p)
    convert = spec.convert
    returns = 0 if spec.restype is not None else None
    where = f"a {spec.name} event callback"

    def trampoline(_conn_ptr, dom_ptr, *rest):
        try:
            entry = _registry.get(rest[-1])
            if entry is not None:
                conn = entry.conn
                dom = _callback_domain(conn, dom_ptr)
                entry.cb(conn, dom, *convert(*rest[:-1]), entry.opaque)
        except BaseException:
            _report(where)
        return returns

    return keep_forever(proto(trampoline))


# One trampoline per event ID, alive for the life of the process.
_ANY_TRAMPOLINES = {event_id: _make_trampoline(spec) for event_id, spec in EVENTS.items()}
_ANY_ADDRS = {event_id: ctypes.cast(t, c_void_p).value for event_id, t in _ANY_TRAMPOLINES.items()}


def _legacy_trampoline(_conn_ptr, dom_ptr, event, detail, token):
    try:
        entry = _registry.get(token)
        if entry is None:
            return 0
        conn = entry.conn
        dom = _callback_domain(conn, dom_ptr)
        callbacks = conn.domainEventCallbacks
        for cb, opaque in list(callbacks.items()):
            if cb not in callbacks:  # removed by an earlier callback
                continue
            try:
                cb(conn, dom, event, detail, opaque)
            except BaseException:
                _report("a domainEventRegister callback")
    except BaseException:
        _report("a domainEventRegister callback")
    return 0


_C_LEGACY = keep_forever(ctypes.CFUNCTYPE(c_int, c_void_p, c_void_p, c_int, c_int, c_void_p)(_legacy_trampoline))
_C_LEGACY_ADDR = ctypes.cast(_C_LEGACY, c_void_p).value


def _timeout_trampoline(timer, token):
    try:
        entry = _registry.get(token)
        if entry is not None:
            entry.cb(timer, entry.opaque)
    except BaseException:
        _report("a timeout callback")


def _handle_trampoline(watch, fd, events, token):
    try:
        entry = _registry.get(token)
        if entry is not None:
            entry.cb(watch, fd, events, entry.opaque)
    except BaseException:
        _report("a handle callback")


def _close_trampoline(_conn_ptr, reason, token):
    try:
        entry = _registry.get(token)
        if entry is not None:
            entry.cb(entry.conn, reason, entry.opaque)
    except BaseException:
        _report("a close callback")


_C_CLOSE = keep_forever(CloseFunc(_close_trampoline))
_C_CLOSE_ADDR = ctypes.cast(_C_CLOSE, c_void_p).value
_C_TIMEOUT = keep_forever(TimeoutCallback(_timeout_trampoline))
_C_TIMEOUT_ADDR = ctypes.cast(_C_TIMEOUT, c_void_p).value
_C_HANDLE = keep_forever(HandleCallback(_handle_trampoline))
_C_HANDLE_ADDR = ctypes.cast(_C_HANDLE, c_void_p).value
