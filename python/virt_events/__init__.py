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

from __future__ import annotations

import builtins as _builtins
import os as _os
from typing import Optional as _Optional

from ._constants import *  # noqa: F401,F403  (every VIR_* constant of the headers)
# `name as name`: the public names, re-exported explicitly for type checkers
# (mypy --strict re-exports nothing implicitly).
from . import _lib
from . import aio as aio
from . import qemu as qemu
from ._connect import (
    getVersion as getVersion,
    open as open,
    openAuth as openAuth,
    openReadOnly as openReadOnly,
    virConnect as virConnect,
)
from ._domain import (
    virDomain as virDomain,
)
from ._errors import (
    libvirtError as libvirtError,
    registerErrorHandler as registerErrorHandler,
    virGetLastError as virGetLastError,
)
from ._eventloop import (
    virEventAddHandle as virEventAddHandle,
    virEventAddTimeout as virEventAddTimeout,
    virEventRegisterDefaultImpl as virEventRegisterDefaultImpl,
    virEventRemoveHandle as virEventRemoveHandle,
    virEventRemoveTimeout as virEventRemoveTimeout,
    virEventRunDefaultImpl as virEventRunDefaultImpl,
    virEventUpdateHandle as virEventUpdateHandle,
    virEventUpdateTimeout as virEventUpdateTimeout,
)
from ._events import (
    EVENTS as EVENTS,
)
from ._lib import (
    ENV_VAR as ENV_VAR,
    LibraryNotFound as LibraryNotFound,
)
from ._loop_owner import (
    event_loop_kind as event_loop_kind,
)
from ._objects import (
    virNetwork as virNetwork,
    virNodeDevice as virNodeDevice,
    virSecret as virSecret,
    virStoragePool as virStoragePool,
)
from .aio import (
    DomainEvent as DomainEvent,
    DomainEventStream as DomainEventStream,
    EventStream as EventStream,
    NetworkEvent as NetworkEvent,
    NodeDeviceEvent as NodeDeviceEvent,
    QemuMonitorEvent as QemuMonitorEvent,
    SecretEvent as SecretEvent,
    StoragePoolEvent as StoragePoolEvent,
    virEventRegisterAsyncIOImpl as virEventRegisterAsyncIOImpl,
)

__version__ = "0.1.0"


def load_library(path: _Optional[str] = None) -> str:
    """Loads the library now, from `path` if given (a bare name such as
    "libvirt.so.0" asks the system loader: the way to use the system's
    libvirt on purpose), else from the first place of the search order;
    returns what was loaded. Raises LibraryNotFound, naming every place
    tried, when none holds the library."""
    return _lib.lib.load(path)


def library_path() -> str:
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
