"""Connections, and opening them."""

from __future__ import annotations

import functools
import threading
from ctypes import POINTER, byref, c_ulong, c_void_p
from typing import Any, Callable, Dict, List, Optional, Type, TypeVar

from . import _constants as C
from . import aio
from ._domain import virDomain
from ._errors import _fail, _local_error, libvirtError, virGetLastError
from ._events import EVENTS
from ._lib import enc, lib, take_string
from ._objects import (
    _NETWORK_EVENTS,
    _NODE_DEVICE_EVENTS,
    _OBJECT_CLASSES,
    _SECRET_EVENTS,
    _STORAGE_POOL_EVENTS,
    _deregister_object_event,
    _Object,
    _register_object_event,
    virNetwork,
    virNodeDevice,
    virSecret,
    virStoragePool,
)
from ._registry import _C_FREE_ADDR, _Entry, _register_entry, _registry, register
from ._trampolines import _ANY_ADDRS, _C_CLOSE_ADDR, _C_LEGACY_ADDR
_O = TypeVar("_O", bound=_Object)


def _end_close_callback(conn_ptr: Optional[int], token: int) -> None:
    lib.virConnectUnregisterCloseCallback(conn_ptr, _C_CLOSE_ADDR)
    _registry.pop(token, None)  # the library does not call the free function


class virConnect:
    """A connection (libvirt-python's virConnect, for the calls the library
    supports)."""

    # libvirt-python's bookkeeping (set by __init__): legacy callbacks
    # {cb: opaque}, and the opaque of every callback ID, per class
    domainEventCallbacks: Dict[Callable[..., object], Any]
    domainEventCallbackID: Dict[int, Any]
    networkEventCallbackID: Dict[int, Any]
    storagePoolEventCallbackID: Dict[int, Any]
    nodeDeviceEventCallbackID: Dict[int, Any]
    secretEventCallbackID: Dict[int, Any]
    qemuMonitorEventCallbackID: Dict[int, Any]

    def __init__(self, _obj: Optional[int]) -> None:
        self._o: Optional[int] = _obj
        # libvirt-python's bookkeeping: legacy callbacks {cb: opaque}, and
        # the opaque of every RegisterAny callback ID.
        self.domainEventCallbacks = {}
        self.domainEventCallbackID = {}
        # ... and of the other classes' callback IDs
        for kind in _OBJECT_CLASSES:
            setattr(self, kind.ids_attr, {})
        # ... and of raw QEMU monitor events (virt_events.qemu)
        self.qemuMonitorEventCallbackID = {}
        self._legacy_lock = threading.Lock()
        self._close_token = None

    def __del__(self) -> None:
        o, self._o = getattr(self, "_o", None), None
        if o:
            try:
                lib.virConnectClose(o)
            except Exception:
                pass

    def __repr__(self) -> str:
        return f"<virConnect {self._o and self.getURI()!r}>"

    def _check(self, ret: int, function: str) -> int:
        if ret == -1:
            raise _fail(function, conn=self)
        return ret

    def _domain(self, ptr: Optional[int], function: str) -> virDomain:
        if not ptr:
            raise _fail(function, conn=self)
        return virDomain(self, ptr)

    def close(self) -> int:
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

    def getURI(self) -> str:
        ptr = lib.virConnectGetURI(self._o)
        if not ptr:
            raise _fail("virConnectGetURI", conn=self)
        return take_string(ptr)

    def isAlive(self) -> int:
        return self._check(lib.virConnectIsAlive(self._o), "virConnectIsAlive")

    def setKeepAlive(self, interval: int, count: int) -> int:
        """0, or 1 when the other side has no keepalive (in-process drivers)."""
        return self._check(lib.virConnectSetKeepAlive(self._o, interval, count), "virConnectSetKeepAlive")

    def registerCloseCallback(self, cb: Callable[[virConnect, int, Any], object], opaque: Any = None) -> int:
        """Registers ``cb(conn, reason, opaque)``, called if the connection
        closes. One per connection: a new one replaces the previous (the
        library accepts both, as libvirt 9.0's in-process drivers do, and
        never calls them, in-process connections having no transport)."""
        if not callable(cb):
            raise TypeError("registerCloseCallback: cb must be callable")
        entry = _Entry(self, cb, opaque)
        token = _register_entry(entry)
        ret = lib.virConnectRegisterCloseCallback(self._o, _C_CLOSE_ADDR, token, _C_FREE_ADDR)
        if ret == -1:
            err = virGetLastError()
            _registry.pop(token, None)
            raise libvirtError("virConnectRegisterCloseCallback() failed", conn=self, err=err)
        entry.end = functools.partial(_end_close_callback, self._o, token)
        previous, self._close_token = self._close_token, token
        if previous is not None:
            _registry.pop(previous, None)
        return ret

    def unregisterCloseCallback(self) -> int:
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

    def listAllDomains(self, flags: int = 0) -> List[virDomain]:
        array = POINTER(c_void_p)()
        n = lib.virConnectListAllDomains(self._o, byref(array), flags)
        if n == -1:
            raise _fail("virConnectListAllDomains", conn=self)
        try:
            return [virDomain(self, array[i]) for i in range(n)]
        finally:
            lib.free(array)

    def lookupByName(self, name: str) -> virDomain:
        return self._domain(lib.virDomainLookupByName(self._o, enc(name)), "virDomainLookupByName")

    def lookupByID(self, id: int) -> virDomain:
        return self._domain(lib.virDomainLookupByID(self._o, id), "virDomainLookupByID")

    def lookupByUUIDString(self, uuidstr: str) -> virDomain:
        return self._domain(lib.virDomainLookupByUUIDString(self._o, enc(uuidstr)), "virDomainLookupByUUIDString")

    def createXML(self, xmlDesc: str, flags: int = 0) -> virDomain:
        return self._domain(lib.virDomainCreateXML(self._o, enc(xmlDesc), flags), "virDomainCreateXML")

    def defineXML(self, xml: str) -> virDomain:
        return self._domain(lib.virDomainDefineXML(self._o, enc(xml)), "virDomainDefineXML")

    # -- events ------------------------------------------------------------

    def domainEventRegister(
        self, cb: Callable[[virConnect, virDomain, int, int, Any], object], opaque: Any = None
    ) -> None:
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
            entry = _Entry(self, None, None)
            token = _register_entry(entry)
            ret = lib.virConnectDomainEventRegister(self._o, _C_LEGACY_ADDR, token, _C_FREE_ADDR)
            if ret == -1:
                err = virGetLastError()
                _registry.pop(token, None)
                self.domainEventCallbacks.pop(cb, None)
                raise libvirtError("virConnectDomainEventRegister() failed", conn=self, err=err)
            entry.end = functools.partial(lib.virConnectDomainEventDeregister, self._o, _C_LEGACY_ADDR)

    def domainEventDeregister(self, cb: Callable[..., object]) -> None:
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

    def domainEventRegisterAny(
        self, dom: Optional[virDomain], eventID: int, cb: Callable[..., object], opaque: Any = None
    ) -> int:
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
        ret = register(
            self,
            cb,
            opaque,
            "virConnectDomainEventRegisterAny",
            lambda token: lib.virConnectDomainEventRegisterAny(
                self._o, dom_ptr, eventID, _ANY_ADDRS[eventID], token, _C_FREE_ADDR
            ),
            functools.partial(lib.virConnectDomainEventDeregisterAny, self._o),
        )
        self.domainEventCallbackID[ret] = opaque
        return ret

    def domainEventDeregisterAny(self, callbackID: int) -> None:
        """Removes the registration `callbackID`."""
        ret = lib.virConnectDomainEventDeregisterAny(self._o, callbackID)
        if ret == -1:
            raise _fail("virConnectDomainEventDeregisterAny", conn=self)
        self.domainEventCallbackID.pop(callbackID, None)

    # -- networks, storage pools, node devices, secrets --------------------

    def _object(self, cls: Type[_O], ptr: Optional[int], function: str) -> _O:
        if not ptr:
            raise _fail(function, conn=self)
        return cls(self, ptr)

    def networkLookupByName(self, name: str) -> virNetwork:
        return self._object(virNetwork, lib.virNetworkLookupByName(self._o, enc(name)), "virNetworkLookupByName")

    def networkDefineXML(self, xml: str) -> virNetwork:
        return self._object(virNetwork, lib.virNetworkDefineXML(self._o, enc(xml)), "virNetworkDefineXML")

    def storagePoolLookupByName(self, name: str) -> virStoragePool:
        ptr = lib.virStoragePoolLookupByName(self._o, enc(name))
        return self._object(virStoragePool, ptr, "virStoragePoolLookupByName")

    def nodeDeviceLookupByName(self, name: str) -> virNodeDevice:
        ptr = lib.virNodeDeviceLookupByName(self._o, enc(name))
        return self._object(virNodeDevice, ptr, "virNodeDeviceLookupByName")

    def nodeDeviceCreateXML(self, xmlDesc: str, flags: int = 0) -> virNodeDevice:
        ptr = lib.virNodeDeviceCreateXML(self._o, enc(xmlDesc), flags)
        return self._object(virNodeDevice, ptr, "virNodeDeviceCreateXML")

    def networkEventRegisterAny(
        self, net: Optional[virNetwork], eventID: int, cb: Callable[..., object], opaque: Any = None
    ) -> int:
        """Registers ``cb(conn, net, event, detail, opaque)`` for network
        lifecycle events (of `net` only, unless None); returns the callback ID."""
        return _register_object_event(self, _NETWORK_EVENTS, net, eventID, cb, opaque)

    def networkEventDeregisterAny(self, callbackID: int) -> None:
        return _deregister_object_event(self, _NETWORK_EVENTS, callbackID)

    def storagePoolEventRegisterAny(
        self, pool: Optional[virStoragePool], eventID: int, cb: Callable[..., object], opaque: Any = None
    ) -> int:
        """Registers `cb` for `eventID` events of every pool (or of `pool`):
        LIFECYCLE ``cb(conn, pool, event, detail, opaque)``, REFRESH
        ``cb(conn, pool, opaque)``; returns the callback ID."""
        return _register_object_event(self, _STORAGE_POOL_EVENTS, pool, eventID, cb, opaque)

    def storagePoolEventDeregisterAny(self, callbackID: int) -> None:
        return _deregister_object_event(self, _STORAGE_POOL_EVENTS, callbackID)

    def nodeDeviceEventRegisterAny(
        self, dev: Optional[virNodeDevice], eventID: int, cb: Callable[..., object], opaque: Any = None
    ) -> int:
        """Registers `cb` for `eventID` events of every node device (or of
        `dev`): LIFECYCLE ``cb(conn, dev, event, detail, opaque)``, UPDATE
        ``cb(conn, dev, opaque)``; returns the callback ID."""
        return _register_object_event(self, _NODE_DEVICE_EVENTS, dev, eventID, cb, opaque)

    def nodeDeviceEventDeregisterAny(self, callbackID: int) -> None:
        return _deregister_object_event(self, _NODE_DEVICE_EVENTS, callbackID)

    def secretEventRegisterAny(
        self, secret: Optional[virSecret], eventID: int, cb: Callable[..., object], opaque: Any = None
    ) -> int:
        """Registers `cb` for `eventID` events of every secret (or of
        `secret`): LIFECYCLE ``cb(conn, secret, event, detail, opaque)``,
        VALUE_CHANGED ``cb(conn, secret, opaque)``; returns the callback ID."""
        return _register_object_event(self, _SECRET_EVENTS, secret, eventID, cb, opaque)

    def secretEventDeregisterAny(self, callbackID: int) -> None:
        return _deregister_object_event(self, _SECRET_EVENTS, callbackID)

    # -- async for (see virt_events.aio) -------------------------------------

    def events(
        self, eventID: int = C.VIR_DOMAIN_EVENT_ID_LIFECYCLE, dom: Optional[virDomain] = None
    ) -> aio.DomainEventStream:
        """An async iterator of this connection's `eventID` events (of `dom`
        only, unless None), as DomainEvent tuples; see virt_events.aio."""
        return aio.DomainEventStream(self, eventID, dom)

    def networkEvents(
        self, eventID: int = C.VIR_NETWORK_EVENT_ID_LIFECYCLE, net: Optional[virNetwork] = None
    ) -> aio.EventStream[aio.NetworkEvent]:
        """An async iterator of network events, as NetworkEvent tuples."""
        return aio.object_events(
            aio.NetworkEvent, self.networkEventRegisterAny, self.networkEventDeregisterAny, eventID, net
        )

    def storagePoolEvents(
        self, eventID: int = C.VIR_STORAGE_POOL_EVENT_ID_LIFECYCLE, pool: Optional[virStoragePool] = None
    ) -> aio.EventStream[aio.StoragePoolEvent]:
        """An async iterator of storage-pool events, as StoragePoolEvent tuples."""
        return aio.object_events(
            aio.StoragePoolEvent, self.storagePoolEventRegisterAny, self.storagePoolEventDeregisterAny, eventID, pool
        )

    def nodeDeviceEvents(
        self, eventID: int = C.VIR_NODE_DEVICE_EVENT_ID_LIFECYCLE, dev: Optional[virNodeDevice] = None
    ) -> aio.EventStream[aio.NodeDeviceEvent]:
        """An async iterator of node-device events, as NodeDeviceEvent tuples."""
        return aio.object_events(
            aio.NodeDeviceEvent, self.nodeDeviceEventRegisterAny, self.nodeDeviceEventDeregisterAny, eventID, dev
        )

    def secretEvents(
        self, eventID: int = C.VIR_SECRET_EVENT_ID_LIFECYCLE, secret: Optional[virSecret] = None
    ) -> aio.EventStream[aio.SecretEvent]:
        """An async iterator of secret events, as SecretEvent tuples."""
        return aio.object_events(
            aio.SecretEvent, self.secretEventRegisterAny, self.secretEventDeregisterAny, eventID, secret
        )

    def qemuMonitorEvents(
        self, event: Optional[str] = None, dom: Optional[virDomain] = None, flags: int = 0
    ) -> aio.EventStream[aio.QemuMonitorEvent]:
        """An async iterator of raw QEMU monitor events (named `event`, all
        when None; of `dom`, all when None), as QemuMonitorEvent tuples; see
        virt_events.qemu."""
        return aio.qemu_monitor_events(self, event, dom, flags)


# --------------------------------------------------------------------------
# Opening


def open(name: Optional[str] = None) -> virConnect:
    """Opens a read-write connection (None: the default URI)."""
    ptr = lib.virConnectOpen(enc(name))
    if not ptr:
        raise _fail("virConnectOpen")
    return virConnect(ptr)


def openReadOnly(name: Optional[str] = None) -> virConnect:
    """Opens a read-only connection: events work, domain operations are refused."""
    ptr = lib.virConnectOpenReadOnly(enc(name))
    if not ptr:
        raise _fail("virConnectOpenReadOnly")
    return virConnect(ptr)


def openAuth(uri: Optional[str], auth: Any = None, flags: int = 0) -> virConnect:
    """Opens a connection with `flags` (VIR_CONNECT_RO...); the in-process
    drivers need no credentials, so `auth` is ignored."""
    ptr = lib.virConnectOpenAuth(enc(uri), None, flags)
    if not ptr:
        raise _fail("virConnectOpenAuth")
    return virConnect(ptr)


def getVersion(name: Optional[str] = None) -> int:
    """The library's version (or the driver's, for a driver type name)."""
    lib_ver, type_ver = c_ulong(), c_ulong()
    if name is None:
        ret = lib.virGetVersion(byref(lib_ver), None, None)
    else:
        ret = lib.virGetVersion(byref(lib_ver), enc(name), byref(type_ver))
    if ret == -1:
        raise _fail("virGetVersion")
    return lib_ver.value if name is None else type_ver.value
