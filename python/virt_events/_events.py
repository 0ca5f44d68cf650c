"""The domain event IDs this binding knows: one table entry per ID.

Each entry gives the C callback's arguments between ``dom`` and ``opaque``
(their ctypes types, and the C return type: only the lifecycle callback
returns int) and how those arguments become the Python callback's arguments,
which are libvirt-python's: ``cb(conn, dom, *args, opaque)``.

Adding an event ID is one entry here (plus its constants, regenerated from
the header by tools/gen_constants.py), e.g. for ``devAlias, reason``::

    _spec("TRAY_CHANGE", None, (c_char_p, c_int), lambda alias, reason: (dec(alias), reason)),

An entry whose constant the header does not define is left out, so this
table follows the header the constants were generated from. The library
refuses IDs it does not implement ("eventID must be less than N").
"""

from ctypes import POINTER, c_char_p, c_int, c_longlong, c_uint, c_ulonglong
from typing import Callable, NamedTuple, Optional, Tuple

from . import _constants as C
from ._lib import GraphicsAddress, GraphicsSubject, TypedParameter, dec


class EventSpec(NamedTuple):
    event_id: int
    name: str
    #: C return type of the callback (None: void)
    restype: Optional[type]
    #: ctypes types of the arguments between dom and opaque
    argtypes: Tuple[type, ...]
    #: C arguments -> tuple of Python arguments
    convert: Callable[..., tuple]


def _address(ptr):
    """A virDomainEventGraphicsAddress as libvirt-python's dict."""
    if not ptr:
        return None
    a = ptr.contents
    return {"family": a.family, "node": dec(a.node), "service": dec(a.service)}


def _subject(ptr):
    """A virDomainEventGraphicsSubject as a list of (type, name) tuples."""
    if not ptr:
        return []
    s = ptr.contents
    return [(dec(s.identities[i].type), dec(s.identities[i].name)) for i in range(s.nidentity)]


_TYPED_PARAM_VALUE = {
    1: lambda v: v.i,  # VIR_TYPED_PARAM_INT
    2: lambda v: v.ui,  # UINT
    3: lambda v: v.l,  # LLONG
    4: lambda v: v.ul,  # ULLONG
    5: lambda v: v.d,  # DOUBLE
    6: lambda v: bool(v.b),  # BOOLEAN
    7: lambda v: dec(v.s),  # STRING
}


def _typed_params(params, nparams):
    """A virTypedParameter array as libvirt-python's dict {field: value}."""
    out = {}
    for i in range(nparams if params else 0):
        p = params[i]
        convert = _TYPED_PARAM_VALUE.get(p.type)
        if convert is not None:
            out[dec(p.field)] = convert(p.value)
    return out


def _graphics(phase, local, remote, auth_scheme, subject):
    return (phase, _address(local), _address(remote), dec(auth_scheme), _subject(subject))


def _spec(name, *rest):
    event_id = getattr(C, "VIR_DOMAIN_EVENT_ID_" + name, None)
    return None if event_id is None else EventSpec(event_id, name, *rest)


_P_PARAMS = POINTER(TypedParameter)

_TABLE = (
    _spec("LIFECYCLE", c_int, (c_int, c_int), lambda event, detail: (event, detail)),
    _spec("REBOOT", None, (), lambda: ()),
    _spec("RTC_CHANGE", None, (c_longlong,), lambda utcoffset: (utcoffset,)),
    _spec("WATCHDOG", None, (c_int,), lambda action: (action,)),
    _spec("IO_ERROR", None, (c_char_p, c_char_p, c_int),
          lambda src_path, dev_alias, action: (dec(src_path), dec(dev_alias), action)),
    _spec("GRAPHICS", None,
          (c_int, POINTER(GraphicsAddress), POINTER(GraphicsAddress), c_char_p, POINTER(GraphicsSubject)),
          _graphics),
    _spec("IO_ERROR_REASON", None, (c_char_p, c_char_p, c_int, c_char_p),
          lambda src_path, dev_alias, action, reason: (dec(src_path), dec(dev_alias), action, dec(reason))),
    _spec("CONTROL_ERROR", None, (), lambda: ()),
    _spec("BLOCK_JOB", None, (c_char_p, c_int, c_int), lambda disk, type_, status: (dec(disk), type_, status)),
    _spec("DISK_CHANGE", None, (c_char_p, c_char_p, c_char_p, c_int),
          lambda old, new, alias, reason: (dec(old), dec(new), dec(alias), reason)),
    _spec("TRAY_CHANGE", None, (c_char_p, c_int), lambda alias, reason: (dec(alias), reason)),
    _spec("PMWAKEUP", None, (c_int,), lambda reason: (reason,)),
    _spec("PMSUSPEND", None, (c_int,), lambda reason: (reason,)),
    _spec("BALLOON_CHANGE", None, (c_ulonglong,), lambda actual: (actual,)),
    _spec("PMSUSPEND_DISK", None, (c_int,), lambda reason: (reason,)),
    _spec("DEVICE_REMOVED", None, (c_char_p,), lambda alias: (dec(alias),)),
    _spec("BLOCK_JOB_2", None, (c_char_p, c_int, c_int), lambda disk, type_, status: (dec(disk), type_, status)),
    _spec("TUNABLE", None, (_P_PARAMS, c_int), lambda params, n: (_typed_params(params, n),)),
    _spec("AGENT_LIFECYCLE", None, (c_int, c_int), lambda state, reason: (state, reason)),
    _spec("DEVICE_ADDED", None, (c_char_p,), lambda alias: (dec(alias),)),
    _spec("MIGRATION_ITERATION", None, (c_int,), lambda iteration: (iteration,)),
    _spec("JOB_COMPLETED", None, (_P_PARAMS, c_int), lambda params, n: (_typed_params(params, n),)),
    _spec("DEVICE_REMOVAL_FAILED", None, (c_char_p,), lambda alias: (dec(alias),)),
    _spec("METADATA_CHANGE", None, (c_int, c_char_p), lambda mtype, nsuri: (mtype, dec(nsuri))),
    _spec("BLOCK_THRESHOLD", None, (c_char_p, c_char_p, c_ulonglong, c_ulonglong),
          lambda dev, path, threshold, excess: (dec(dev), dec(path), threshold, excess)),
    _spec("MEMORY_FAILURE", None, (c_int, c_int, c_uint), lambda recipient, action, flags: (recipient, action, flags)),
    _spec("MEMORY_DEVICE_SIZE_CHANGE", None, (c_char_p, c_ulonglong), lambda alias, size: (dec(alias), size)),
)

#: event ID -> EventSpec, for every event ID of the header
EVENTS = {spec.event_id: spec for spec in _TABLE if spec is not None}
