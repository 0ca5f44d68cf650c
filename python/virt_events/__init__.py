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

The library is $VIRT_EVENTS_LIBRARY, the package's own copy (a wheel carries
one), or a source checkout's build/, loaded on first use; the system's
libvirt.so.0 only when asked for (see _lib.py). library_path() says which.
"""

import builtins as _builtins
import os as _os

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
from . import _lib
from ._lib import ENV_VAR, LibraryNotFound  # noqa: F401
from . import qemu  # noqa: F401
from .aio import (  # noqa: F401
    DomainEvent,
    DomainEventStream,
    EventStream,
    NetworkEvent,
    NodeDeviceEvent,
    QemuMonitorEvent,
    SecretEvent,
    StoragePoolEvent,
    virEventRegisterAsyncIOImpl,
)

__version__ = "0.1.0"


def load_library(path=None):
    """Loads the library now, from `path` if given (a bare name such as
    "libvirt.so.0" asks the system loader: the way to use the system's
    libvirt on purpose), else from the first place of the search order;
    returns what was loaded. Raises LibraryNotFound, naming every place
    tried, when none holds the library."""
    return _lib.lib.load(path)


def library_path():
    """The path of the libvirt.so.0 in use (loading it if needed); for one
    found by the system loader, the file it mapped."""
    path = _lib.lib.load()
    if _os.sep in path:
        return path
    try:
        with _builtins.open("/proc/self/maps", encoding="utf-8", errors="replace") as maps:
            for line in maps:
                mapped = line.split(None, 5)[-1].strip()
                if _os.path.basename(mapped).startswith("libvirt.so"):
                    return mapped
    except OSError:
        pass
    return path
