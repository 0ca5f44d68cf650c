"""virDomain."""

from __future__ import annotations

import ctypes
from ctypes import byref, c_int
from typing import TYPE_CHECKING, List

from . import _constants as C
from ._errors import _fail
from ._handle import _Handle
from ._lib import _virDomainInfo, dec, lib, take_string

if TYPE_CHECKING:
    from ._connect import virConnect

class virDomain(_Handle):
    """A domain of a connection (libvirt-python's virDomain, for the calls
    the library supports)."""

    _FREE = "virDomainFree"

    def __repr__(self) -> str:
        try:
            return f"<virDomain {self.name()!r} id={self.ID()}>"
        except Exception:
            return "<virDomain>"

    def connect(self) -> virConnect:
        return self._conn

    def _check(self, ret: int, function: str) -> int:
        if ret == -1:
            raise _fail(function, conn=self._conn, dom=self)
        return ret

    def name(self) -> str:
        name = lib.virDomainGetName(self._o)
        if name is None:
            raise _fail("virDomainGetName", conn=self._conn, dom=self)
        return dec(name)

    def ID(self) -> int:
        value = lib.virDomainGetID(self._o)
        return -1 if value == 0xFFFFFFFF else value

    def UUID(self) -> bytes:
        buf = ctypes.create_string_buffer(C.VIR_UUID_BUFLEN)
        self._check(lib.virDomainGetUUID(self._o, buf), "virDomainGetUUID")
        return buf.raw

    def UUIDString(self) -> str:
        buf = ctypes.create_string_buffer(C.VIR_UUID_STRING_BUFLEN)
        self._check(lib.virDomainGetUUIDString(self._o, buf), "virDomainGetUUIDString")
        return dec(buf.value)

    def XMLDesc(self, flags: int = 0) -> str:
        ptr = lib.virDomainGetXMLDesc(self._o, flags)
        if not ptr:
            raise _fail("virDomainGetXMLDesc", conn=self._conn, dom=self)
        return take_string(ptr)

    def state(self, flags: int = 0) -> List[int]:
        """[state, reason]"""
        state, reason = c_int(), c_int()
        self._check(lib.virDomainGetState(self._o, byref(state), byref(reason), flags), "virDomainGetState")
        return [state.value, reason.value]

    def info(self) -> List[int]:
        """[state, maxMem, memory, nrVirtCpu, cpuTime]"""
        info = _virDomainInfo()
        self._check(lib.virDomainGetInfo(self._o, byref(info)), "virDomainGetInfo")
        return [info.state, info.maxMem, info.memory, info.nrVirtCpu, info.cpuTime]

    def isActive(self) -> int:
        return self._check(lib.virDomainIsActive(self._o), "virDomainIsActive")

    def isPersistent(self) -> int:
        return self._check(lib.virDomainIsPersistent(self._o), "virDomainIsPersistent")

    def suspend(self) -> int:
        return self._check(lib.virDomainSuspend(self._o), "virDomainSuspend")

    def resume(self) -> int:
        return self._check(lib.virDomainResume(self._o), "virDomainResume")

    def reboot(self, flags: int = 0) -> int:
        return self._check(lib.virDomainReboot(self._o, flags), "virDomainReboot")

    def reset(self, flags: int = 0) -> int:
        return self._check(lib.virDomainReset(self._o, flags), "virDomainReset")

    def shutdown(self) -> int:
        return self._check(lib.virDomainShutdown(self._o), "virDomainShutdown")

    def destroy(self) -> int:
        return self._check(lib.virDomainDestroy(self._o), "virDomainDestroy")

    def create(self) -> int:
        return self._check(lib.virDomainCreate(self._o), "virDomainCreate")

    def undefine(self) -> int:
        return self._check(lib.virDomainUndefine(self._o), "virDomainUndefine")
