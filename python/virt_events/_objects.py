"""Networks, storage pools, node devices, secrets, and their events."""

from __future__ import annotations

import ctypes
import functools
from ctypes import c_int, c_void_p
from typing import TYPE_CHECKING, NamedTuple, Optional

from . import _constants as C
from ._errors import _fail, _local_error
from ._exceptions import _report
from ._handle import _Handle
from ._lib import dec, keep_forever, lib
from ._registry import _C_FREE_ADDR, _registry, register

if TYPE_CHECKING:
    from ._connect import virConnect

class _Object(_Handle):
    """What virNetwork, virStoragePool, virNodeDevice and virSecret share
    beyond the handle: how they show and name themselves."""

    def __repr__(self) -> str:
        try:
            return f"<{type(self).__name__} {self._label()!r}>"
        except Exception:
            return f"<{type(self).__name__}>"

    def _label(self) -> str:
        # Every class but virSecret (which overrides this) has name().
        return self.name()  # type: ignore[attr-defined, no-any-return]

    def connect(self) -> virConnect:
        return self._conn

    def _check(self, ret: int, function: str) -> int:
        if ret == -1:
            raise _fail(function, conn=self._conn)
        return ret

    def _string(self, value: Optional[bytes], function: str) -> str:
        if value is None:
            raise _fail(function, conn=self._conn)
        return dec(value)

    def _uuid(self, function: str) -> bytes:
        buf = ctypes.create_string_buffer(C.VIR_UUID_BUFLEN)
        self._check(getattr(lib, function)(self._o, buf), function)
        return buf.raw

    def _uuid_string(self, function: str) -> str:
        buf = ctypes.create_string_buffer(C.VIR_UUID_STRING_BUFLEN)
        self._check(getattr(lib, function)(self._o, buf), function)
        return dec(buf.value)


class virNetwork(_Object):
    """A virtual network (libvirt-python's virNetwork, for the calls the
    library supports)."""

    _FREE = "virNetworkFree"

    def name(self) -> str:
        return self._string(lib.virNetworkGetName(self._o), "virNetworkGetName")

    def UUID(self) -> bytes:
        return self._uuid("virNetworkGetUUID")

    def UUIDString(self) -> str:
        return self._uuid_string("virNetworkGetUUIDString")

    def create(self) -> int:
        return self._check(lib.virNetworkCreate(self._o), "virNetworkCreate")

    def destroy(self) -> int:
        return self._check(lib.virNetworkDestroy(self._o), "virNetworkDestroy")

    def undefine(self) -> int:
        return self._check(lib.virNetworkUndefine(self._o), "virNetworkUndefine")


class virStoragePool(_Object):
    """A storage pool (libvirt-python's virStoragePool, for the calls the
    library supports)."""

    _FREE = "virStoragePoolFree"

    def name(self) -> str:
        return self._string(lib.virStoragePoolGetName(self._o), "virStoragePoolGetName")

    def UUID(self) -> bytes:
        return self._uuid("virStoragePoolGetUUID")

    def UUIDString(self) -> str:
        return self._uuid_string("virStoragePoolGetUUIDString")

    def refresh(self, flags: int = 0) -> int:
        return self._check(lib.virStoragePoolRefresh(self._o, flags), "virStoragePoolRefresh")


class virNodeDevice(_Object):
    """A node device (libvirt-python's virNodeDevice, for the calls the
    library supports)."""

    _FREE = "virNodeDeviceFree"

    def name(self) -> str:
        return self._string(lib.virNodeDeviceGetName(self._o), "virNodeDeviceGetName")

    def destroy(self) -> int:
        return self._check(lib.virNodeDeviceDestroy(self._o), "virNodeDeviceDestroy")


class virSecret(_Object):
    """A secret (libvirt-python's virSecret, for the calls the library
    supports)."""

    _FREE = "virSecretFree"

    def _label(self) -> str:
        return self.UUIDString()

    def UUID(self) -> bytes:
        return self._uuid("virSecretGetUUID")

    def UUIDString(self) -> str:
        return self._uuid_string("virSecretGetUUIDString")

    def usageType(self) -> int:
        return self._check(lib.virSecretGetUsageType(self._o), "virSecretGetUsageType")

    def usageID(self) -> str:
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
    addr = _OBJECT_ADDRS[(kind.c_name, eventID)]
    ret = register(
        conn,
        cb,
        opaque,
        function,
        lambda token: getattr(lib, function)(conn._o, obj_ptr, eventID, addr, token, _C_FREE_ADDR),
        functools.partial(getattr(lib, kind.deregister), conn._o),
    )
    getattr(conn, kind.ids_attr)[ret] = opaque
    return ret


def _deregister_object_event(conn, kind, callbackID):
    """The body of virConnect.networkEventDeregisterAny and its siblings
    (the library looks the ID up among every class's registrations)."""
    ret = getattr(lib, kind.deregister)(conn._o, callbackID)
    if ret == -1:
        raise _fail(kind.deregister, conn=conn)
    getattr(conn, kind.ids_attr).pop(callbackID, None)
