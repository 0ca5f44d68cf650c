"""libvirtError, the thread's last error, and the error handler."""

from __future__ import annotations

import ctypes
from ctypes import c_void_p
from typing import TYPE_CHECKING, Any, Callable, Optional, Tuple

from . import _constants as C
from ._exceptions import _report
from ._lib import ErrorFunc, dec, keep_forever, lib

if TYPE_CHECKING:
    from ._connect import virConnect
    from ._domain import virDomain

#: an error record: (code, domain, message, level, str1, str2, str3, int1, int2)
ErrorTuple = Tuple[int, int, Optional[str], int, Optional[str], Optional[str], Optional[str], int, int]

class libvirtError(Exception):
    """An error reported by the library.

    ``err`` is the error record as a tuple ``(code, domain, message, level,
    str1, str2, str3, int1, int2)``, read with virGetLastError right after
    the failing call (None when the library reported nothing).
    """

    def __init__(
        self,
        defmsg: str,
        conn: Optional[virConnect] = None,
        dom: Optional[virDomain] = None,
        err: Optional[ErrorTuple] = None,
    ) -> None:
        self.err = err
        self.conn = conn
        self.dom = dom
        msg = err[2] if err is not None and err[2] else defmsg
        super().__init__(msg)

    def _field(self, index: int) -> Any:
        return None if self.err is None else self.err[index]

    def get_error_code(self) -> Optional[int]:
        return self._field(0)

    def get_error_domain(self) -> Optional[int]:
        return self._field(1)

    def get_error_message(self) -> Optional[str]:
        return self._field(2)

    def get_error_level(self) -> Optional[int]:
        return self._field(3)

    def get_str1(self) -> Optional[str]:
        return self._field(4)

    def get_str2(self) -> Optional[str]:
        return self._field(5)

    def get_str3(self) -> Optional[str]:
        return self._field(6)

    def get_int1(self) -> Optional[int]:
        return self._field(7)

    def get_int2(self) -> Optional[int]:
        return self._field(8)


def _error_tuple(ptr):
    if not ptr:
        return None
    e = ptr.contents
    if e.code == C.VIR_ERR_OK:
        return None
    return (e.code, e.domain, dec(e.message), e.level, dec(e.str1), dec(e.str2), dec(e.str3), e.int1, e.int2)


def virGetLastError() -> Optional[ErrorTuple]:
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


def registerErrorHandler(f: Optional[Callable[[Any, Optional[ErrorTuple]], object]], ctx: Any) -> int:
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


def silence_errors():
    """At interpreter exit: errors are dropped instead of printed (ending
    every registration left makes expected double removals)."""
    global _error_handler
    _error_handler = (lambda ctx, err: None, None)
    lib.virSetErrorFunc(None, ctypes.cast(_C_ERROR_HANDLER, c_void_p))
