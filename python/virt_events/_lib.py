"""Finding and loading libvirt.so.0, and the C prototypes of what we call.

The library is loaded on first use, not at import, so that importing the
package (for its constants, say) never fails. Where it comes from, first
match wins:

1. ``$VIRT_EVENTS_LIBRARY``: the full path of the .so (nothing else is tried
   when it is set); a bare name (``libvirt.so.0``) asks the system loader,
   which is how the system's libvirt is chosen on purpose;
2. ``libvirt.so.0`` inside this package (a wheel carries one);
3. the build tree of the source checkout this package sits in
   (``<repo>/build/libvirt.so.0``, this file being
   ``<repo>/python/virt_events/_lib.py``), as with ``pip install -e``.

The system loader is never tried otherwise: on a machine with Debian's
libvirt0, falling back to it would silently bind to another libvirt.
``load_library(path)`` (before any other call) chooses a library in code.
"""

import ctypes
import os
import threading
from ctypes import (
    POINTER,
    Structure,
    c_char_p,
    c_int,
    c_longlong,
    c_uint,
    c_ulong,
    c_ulonglong,
    c_ushort,
    c_ubyte,
    c_double,
    c_char,
    c_void_p,
    Union,
)

ENV_VAR = "VIRT_EVENTS_LIBRARY"
SONAME = "libvirt.so.0"
QEMU_SONAME = "libvirt-qemu.so.0"

_HERE = os.path.dirname(os.path.abspath(__file__))


class _virError(Structure):
    _fields_ = [
        ("code", c_int),
        ("domain", c_int),
        ("message", c_char_p),
        ("level", c_int),
        ("conn", c_void_p),
        ("dom", c_void_p),
        ("str1", c_char_p),
        ("str2", c_char_p),
        ("str3", c_char_p),
        ("int1", c_int),
        ("int2", c_int),
        ("net", c_void_p),
    ]


class _virDomainInfo(Structure):
    _fields_ = [
        ("state", c_ubyte),
        ("maxMem", c_ulong),
        ("memory", c_ulong),
        ("nrVirtCpu", c_ushort),
        ("cpuTime", c_ulonglong),
    ]


class GraphicsAddress(Structure):
    _fields_ = [("family", c_int), ("node", c_char_p), ("service", c_char_p)]


class GraphicsSubjectIdentity(Structure):
    _fields_ = [("type", c_char_p), ("name", c_char_p)]


class GraphicsSubject(Structure):
    _fields_ = [("nidentity", c_int), ("identities", POINTER(GraphicsSubjectIdentity))]


class _TypedParameterValue(Union):
    _fields_ = [
        ("i", c_int),
        ("ui", c_uint),
        ("l", c_longlong),
        ("ul", c_ulonglong),
        ("d", c_double),
        ("b", c_ubyte),
        ("s", c_char_p),
    ]


class TypedParameter(Structure):
    """virTypedParameter (96 bytes on LP64)."""

    _fields_ = [("field", c_char * 80), ("type", c_int), ("value", _TypedParameterValue)]


# Function pointer types of the event-loop contract (virEvent*Func) and of
# the callbacks the library hands to it.
FreeCallback = ctypes.CFUNCTYPE(None, c_void_p)
HandleCallback = ctypes.CFUNCTYPE(None, c_int, c_int, c_int, c_void_p)
TimeoutCallback = ctypes.CFUNCTYPE(None, c_int, c_void_p)
AddHandleFunc = ctypes.CFUNCTYPE(c_int, c_int, c_int, c_void_p, c_void_p, c_void_p)
UpdateHandleFunc = ctypes.CFUNCTYPE(None, c_int, c_int)
RemoveHandleFunc = ctypes.CFUNCTYPE(c_int, c_int)
AddTimeoutFunc = ctypes.CFUNCTYPE(c_int, c_int, c_void_p, c_void_p, c_void_p)
UpdateTimeoutFunc = ctypes.CFUNCTYPE(None, c_int, c_int)
RemoveTimeoutFunc = ctypes.CFUNCTYPE(c_int, c_int)
ErrorFunc = ctypes.CFUNCTYPE(None, c_void_p, POINTER(_virError))
CloseFunc = ctypes.CFUNCTYPE(None, c_void_p, c_int, c_void_p)
# conn, dom, event, seconds, micros, details, opaque
QemuMonitorEventFunc = ctypes.CFUNCTYPE(None, c_void_p, c_void_p, c_char_p, c_longlong, c_uint, c_char_p, c_void_p)

_P = c_void_p  # virConnectPtr, virDomainPtr, virNetworkPtr...: opaque to us

# name: (restype, argtypes)
PROTOTYPES = {
    "virGetVersion": (c_int, [POINTER(c_ulong), c_char_p, POINTER(c_ulong)]),
    "virConnectOpen": (_P, [c_char_p]),
    "virConnectOpenReadOnly": (_P, [c_char_p]),
    "virConnectOpenAuth": (_P, [c_char_p, c_void_p, c_uint]),
    "virConnectClose": (c_int, [_P]),
    "virConnectRef": (c_int, [_P]),
    "virConnectGetURI": (c_void_p, [_P]),  # malloc'ed
    "virConnectIsAlive": (c_int, [_P]),
    "virConnectSetKeepAlive": (c_int, [_P, c_int, c_uint]),
    "virConnectRegisterCloseCallback": (c_int, [_P, c_void_p, c_void_p, c_void_p]),
    "virConnectUnregisterCloseCallback": (c_int, [_P, c_void_p]),
    "virConnectListAllDomains": (c_int, [_P, POINTER(POINTER(_P)), c_uint]),
    "virDomainGetName": (c_char_p, [_P]),
    "virDomainGetID": (c_uint, [_P]),
    "virDomainGetUUID": (c_int, [_P, c_void_p]),
    "virDomainGetUUIDString": (c_int, [_P, c_char_p]),
    "virDomainRef": (c_int, [_P]),
    "virDomainFree": (c_int, [_P]),
    "virDomainLookupByName": (_P, [_P, c_char_p]),
    "virDomainLookupByID": (_P, [_P, c_int]),
    "virDomainLookupByUUIDString": (_P, [_P, c_char_p]),
    "virDomainSuspend": (c_int, [_P]),
    "virDomainResume": (c_int, [_P]),
    "virDomainReboot": (c_int, [_P, c_uint]),
    "virDomainReset": (c_int, [_P, c_uint]),
    "virDomainShutdown": (c_int, [_P]),
    "virDomainDestroy": (c_int, [_P]),
    "virDomainCreate": (c_int, [_P]),
    "virDomainUndefine": (c_int, [_P]),
    "virDomainDefineXML": (_P, [_P, c_char_p]),
    "virDomainCreateXML": (_P, [_P, c_char_p, c_uint]),
    "virDomainGetXMLDesc": (c_void_p, [_P, c_uint]),  # malloc'ed
    "virDomainGetState": (c_int, [_P, POINTER(c_int), POINTER(c_int), c_uint]),
    "virDomainGetInfo": (c_int, [_P, POINTER(_virDomainInfo)]),
    "virDomainIsActive": (c_int, [_P]),
    "virDomainIsPersistent": (c_int, [_P]),
    # The callbacks are passed as plain addresses: each registration picks
    # the trampoline of its event ID.
    "virConnectDomainEventRegister": (c_int, [_P, c_void_p, c_void_p, c_void_p]),
    "virConnectDomainEventDeregister": (c_int, [_P, c_void_p]),
    "virConnectDomainEventRegisterAny": (c_int, [_P, _P, c_int, c_void_p, c_void_p, c_void_p]),
    "virConnectDomainEventDeregisterAny": (c_int, [_P, c_int]),
    # Networks, storage pools, node devices and secrets: the calls the
    # object classes and their event registration use.
    "virConnectNetworkEventRegisterAny": (c_int, [_P, _P, c_int, c_void_p, c_void_p, c_void_p]),
    "virConnectNetworkEventDeregisterAny": (c_int, [_P, c_int]),
    "virConnectStoragePoolEventRegisterAny": (c_int, [_P, _P, c_int, c_void_p, c_void_p, c_void_p]),
    "virConnectStoragePoolEventDeregisterAny": (c_int, [_P, c_int]),
    "virConnectNodeDeviceEventRegisterAny": (c_int, [_P, _P, c_int, c_void_p, c_void_p, c_void_p]),
    "virConnectNodeDeviceEventDeregisterAny": (c_int, [_P, c_int]),
    "virConnectSecretEventRegisterAny": (c_int, [_P, _P, c_int, c_void_p, c_void_p, c_void_p]),
    "virConnectSecretEventDeregisterAny": (c_int, [_P, c_int]),
    "virNetworkLookupByName": (_P, [_P, c_char_p]),
    "virNetworkDefineXML": (_P, [_P, c_char_p]),
    "virNetworkCreate": (c_int, [_P]),
    "virNetworkDestroy": (c_int, [_P]),
    "virNetworkUndefine": (c_int, [_P]),
    "virNetworkGetName": (c_char_p, [_P]),
    "virNetworkGetUUID": (c_int, [_P, c_void_p]),
    "virNetworkGetUUIDString": (c_int, [_P, c_char_p]),
    "virNetworkRef": (c_int, [_P]),
    "virNetworkFree": (c_int, [_P]),
    "virStoragePoolLookupByName": (_P, [_P, c_char_p]),
    "virStoragePoolRefresh": (c_int, [_P, c_uint]),
    "virStoragePoolGetName": (c_char_p, [_P]),
    "virStoragePoolGetUUID": (c_int, [_P, c_void_p]),
    "virStoragePoolGetUUIDString": (c_int, [_P, c_char_p]),
    "virStoragePoolRef": (c_int, [_P]),
    "virStoragePoolFree": (c_int, [_P]),
    "virNodeDeviceLookupByName": (_P, [_P, c_char_p]),
    "virNodeDeviceCreateXML": (_P, [_P, c_char_p, c_uint]),
    "virNodeDeviceDestroy": (c_int, [_P]),
    "virNodeDeviceGetName": (c_char_p, [_P]),
    "virNodeDeviceRef": (c_int, [_P]),
    "virNodeDeviceFree": (c_int, [_P]),
    "virSecretGetUUID": (c_int, [_P, c_void_p]),
    "virSecretGetUUIDString": (c_int, [_P, c_char_p]),
    "virSecretGetUsageType": (c_int, [_P]),
    "virSecretGetUsageID": (c_char_p, [_P]),
    "virSecretRef": (c_int, [_P]),
    "virSecretFree": (c_int, [_P]),
    "virEventRegisterImpl": (
        None,
        [AddHandleFunc, UpdateHandleFunc, RemoveHandleFunc, AddTimeoutFunc, UpdateTimeoutFunc, RemoveTimeoutFunc],
    ),
    "virEventRegisterDefaultImpl": (c_int, []),
    "virEventRunDefaultImpl": (c_int, []),
    "virEventAddHandle": (c_int, [c_int, c_int, c_void_p, c_void_p, c_void_p]),
    "virEventUpdateHandle": (None, [c_int, c_int]),
    "virEventRemoveHandle": (c_int, [c_int]),
    "virEventAddTimeout": (c_int, [c_int, c_void_p, c_void_p, c_void_p]),
    "virEventUpdateTimeout": (None, [c_int, c_int]),
    "virEventRemoveTimeout": (c_int, [c_int]),
    "virGetLastError": (POINTER(_virError), []),
    "virResetLastError": (None, []),
    "virSetErrorFunc": (None, [c_void_p, c_void_p]),
}

#: libvirt-qemu.so.0's functions
QEMU_PROTOTYPES = {
    "virConnectDomainQemuMonitorEventRegister": (c_int, [_P, _P, c_char_p, c_void_p, c_void_p, c_void_p, c_uint]),
    "virConnectDomainQemuMonitorEventDeregister": (c_int, [_P, c_int]),
    "virDomainQemuMonitorCommand": (c_int, [_P, c_char_p, POINTER(c_void_p), c_uint]),
}


def keep_forever(obj):
    """Leaks one reference to `obj`: the C function pointers handed to the
    library must stay valid until the process ends, even during interpreter
    shutdown (when module globals are cleared), as the library may still
    call them from its own threads."""
    ctypes.pythonapi.Py_IncRef(ctypes.py_object(obj))
    return obj


def _checkout():
    """The virt-events checkout this package sits in (python/virt_events/),
    or None for an installed package."""
    repo = os.path.normpath(os.path.join(_HERE, "..", ".."))
    return repo if os.path.exists(os.path.join(repo, "Cargo.toml")) else None


def candidates():
    """[(where, path, why not)]: the places the library is looked for, in
    order (see the module doc); path None, and why not, for a place that
    does not apply."""
    env = os.environ.get(ENV_VAR)
    if env:
        return [(f"${ENV_VAR}", env, None)]
    repo = _checkout()
    return [
        (f"${ENV_VAR}", None, "not set"),
        ("the package's own copy", os.path.join(_HERE, SONAME), None),
        (
            "a source checkout's build/",
            None if repo is None else os.path.join(repo, "build", SONAME),
            "not inside a virt-events checkout",
        ),
    ]


def _qemu_candidates():
    """libvirt-qemu.so.0 goes with the libvirt.so.0 loaded: beside it, or
    from the system loader when that is where libvirt.so.0 came from."""
    path = lib.load()
    if os.sep not in path:
        return [("the system loader (as libvirt.so.0)", QEMU_SONAME, None)]
    return [(f"beside {path}", os.path.join(os.path.dirname(path), QEMU_SONAME), None)]


def _not_found(soname, tried):
    lines = [f"virt_events found no {soname} of virt-events; tried, in order:"]
    lines += [f"  {i}. {where}: {what}" for i, (where, what) in enumerate(tried, 1)]
    lines += [
        f"The system's {SONAME} is never used unless asked for (it is another libvirt). To fix: install the",
        "wheel built by `pip wheel <checkout>/python` (it carries the library), run `make` in the checkout,",
        f"or set {ENV_VAR} to the library's full path. To use the system's libvirt on purpose:",
        f'{ENV_VAR}={SONAME}, or virt_events.load_library("{SONAME}") before any other call.',
    ]
    return LibraryNotFound("\n".join(lines))


class LibraryNotFound(OSError):
    pass


class _Library:
    """The loaded library: attributes are its functions, prototyped.

    Loading happens on the first attribute access (or load()); afterwards
    every function is a plain attribute of this object, so calls cost no
    extra lookup.
    """

    def __init__(self, soname, prototypes, places):
        self.soname = soname
        self._prototypes = prototypes
        self._places = places
        self._lock = threading.Lock()
        self._dll = None
        self.path = None

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        self.load()
        try:
            return self.__dict__[name]
        except KeyError:
            raise AttributeError(f"{self.path} has no function {name}") from None

    def load(self, path=None):
        """Loads the library from `path` (a bare name such as "libvirt.so.0"
        asks the system loader), or from the first of candidates(); returns
        the path loaded. Once loaded, asking for another path is an error."""
        with self._lock:
            if self._dll is not None:
                if path is not None and path != self.path:
                    raise RuntimeError(f"virt_events already loaded {self.path}; it cannot switch to {path}")
                return self.path
            places = [("the path asked for", path, None)] if path is not None else self._places()
            tried = []
            for where, place, why_not in places:
                if place is None:
                    tried.append((where, why_not))
                    continue
                if os.sep in place and not os.path.exists(place):
                    tried.append((where, f"{place}: no such file"))
                    continue
                try:
                    dll = ctypes.CDLL(place)
                except OSError as e:
                    tried.append((where, f"{place}: {e}"))
                    continue
                self._setup(dll)
                self.path = place
                self._dll = dll
                return place
            raise _not_found(self.soname, tried)

    def _setup(self, dll):
        for name, (restype, argtypes) in self._prototypes.items():
            try:
                func = getattr(dll, name)
            except AttributeError:
                continue  # an older library: calling it raises AttributeError
            func.restype = restype
            func.argtypes = argtypes
            self.__dict__[name] = func
        libc = ctypes.CDLL(None)
        free = libc.free
        free.restype = None
        free.argtypes = [c_void_p]
        self.__dict__["free"] = free

    @property
    def loaded(self):
        return self._dll is not None


lib = _Library(SONAME, PROTOTYPES, candidates)
#: libvirt-qemu.so.0, loaded on first use (after libvirt.so.0, whose state it uses)
qemu_lib = _Library(QEMU_SONAME, QEMU_PROTOTYPES, _qemu_candidates)


def take_string(ptr):
    """A malloc'ed C string returned by the library, as str (then freed)."""
    if not ptr:
        return None
    try:
        return ctypes.string_at(ptr).decode("utf-8", "surrogateescape")
    finally:
        lib.free(ptr)


def enc(s):
    """str (or None) to the bytes (or NULL) a const char * parameter takes."""
    if s is None:
        return None
    if isinstance(s, bytes):
        return s
    return str(s).encode("utf-8", "surrogateescape")


def dec(b):
    """A const char * the library passed (bytes or None) to str (or None)."""
    if b is None:
        return None
    return b.decode("utf-8", "surrogateescape")


__all__ = [
    "lib",
    "enc",
    "dec",
    "take_string",
    "candidates",
    "LibraryNotFound",
    "c_longlong",
]
