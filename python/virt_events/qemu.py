"""Raw QEMU monitor events through libvirt-qemu.so.0, with libvirt-python's
libvirt_qemu names::

    import virt_events.qemu as libvirt_qemu

    def on_event(conn, dom, event, seconds, micros, details, opaque):
        print(dom.name(), event, details)   # details: the event's data as JSON text, or None

    cid = libvirt_qemu.qemuMonitorEventRegister(conn, None, "STOP", on_event, None)
    ...
    libvirt_qemu.qemuMonitorEventDeregister(conn, cid)

and monitor commands (``virsh qemu-monitor-command``)::

    reply = libvirt_qemu.qemuMonitorCommand(dom, '{"execute":"query-status"}', 0)

``event`` None matches every event; the flags
VIR_CONNECT_DOMAIN_QEMU_MONITOR_EVENT_REGISTER_REGEX / _NOCASE make it a
regular expression / case-insensitive. ``conn.qemuMonitorEvents(...)`` is
the ``async for`` form. libvirt-qemu.so.0 is loaded on first use, from
beside the libvirt.so.0 in use.
"""

from __future__ import annotations

import ctypes
import functools
from ctypes import c_void_p
from typing import TYPE_CHECKING, Any, Callable, Optional

from ._constants import (  # noqa: F401  (libvirt_qemu's constants)
    VIR_CONNECT_DOMAIN_QEMU_MONITOR_EVENT_REGISTER_NOCASE,
    VIR_CONNECT_DOMAIN_QEMU_MONITOR_EVENT_REGISTER_REGEX,
)
from ._errors import _fail
from ._exceptions import _report
from ._lib import QemuMonitorEventFunc, dec, enc, keep_forever, qemu_lib, take_string
from ._registry import _C_FREE_ADDR, _registry, register
from ._trampolines import _callback_domain

if TYPE_CHECKING:
    from ._connect import virConnect
    from ._domain import virDomain

__all__ = [
    "VIR_CONNECT_DOMAIN_QEMU_MONITOR_EVENT_REGISTER_NOCASE",
    "VIR_CONNECT_DOMAIN_QEMU_MONITOR_EVENT_REGISTER_REGEX",
    "qemuMonitorCommand",
    "qemuMonitorEventDeregister",
    "qemuMonitorEventRegister",
]

def _monitor_trampoline(_conn_ptr, dom_ptr, event, seconds, micros, details, token):
    try:
        entry = _registry.get(token)
        if entry is not None:
            conn = entry.conn
            entry.cb(conn, _callback_domain(conn, dom_ptr), dec(event), seconds, micros, dec(details), entry.opaque)
    except BaseException:
        _report("a QEMU monitor event callback")


_C_MONITOR = keep_forever(QemuMonitorEventFunc(_monitor_trampoline))
_C_MONITOR_ADDR = ctypes.cast(_C_MONITOR, c_void_p).value


def qemuMonitorEventRegister(
    conn: virConnect,
    dom: Optional[virDomain],
    event: Optional[str],
    cb: Callable[[virConnect, virDomain, str, int, int, Optional[str], Any], object],
    opaque: Any = None,
    flags: int = 0,
) -> int:
    """Registers ``cb(conn, dom, event, seconds, micros, details, opaque)``
    for the raw monitor events named `event` (every event when None) of
    `dom` (every domain when None); returns the callback ID."""
    if not callable(cb):
        raise TypeError("qemuMonitorEventRegister: cb must be callable")
    dom_ptr = None if dom is None else dom._o
    ret = register(
        conn,
        cb,
        opaque,
        "virConnectDomainQemuMonitorEventRegister",
        lambda token: qemu_lib.virConnectDomainQemuMonitorEventRegister(
            conn._o, dom_ptr, enc(event), _C_MONITOR_ADDR, token, _C_FREE_ADDR, flags
        ),
        functools.partial(qemu_lib.virConnectDomainQemuMonitorEventDeregister, conn._o),
    )
    conn.qemuMonitorEventCallbackID[ret] = opaque
    return ret


def qemuMonitorEventDeregister(conn: virConnect, callbackID: int) -> int:
    """Removes the registration `callbackID`."""
    ret = qemu_lib.virConnectDomainQemuMonitorEventDeregister(conn._o, callbackID)
    if ret == -1:
        raise _fail("virConnectDomainQemuMonitorEventDeregister", conn=conn)
    conn.qemuMonitorEventCallbackID.pop(callbackID, None)
    return ret


def qemuMonitorCommand(domain: virDomain, cmd: str, flags: int) -> str:
    """Sends `cmd` to the domain's QEMU monitor: QMP JSON, or with flag
    VIR_DOMAIN_QEMU_MONITOR_COMMAND_HMP (1) a human monitor command line;
    returns QEMU's reply (for JSON, its whole reply object as JSON text)."""
    result = c_void_p()
    if qemu_lib.virDomainQemuMonitorCommand(domain._o, enc(cmd), ctypes.byref(result), flags) == -1:
        raise _fail("virDomainQemuMonitorCommand", conn=domain._conn, dom=domain)
    return take_string(result.value)
