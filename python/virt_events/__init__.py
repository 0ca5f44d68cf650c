"""virt_events: Python binding of virt-events' libvirt.so.0 (ctypes only).

The API follows libvirt-python's for what the library implements::

    import virt_events as libvirt

    libvirt.virEventRegisterDefaultImpl()
    conn = libvirt.openReadOnly("test:///default")
    def on_lifecycle(conn, dom, event, detail, opaque):
        print(dom.name(), event, detail)
    cid = conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, on_lifecycle, None)
    while True:
        libvirt.virEventRunDefaultImpl()

or with asyncio (no thread)::

    libvirt.virEventRegisterAsyncIOImpl()
    async for event in conn.events(libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE):
        ...

The library is found through $VIRT_EVENTS_LIBRARY, next to this package, in
a source checkout's build/, or by the system loader (see _lib.py); it is
loaded on first use.
"""

from ._constants import *  # noqa: F401,F403  (every VIR_* constant of the headers)
from ._connect import getVersion, open, openAuth, openReadOnly, virConnect  # noqa: F401
from ._domain import virDomain  # noqa: F401
from ._errors import libvirtError, registerErrorHandler, virGetLastError  # noqa: F401
from ._eventloop import (  # noqa: F401
    virEventAddHandle,
    virEventAddTimeout,
    virEventRegisterDefaultImpl,
    virEventRemoveHandle,
    virEventRemoveTimeout,
    virEventRunDefaultImpl,
    virEventUpdateHandle,
    virEventUpdateTimeout,
)
from ._loop_owner import event_loop_kind  # noqa: F401
from ._objects import virNetwork, virNodeDevice, virSecret, virStoragePool  # noqa: F401
from ._events import EVENTS  # noqa: F401
from ._lib import ENV_VAR, LibraryNotFound  # noqa: F401
from .aio import DomainEvent, DomainEventStream, virEventRegisterAsyncIOImpl  # noqa: F401

__version__ = "0.1.0"


def library_path():
    """The path of the libvirt.so.0 in use (loading it if needed); for one
    found by the system loader, the file it mapped."""
    import builtins
    import os

    from ._lib import lib

    lib.virGetVersion  # noqa: B018  (forces the load)
    if os.sep in lib.path:
        return lib.path
    try:
        with builtins.open("/proc/self/maps", encoding="utf-8", errors="replace") as maps:
            for line in maps:
                path = line.split(None, 5)[-1].strip()
                if os.path.basename(path).startswith("libvirt.so"):
                    return path
    except OSError:
        pass
    return lib.path
