"""Connections, domains, errors, event registration and the event-loop API.

How callbacks reach Python: for every event ID there is one C trampoline (a
ctypes CFUNCTYPE object created at import and kept for the life of the
process, interpreter shutdown included). A registration passes the C
library that trampoline, an integer token as the C opaque, and one shared C
free function. The token keys
``_registry``, which holds the Python side of the registration (the
connection object, the Python callback and its opaque), so those stay alive
exactly as long as the C library holds the registration: the library calls
the free function when the registration ends (synchronously inside
Deregister*, or at the end of the flush for a deregistration made while
events are being dispatched), and that removes the entry.

Trampolines never let an exception escape into C: an exception raised by a
user callback is printed with its traceback to stderr and the loop goes on
(KeyboardInterrupt and SystemExit are kept and re-raised once the loop
iteration returns to Python).
"""

import atexit
import ctypes
import itertools
import sys
import threading
import time
import traceback
from typing import NamedTuple
from ctypes import POINTER, byref, c_int, c_ulong, c_void_p

from . import _constants as C
from ._events import EVENTS
from ._lib import (
    CloseFunc,
    ErrorFunc,
    FreeCallback,
    HandleCallback,
    TimeoutCallback,
    _virDomainInfo,
    dec,
    enc,
    keep_forever,
    lib,
    take_string,
)


# --------------------------------------------------------------------------
# Errors


class libvirtError(Exception):
    """An error reported by the library.

    ``err`` is the error record as a tuple ``(code, domain, message, level,
    str1, str2, str3, int1, int2)``, read with virGetLastError right after
    the failing call (None when the library reported nothing).
    """

    def __init__(self, defmsg, conn=None, dom=None, err=None):
        self.err = err
        self.conn = conn
        self.dom = dom
        msg = err[2] if err is not None and err[2] else defmsg
        super().__init__(msg)

    def _field(self, index):
        return None if self.err is None else self.err[index]

    def get_error_code(self):
        return self._field(0)

    def get_error_domain(self):
        return self._field(1)

    def get_error_message(self):
        return self._field(2)

    def get_error_level(self):
        return self._field(3)

    def get_str1(self):
        return self._field(4)

    def get_str2(self):
        return self._field(5)

    def get_str3(self):
        return self._field(6)

    def get_int1(self):
        return self._field(7)

    def get_int2(self):
        return self._field(8)


def _error_tuple(ptr):
    if not ptr:
        return None
    e = ptr.contents
    if e.code == C.VIR_ERR_OK:
        return None
    return (e.code, e.domain, dec(e.message), e.level, dec(e.str1), dec(e.str2), dec(e.str3), e.int1, e.int2)


def virGetLastError():
    """The calling thread's last error as a tuple, or None."""
    return _error_tuple(lib.virGetLastError())


def _fail(function, conn=None, dom=None):
    """The libvirtError for a call of `function` that just failed.

    Must be called right after the failing call, on the same thread, before
    anything else calls into the library (the error record is per thread and
    every API call resets it).
    """
    return libvirtError(f"{function}() failed", conn=conn, dom=dom, err=virGetLastError())


def _local_error(message, code=C.VIR_ERR_INVALID_ARG, domain=C.VIR_FROM_DOMAIN):
    """A libvirtError raised by the binding itself, shaped like the library's."""
    return libvirtError(message, err=(code, domain, message, C.VIR_ERR_ERROR, None, None, None, 0, 0))


_error_handler = None  # (f, ctx) from registerErrorHandler


def _on_error(_userdata, err):
    try:
        handler = _error_handler
        if handler is not None:
            handler[0](handler[1], _error_tuple(err))
    except BaseException:
        _report("error handler")


_C_ERROR_HANDLER = keep_forever(ErrorFunc(_on_error))


def registerErrorHandler(f, ctx):
    """Calls ``f(ctx, error_tuple)`` for every error the library raises,
    instead of the library printing it to stderr; ``f=None`` restores the
    printing. ``f`` runs inside the failing call and must not call the
    library."""
    global _error_handler
    if f is not None and not callable(f):
        raise TypeError("registerErrorHandler: f must be callable or None")
    _error_handler = None if f is None else (f, ctx)
    if f is None:
        lib.virSetErrorFunc(None, None)
    else:
        lib.virSetErrorFunc(None, ctypes.cast(_C_ERROR_HANDLER, c_void_p))
    return 1


# --------------------------------------------------------------------------
# Exceptions inside callbacks

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


# --------------------------------------------------------------------------
# The registry of registrations, keyed by the token passed as C opaque

_registry = {}
_tokens = itertools.count(1)  # 0 would be a NULL opaque


class _Entry:
    __slots__ = ("conn", "cb", "opaque", "what", "conn_ptr", "id", "__weakref__")

    def __init__(self, conn, cb, opaque, what):
        self.conn = conn
        self.cb = cb
        self.opaque = opaque
        self.what = what
        # Set once registered: the C connection (valid while the registration
        # holds it) and the callback / timer / watch ID, for _shutdown.
        self.conn_ptr = None if conn is None else conn._o
        self.id = None


def _register_entry(entry):
    token = next(_tokens)
    _registry[token] = entry
    return token


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
    global _error_handler
    if not lib.loaded or not _registry:
        return
    _error_handler = (lambda ctx, err: None, None)  # double removals are expected
    lib.virSetErrorFunc(None, ctypes.cast(_C_ERROR_HANDLER, c_void_p))
    for entry in list(_registry.values()):
        try:
            if entry.id is None:
                continue
            if entry.what == "timeout":
                lib.virEventRemoveTimeout(entry.id)
            elif entry.what == "handle":
                lib.virEventRemoveHandle(entry.id)
            elif entry.what == "legacy":
                lib.virConnectDomainEventDeregister(entry.conn_ptr, _C_LEGACY_ADDR)
            elif entry.what == "close":
                lib.virConnectUnregisterCloseCallback(entry.conn_ptr, _C_CLOSE_ADDR)
                _registry.pop(entry.id, None)  # entry.id is its token: see registerCloseCallback
            elif entry.what in _OBJECT_DEREGISTER:
                getattr(lib, _OBJECT_DEREGISTER[entry.what])(entry.conn_ptr, entry.id)
            else:
                lib.virConnectDomainEventDeregisterAny(entry.conn_ptr, entry.id)
        except Exception:
            pass
    deadline = time.monotonic() + timeout
    while _registry and time.monotonic() < deadline:
        time.sleep(0.002)  # lets a dispatch in progress finish and free


atexit.register(_shutdown)


# --------------------------------------------------------------------------
# Trampolines


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


# --------------------------------------------------------------------------
# Domains


class virDomain:
    """A domain of a connection (libvirt-python's virDomain, for the calls
    the library supports)."""

    def __init__(self, conn, _obj):
        self._conn = conn
        self._o = _obj

    def __del__(self):
        o, self._o = getattr(self, "_o", None), None
        if o:
            try:
                lib.virDomainFree(o)
            except Exception:
                pass

    def __repr__(self):
        try:
            return f"<virDomain {self.name()!r} id={self.ID()}>"
        except Exception:
            return "<virDomain>"

    def connect(self):
        return self._conn

    def _check(self, ret, function):
        if ret == -1:
            raise _fail(function, conn=self._conn, dom=self)
        return ret

    def name(self):
        name = lib.virDomainGetName(self._o)
        if name is None:
            raise _fail("virDomainGetName", conn=self._conn, dom=self)
        return dec(name)

    def ID(self):
        value = lib.virDomainGetID(self._o)
        return -1 if value == 0xFFFFFFFF else value

    def UUID(self):
        buf = ctypes.create_string_buffer(C.VIR_UUID_BUFLEN)
        self._check(lib.virDomainGetUUID(self._o, buf), "virDomainGetUUID")
        return buf.raw

    def UUIDString(self):
        buf = ctypes.create_string_buffer(C.VIR_UUID_STRING_BUFLEN)
        self._check(lib.virDomainGetUUIDString(self._o, buf), "virDomainGetUUIDString")
        return dec(buf.value)

    def XMLDesc(self, flags=0):
        ptr = lib.virDomainGetXMLDesc(self._o, flags)
        if not ptr:
            raise _fail("virDomainGetXMLDesc", conn=self._conn, dom=self)
        return take_string(ptr)

    def state(self, flags=0):
        """[state, reason]"""
        state, reason = c_int(), c_int()
        self._check(lib.virDomainGetState(self._o, byref(state), byref(reason), flags), "virDomainGetState")
        return [state.value, reason.value]

    def info(self):
        """[state, maxMem, memory, nrVirtCpu, cpuTime]"""
        info = _virDomainInfo()
        self._check(lib.virDomainGetInfo(self._o, byref(info)), "virDomainGetInfo")
        return [info.state, info.maxMem, info.memory, info.nrVirtCpu, info.cpuTime]

    def isActive(self):
        return self._check(lib.virDomainIsActive(self._o), "virDomainIsActive")

    def isPersistent(self):
        return self._check(lib.virDomainIsPersistent(self._o), "virDomainIsPersistent")

    def suspend(self):
        return self._check(lib.virDomainSuspend(self._o), "virDomainSuspend")

    def resume(self):
        return self._check(lib.virDomainResume(self._o), "virDomainResume")

    def reboot(self, flags=0):
        return self._check(lib.virDomainReboot(self._o, flags), "virDomainReboot")

    def reset(self, flags=0):
        return self._check(lib.virDomainReset(self._o, flags), "virDomainReset")

    def shutdown(self):
        return self._check(lib.virDomainShutdown(self._o), "virDomainShutdown")

    def destroy(self):
        return self._check(lib.virDomainDestroy(self._o), "virDomainDestroy")

    def create(self):
        return self._check(lib.virDomainCreate(self._o), "virDomainCreate")

    def undefine(self):
        return self._check(lib.virDomainUndefine(self._o), "virDomainUndefine")


# --------------------------------------------------------------------------
# Networks, storage pools, node devices, secrets


class _Object:
    """What virNetwork, virStoragePool, virNodeDevice and virSecret share:
    the C object (one reference, dropped by __del__) and its connection."""

    _FREE = None  # the class's vir*Free

    def __init__(self, conn, _obj):
        self._conn = conn
        self._o = _obj

    def __del__(self):
        o, self._o = getattr(self, "_o", None), None
        if o:
            try:
                getattr(lib, self._FREE)(o)
            except Exception:
                pass

    def __repr__(self):
        try:
            return f"<{type(self).__name__} {self._label()!r}>"
        except Exception:
            return f"<{type(self).__name__}>"

    def _label(self):
        return self.name()

    def connect(self):
        return self._conn

    def _check(self, ret, function):
        if ret == -1:
            raise _fail(function, conn=self._conn)
        return ret

    def _string(self, value, function):
        if value is None:
            raise _fail(function, conn=self._conn)
        return dec(value)

    def _uuid(self, function):
        buf = ctypes.create_string_buffer(C.VIR_UUID_BUFLEN)
        self._check(getattr(lib, function)(self._o, buf), function)
        return buf.raw

    def _uuid_string(self, function):
        buf = ctypes.create_string_buffer(C.VIR_UUID_STRING_BUFLEN)
        self._check(getattr(lib, function)(self._o, buf), function)
        return dec(buf.value)


class virNetwork(_Object):
    """A virtual network (libvirt-python's virNetwork, for the calls the
    library supports)."""

    _FREE = "virNetworkFree"

    def name(self):
        return self._string(lib.virNetworkGetName(self._o), "virNetworkGetName")

    def UUID(self):
        return self._uuid("virNetworkGetUUID")

    def UUIDString(self):
        return self._uuid_string("virNetworkGetUUIDString")

    def create(self):
        return self._check(lib.virNetworkCreate(self._o), "virNetworkCreate")

    def destroy(self):
        return self._check(lib.virNetworkDestroy(self._o), "virNetworkDestroy")

    def undefine(self):
        return self._check(lib.virNetworkUndefine(self._o), "virNetworkUndefine")


class virStoragePool(_Object):
    """A storage pool (libvirt-python's virStoragePool, for the calls the
    library supports)."""

    _FREE = "virStoragePoolFree"

    def name(self):
        return self._string(lib.virStoragePoolGetName(self._o), "virStoragePoolGetName")

    def UUID(self):
        return self._uuid("virStoragePoolGetUUID")

    def UUIDString(self):
        return self._uuid_string("virStoragePoolGetUUIDString")

    def refresh(self, flags=0):
        return self._check(lib.virStoragePoolRefresh(self._o, flags), "virStoragePoolRefresh")


class virNodeDevice(_Object):
    """A node device (libvirt-python's virNodeDevice, for the calls the
    library supports)."""

    _FREE = "virNodeDeviceFree"

    def name(self):
        return self._string(lib.virNodeDeviceGetName(self._o), "virNodeDeviceGetName")

    def destroy(self):
        return self._check(lib.virNodeDeviceDestroy(self._o), "virNodeDeviceDestroy")


class virSecret(_Object):
    """A secret (libvirt-python's virSecret, for the calls the library
    supports)."""

    _FREE = "virSecretFree"

    def _label(self):
        return self.UUIDString()

    def UUID(self):
        return self._uuid("virSecretGetUUID")

    def UUIDString(self):
        return self._uuid_string("virSecretGetUUIDString")

    def usageType(self):
        return self._check(lib.virSecretGetUsageType(self._o), "virSecretGetUsageType")

    def usageID(self):
        return self._string(lib.virSecretGetUsageID(self._o), "virSecretGetUsageID")


class _ObjectEvents(NamedTuple):
    """One object class's event registration: its C names, its Python
    class, and its event IDs."""

    #: "Network" as in virConnectNetworkEventRegisterAny, virNetworkRef
    c_name: str
    cls: type
    #: the error domain of the class's argument errors
    error_domain: int
    #: libvirt-python's {callback ID: opaque} attribute of virConnect
    ids_attr: str
    #: event ID -> (name, ctypes types of the C arguments between the object and opaque)
    events: dict

    @property
    def register(self):
        return f"virConnect{self.c_name}EventRegisterAny"

    @property
    def deregister(self):
        return f"virConnect{self.c_name}EventDeregisterAny"

    def what(self, event_id):
        """The _Entry.what of a registration for `event_id`."""
        return f"{self.c_name} {self.events[event_id][0]}"


_LIFECYCLE_ARGS = (c_int, c_int)  # event, detail

_NETWORK_EVENTS = _ObjectEvents(
    "Network", virNetwork, C.VIR_FROM_NETWORK, "networkEventCallbackID",
    {C.VIR_NETWORK_EVENT_ID_LIFECYCLE: ("LIFECYCLE", _LIFECYCLE_ARGS)},
)
_STORAGE_POOL_EVENTS = _ObjectEvents(
    "StoragePool", virStoragePool, C.VIR_FROM_STORAGE, "storagePoolEventCallbackID",
    {C.VIR_STORAGE_POOL_EVENT_ID_LIFECYCLE: ("LIFECYCLE", _LIFECYCLE_ARGS),
     C.VIR_STORAGE_POOL_EVENT_ID_REFRESH: ("REFRESH", ())},
)
_NODE_DEVICE_EVENTS = _ObjectEvents(
    "NodeDevice", virNodeDevice, C.VIR_FROM_NODEDEV, "nodeDeviceEventCallbackID",
    {C.VIR_NODE_DEVICE_EVENT_ID_LIFECYCLE: ("LIFECYCLE", _LIFECYCLE_ARGS),
     C.VIR_NODE_DEVICE_EVENT_ID_UPDATE: ("UPDATE", ())},
)
_SECRET_EVENTS = _ObjectEvents(
    "Secret", virSecret, C.VIR_FROM_SECRET, "secretEventCallbackID",
    {C.VIR_SECRET_EVENT_ID_LIFECYCLE: ("LIFECYCLE", _LIFECYCLE_ARGS),
     C.VIR_SECRET_EVENT_ID_VALUE_CHANGED: ("VALUE_CHANGED", ())},
)
_OBJECT_CLASSES = (_NETWORK_EVENTS, _STORAGE_POOL_EVENTS, _NODE_DEVICE_EVENTS, _SECRET_EVENTS)


def _callback_object(kind, conn, ptr):
    """The Python object for the network / pool / device / secret the
    library passes to a callback (valid only during the call, so it is
    referenced for the Python object), as _callback_domain."""
    if not ptr:
        return None
    if getattr(lib, f"vir{kind.c_name}Ref")(ptr) < 0:
        return None
    return kind.cls(conn, ptr)


def _make_object_trampoline(kind, event_id):
    name, argtypes = kind.events[event_id]
    # Every one of these callbacks returns void.
    proto = ctypes.CFUNCTYPE(None, c_void_p, c_void_p, *argtypes, c_void_p)
    where = f"a {kind.c_name} {name} event callback"

    def trampoline(_conn_ptr, obj_ptr, *rest):
        try:
            entry = _registry.get(rest[-1])
            if entry is not None:
                conn = entry.conn
                entry.cb(conn, _callback_object(kind, conn, obj_ptr), *rest[:-1], entry.opaque)
        except BaseException:
            _report(where)

    return keep_forever(proto(trampoline))


# One trampoline per (class, event ID), alive for the life of the process.
_OBJECT_TRAMPOLINES = {
    (kind.c_name, event_id): _make_object_trampoline(kind, event_id)
    for kind in _OBJECT_CLASSES
    for event_id in kind.events
}
_OBJECT_ADDRS = {key: ctypes.cast(t, c_void_p).value for key, t in _OBJECT_TRAMPOLINES.items()}
# _Entry.what -> the function _shutdown ends the registration with
_OBJECT_DEREGISTER = {
    kind.what(event_id): kind.deregister for kind in _OBJECT_CLASSES for event_id in kind.events
}


def _register_object_event(conn, kind, obj, eventID, cb, opaque):
    """The body of virConnect.networkEventRegisterAny and its siblings."""
    function = kind.register
    if eventID not in kind.events:
        if isinstance(eventID, int) and eventID < 0:
            message = f"eventID in {function} must be zero or greater"
        else:
            message = f"eventID in {function} must be less than {len(kind.events)}"
        raise _local_error(message, domain=kind.error_domain)
    if cb is None:
        raise _local_error(f"cb in {function} must not be NULL", domain=kind.error_domain)
    if not callable(cb):
        raise TypeError(f"{function}: cb must be callable")
    obj_ptr = None if obj is None else obj._o
    entry = _Entry(conn, cb, opaque, kind.what(eventID))
    token = _register_entry(entry)
    addr = _OBJECT_ADDRS[(kind.c_name, eventID)]
    ret = getattr(lib, function)(conn._o, obj_ptr, eventID, addr, token, _C_FREE_ADDR)
    if ret == -1:
        err = virGetLastError()
        _registry.pop(token, None)  # the library does not free a failed registration
        raise libvirtError(f"{function}() failed", conn=conn, err=err)
    entry.id = ret
    getattr(conn, kind.ids_attr)[ret] = opaque
    return ret


def _deregister_object_event(conn, kind, callbackID):
    """The body of virConnect.networkEventDeregisterAny and its siblings
    (the library looks the ID up among every class's registrations)."""
    ret = getattr(lib, kind.deregister)(conn._o, callbackID)
    if ret == -1:
        raise _fail(kind.deregister, conn=conn)
    getattr(conn, kind.ids_attr).pop(callbackID, None)


# --------------------------------------------------------------------------
# Connections


class virConnect:
    """A connection (libvirt-python's virConnect, for the calls the library
    supports)."""

    def __init__(self, _obj):
        self._o = _obj
        # libvirt-python's bookkeeping: legacy callbacks {cb: opaque}, and
        # the opaque of every RegisterAny callback ID.
        self.domainEventCallbacks = {}
        self.domainEventCallbackID = {}
        # ... and of the other classes' callback IDs
        for kind in _OBJECT_CLASSES:
            setattr(self, kind.ids_attr, {})
        self._legacy_lock = threading.Lock()
        self._close_token = None

    def __del__(self):
        o, self._o = getattr(self, "_o", None), None
        if o:
            try:
                lib.virConnectClose(o)
            except Exception:
                pass

    def __repr__(self):
        return f"<virConnect {self._o and self.getURI()!r}>"

    def _check(self, ret, function):
        if ret == -1:
            raise _fail(function, conn=self)
        return ret

    def _domain(self, ptr, function):
        if not ptr:
            raise _fail(function, conn=self)
        return virDomain(self, ptr)

    def close(self):
        """Drops this object's reference: 0 once the connection is closed, 1
        while registrations or domain objects still hold it."""
        ret = lib.virConnectClose(self._o)
        err = virGetLastError() if ret == -1 else None
        self._o = None
        if ret == -1:
            raise libvirtError("virConnectClose() failed", err=err)
        if ret == 0 and self._close_token is not None:
            # The connection is gone, and its close callback with it.
            _registry.pop(self._close_token, None)
            self._close_token = None
        return ret

    def getURI(self):
        ptr = lib.virConnectGetURI(self._o)
        if not ptr:
            raise _fail("virConnectGetURI", conn=self)
        return take_string(ptr)

    def isAlive(self):
        return self._check(lib.virConnectIsAlive(self._o), "virConnectIsAlive")

    def setKeepAlive(self, interval, count):
        """0, or 1 when the other side has no keepalive (in-process drivers)."""
        return self._check(lib.virConnectSetKeepAlive(self._o, interval, count), "virConnectSetKeepAlive")

    def registerCloseCallback(self, cb, opaque=None):
        """Registers ``cb(conn, reason, opaque)``, called if the connection
        closes. One per connection: a new one replaces the previous (the
        library accepts both, as libvirt 9.0's in-process drivers do, and
        never calls them, in-process connections having no transport)."""
        if not callable(cb):
            raise TypeError("registerCloseCallback: cb must be callable")
        entry = _Entry(self, cb, opaque, "close")
        token = _register_entry(entry)
        ret = lib.virConnectRegisterCloseCallback(self._o, _C_CLOSE_ADDR, token, _C_FREE_ADDR)
        if ret == -1:
            err = virGetLastError()
            _registry.pop(token, None)
            raise libvirtError("virConnectRegisterCloseCallback() failed", conn=self, err=err)
        entry.id = token
        previous, self._close_token = self._close_token, token
        if previous is not None:
            _registry.pop(previous, None)
        return ret

    def unregisterCloseCallback(self):
        """Removes the close callback (and releases its callback and opaque)."""
        ret = lib.virConnectUnregisterCloseCallback(self._o, _C_CLOSE_ADDR)
        if ret == -1:
            raise _fail("virConnectUnregisterCloseCallback", conn=self)
        # The library does not call the free function (nor does libvirt 9.0
        # for in-process connections): the entry is ours to drop.
        if self._close_token is not None:
            _registry.pop(self._close_token, None)
            self._close_token = None
        return ret

    def listAllDomains(self, flags=0):
        array = POINTER(c_void_p)()
        n = lib.virConnectListAllDomains(self._o, byref(array), flags)
        if n == -1:
            raise _fail("virConnectListAllDomains", conn=self)
        try:
            return [virDomain(self, array[i]) for i in range(n)]
        finally:
            lib.free(array)

    def lookupByName(self, name):
        return self._domain(lib.virDomainLookupByName(self._o, enc(name)), "virDomainLookupByName")

    def lookupByID(self, id):
        return self._domain(lib.virDomainLookupByID(self._o, id), "virDomainLookupByID")

    def lookupByUUIDString(self, uuidstr):
        return self._domain(lib.virDomainLookupByUUIDString(self._o, enc(uuidstr)), "virDomainLookupByUUIDString")

    def createXML(self, xmlDesc, flags=0):
        return self._domain(lib.virDomainCreateXML(self._o, enc(xmlDesc), flags), "virDomainCreateXML")

    def defineXML(self, xml):
        return self._domain(lib.virDomainDefineXML(self._o, enc(xml)), "virDomainDefineXML")

    # -- events ------------------------------------------------------------

    def domainEventRegister(self, cb, opaque=None):
        """Adds a legacy lifecycle callback ``cb(conn, dom, event, detail,
        opaque)``. All of a connection's legacy callbacks share one C
        registration, made with the first and removed with the last."""
        if not callable(cb):
            raise TypeError("domainEventRegister: cb must be callable")
        with self._legacy_lock:
            first = not self.domainEventCallbacks
            self.domainEventCallbacks[cb] = opaque
            if not first:
                return
            entry = _Entry(self, None, None, "legacy")
            token = _register_entry(entry)
            ret = lib.virConnectDomainEventRegister(self._o, _C_LEGACY_ADDR, token, _C_FREE_ADDR)
            if ret == -1:
                err = virGetLastError()
                _registry.pop(token, None)
                self.domainEventCallbacks.pop(cb, None)
                raise libvirtError("virConnectDomainEventRegister() failed", conn=self, err=err)
            entry.id = ret

    def domainEventDeregister(self, cb):
        """Removes a legacy callback (the C registration goes with the last)."""
        with self._legacy_lock:
            if cb not in self.domainEventCallbacks:
                raise _local_error(
                    f"invalid argument: event callback function {cb!r} not registered", domain=C.VIR_FROM_NONE
                )
            del self.domainEventCallbacks[cb]
            if self.domainEventCallbacks:
                return
            ret = lib.virConnectDomainEventDeregister(self._o, _C_LEGACY_ADDR)
            if ret == -1:
                raise _fail("virConnectDomainEventDeregister", conn=self)

    def domainEventRegisterAny(self, dom, eventID, cb, opaque=None):
        """Registers ``cb(conn, dom, *args, opaque)`` for `eventID` events (of
        `dom` only, unless None); returns the callback ID."""
        spec = EVENTS.get(eventID)
        if spec is None:
            if isinstance(eventID, int) and eventID < 0:
                raise _local_error("eventID in virConnectDomainEventRegisterAny must be zero or greater")
            raise _local_error(f"eventID must be less than {len(EVENTS)}")
        if cb is None:
            raise _local_error("cb in virConnectDomainEventRegisterAny must not be NULL")
        if not callable(cb):
            raise TypeError("domainEventRegisterAny: cb must be callable")
        dom_ptr = None if dom is None else dom._o
        entry = _Entry(self, cb, opaque, spec.name)
        token = _register_entry(entry)
        ret = lib.virConnectDomainEventRegisterAny(self._o, dom_ptr, eventID, _ANY_ADDRS[eventID], token, _C_FREE_ADDR)
        if ret == -1:
            err = virGetLastError()
            _registry.pop(token, None)  # the library does not free a failed registration
            raise libvirtError("virConnectDomainEventRegisterAny() failed", conn=self, err=err)
        entry.id = ret
        self.domainEventCallbackID[ret] = opaque
        return ret

    def domainEventDeregisterAny(self, callbackID):
        """Removes the registration `callbackID`."""
        ret = lib.virConnectDomainEventDeregisterAny(self._o, callbackID)
        if ret == -1:
            raise _fail("virConnectDomainEventDeregisterAny", conn=self)
        self.domainEventCallbackID.pop(callbackID, None)

    # -- networks, storage pools, node devices, secrets --------------------

    def _object(self, cls, ptr, function):
        if not ptr:
            raise _fail(function, conn=self)
        return cls(self, ptr)

    def networkLookupByName(self, name):
        return self._object(virNetwork, lib.virNetworkLookupByName(self._o, enc(name)), "virNetworkLookupByName")

    def networkDefineXML(self, xml):
        return self._object(virNetwork, lib.virNetworkDefineXML(self._o, enc(xml)), "virNetworkDefineXML")

    def storagePoolLookupByName(self, name):
        ptr = lib.virStoragePoolLookupByName(self._o, enc(name))
        return self._object(virStoragePool, ptr, "virStoragePoolLookupByName")

    def nodeDeviceLookupByName(self, name):
        ptr = lib.virNodeDeviceLookupByName(self._o, enc(name))
        return self._object(virNodeDevice, ptr, "virNodeDeviceLookupByName")

    def nodeDeviceCreateXML(self, xmlDesc, flags=0):
        ptr = lib.virNodeDeviceCreateXML(self._o, enc(xmlDesc), flags)
        return self._object(virNodeDevice, ptr, "virNodeDeviceCreateXML")

    def networkEventRegisterAny(self, net, eventID, cb, opaque=None):
        """Registers ``cb(conn, net, event, detail, opaque)`` for network
        lifecycle events (of `net` only, unless None); returns the callback ID."""
        return _register_object_event(self, _NETWORK_EVENTS, net, eventID, cb, opaque)

    def networkEventDeregisterAny(self, callbackID):
        return _deregister_object_event(self, _NETWORK_EVENTS, callbackID)

    def storagePoolEventRegisterAny(self, pool, eventID, cb, opaque=None):
        """Registers `cb` for `eventID` events of every pool (or of `pool`):
        LIFECYCLE ``cb(conn, pool, event, detail, opaque)``, REFRESH
        ``cb(conn, pool, opaque)``; returns the callback ID."""
        return _register_object_event(self, _STORAGE_POOL_EVENTS, pool, eventID, cb, opaque)

    def storagePoolEventDeregisterAny(self, callbackID):
        return _deregister_object_event(self, _STORAGE_POOL_EVENTS, callbackID)

    def nodeDeviceEventRegisterAny(self, dev, eventID, cb, opaque=None):
        """Registers `cb` for `eventID` events of every node device (or of
        `dev`): LIFECYCLE ``cb(conn, dev, event, detail, opaque)``, UPDATE
        ``cb(conn, dev, opaque)``; returns the callback ID."""
        return _register_object_event(self, _NODE_DEVICE_EVENTS, dev, eventID, cb, opaque)

    def nodeDeviceEventDeregisterAny(self, callbackID):
        return _deregister_object_event(self, _NODE_DEVICE_EVENTS, callbackID)

    def secretEventRegisterAny(self, secret, eventID, cb, opaque=None):
        """Registers `cb` for `eventID` events of every secret (or of
        `secret`): LIFECYCLE ``cb(conn, secret, event, detail, opaque)``,
        VALUE_CHANGED ``cb(conn, secret, opaque)``; returns the callback ID."""
        return _register_object_event(self, _SECRET_EVENTS, secret, eventID, cb, opaque)

    def secretEventDeregisterAny(self, callbackID):
        return _deregister_object_event(self, _SECRET_EVENTS, callbackID)

    def events(self, eventID=C.VIR_DOMAIN_EVENT_ID_LIFECYCLE, dom=None):
        """An async iterator of this connection's `eventID` events (of `dom`
        only, unless None), as DomainEvent tuples; see virt_events.aio."""
        from .aio import DomainEventStream

        return DomainEventStream(self, eventID, dom)


# --------------------------------------------------------------------------
# Opening


def open(name=None):
    """Opens a read-write connection (None: the default URI)."""
    ptr = lib.virConnectOpen(enc(name))
    if not ptr:
        raise _fail("virConnectOpen")
    return virConnect(ptr)


def openReadOnly(name=None):
    """Opens a read-only connection: events work, domain operations are refused."""
    ptr = lib.virConnectOpenReadOnly(enc(name))
    if not ptr:
        raise _fail("virConnectOpenReadOnly")
    return virConnect(ptr)


def openAuth(uri, auth=None, flags=0):
    """Opens a connection with `flags` (VIR_CONNECT_RO...); the in-process
    drivers need no credentials, so `auth` is ignored."""
    ptr = lib.virConnectOpenAuth(enc(uri), None, flags)
    if not ptr:
        raise _fail("virConnectOpenAuth")
    return virConnect(ptr)


def getVersion(name=None):
    """The library's version (or the driver's, for a driver type name)."""
    lib_ver, type_ver = c_ulong(), c_ulong()
    if name is None:
        ret = lib.virGetVersion(byref(lib_ver), None, None)
    else:
        ret = lib.virGetVersion(byref(lib_ver), enc(name), byref(type_ver))
    if ret == -1:
        raise _fail("virGetVersion")
    return lib_ver.value if name is None else type_ver.value


# --------------------------------------------------------------------------
# Event loop

_loop_lock = threading.Lock()
_loop_kind = None  # "default" or "asyncio": the process's one event-loop implementation


def claim_event_loop(kind):
    """Records that `kind` is the process's event loop; the first
    registration wins (as in libvirt), so another kind is refused."""
    global _loop_kind
    with _loop_lock:
        if _loop_kind is not None and _loop_kind != kind:
            raise RuntimeError(
                f"the {_loop_kind} event loop is already registered in this process; "
                f"the first registration wins, so the {kind} loop cannot be used"
            )
        first = _loop_kind is None
        _loop_kind = kind
        return first


def event_loop_kind():
    """"default", "asyncio", or None when no loop is registered yet."""
    return _loop_kind


def virEventRegisterDefaultImpl():
    """Registers the library's built-in poll loop (run it with
    virEventRunDefaultImpl)."""
    claim_event_loop("default")
    ret = lib.virEventRegisterDefaultImpl()
    if ret == -1:
        raise _fail("virEventRegisterDefaultImpl")
    return ret


def virEventRunDefaultImpl():
    """Runs one iteration of the default loop: waits for the next due timer
    or ready handle and dispatches it; callbacks run on this thread."""
    ret = lib.virEventRunDefaultImpl()
    err = virGetLastError() if ret == -1 else None
    raise_pending()
    if ret == -1:
        raise libvirtError("virEventRunDefaultImpl() failed", err=err)
    return ret


def virEventAddTimeout(timeout, cb, opaque=None):
    """Adds a timer to the registered loop, calling ``cb(timer, opaque)``
    every `timeout` ms (-1: disabled, 0: every iteration); returns its id."""
    if not callable(cb):
        raise TypeError("virEventAddTimeout: cb must be callable")
    entry = _Entry(None, cb, opaque, "timeout")
    token = _register_entry(entry)
    ret = lib.virEventAddTimeout(timeout, _C_TIMEOUT_ADDR, token, _C_FREE_ADDR)
    if ret == -1:
        err = virGetLastError()
        _registry.pop(token, None)
        raise libvirtError("virEventAddTimeout() failed", err=err)
    entry.id = ret
    return ret


def virEventUpdateTimeout(timer, timeout):
    lib.virEventUpdateTimeout(timer, timeout)


def virEventRemoveTimeout(timer):
    ret = lib.virEventRemoveTimeout(timer)
    if ret == -1:
        raise _fail("virEventRemoveTimeout")
    return ret


def virEventAddHandle(fd, events, cb, opaque=None):
    """Watches `fd` for `events` (VIR_EVENT_HANDLE_* bits) on the registered
    loop, calling ``cb(watch, fd, events, opaque)``; returns the watch id."""
    if not callable(cb):
        raise TypeError("virEventAddHandle: cb must be callable")
    entry = _Entry(None, cb, opaque, "handle")
    token = _register_entry(entry)
    ret = lib.virEventAddHandle(fd, events, _C_HANDLE_ADDR, token, _C_FREE_ADDR)
    if ret == -1:
        err = virGetLastError()
        _registry.pop(token, None)
        raise libvirtError("virEventAddHandle() failed", err=err)
    entry.id = ret
    return ret


def virEventUpdateHandle(watch, events):
    lib.virEventUpdateHandle(watch, events)


def virEventRemoveHandle(watch):
    ret = lib.virEventRemoveHandle(watch)
    if ret == -1:
        raise _fail("virEventRemoveHandle")
    return ret
