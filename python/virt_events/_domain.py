"""virDomain."""

import ctypes
from ctypes import byref, c_int

from . import _constants as C
from ._errors import _fail
from ._lib import _virDomainInfo, dec, lib, take_string

class virDomain:
    """A domain of a connection (libvirt-python's virDomain, for the calls
    the library supports)."""

    def __init__(self, conn, _obj):
        self._conn = conn
        self._o = _obj

    def __del__(self):
        o, self._o = getattr(self, "_o", None), None
        if o:
            try:
                lib.virDomainFree(o)
            except Exception:
                pass

    def __repr__(self):
        try:
            return f"<virDomain {self.name()!r} id={self.ID()}>"
        except Exception:
            return "<virDomain>"

    def connect(self):
        return self._conn

    def _check(self, ret, function):
        if ret == -1:
            raise _fail(function, conn=self._conn, dom=self)
        return ret

    def name(self):
        name = lib.virDomainGetName(self._o)
        if name is None:
            raise _fail("virDomainGetName", conn=self._conn, dom=self)
        return dec(name)

    def ID(self):
        value = lib.virDomainGetID(self._o)
        return -1 if value == 0xFFFFFFFF else value

    def UUID(self):
        buf = ctypes.create_string_buffer(C.VIR_UUID_BUFLEN)
        self._check(lib.virDomainGetUUID(self._o, buf), "virDomainGetUUID")
        return buf.raw

    def UUIDString(self):
        buf = ctypes.create_string_buffer(C.VIR_UUID_STRING_BUFLEN)
        self._check(lib.virDomainGetUUIDString(self._o, buf), "virDomainGetUUIDString")
        return dec(buf.value)

    def XMLDesc(self, flags=0):
        ptr = lib.virDomainGetXMLDesc(self._o, flags)
        if not ptr:
            raise _fail("virDomainGetXMLDesc", conn=self._conn, dom=self)
        return take_string(ptr)

    def state(self, flags=0):
        """[state, reason]"""
        state, reason = c_int(), c_int()
        self._check(lib.virDomainGetState(self._o, byref(state), byref(reason), flags), "virDomainGetState")
        return [state.value, reason.value]

    def info(self):
        """[state, maxMem, memory, nrVirtCpu, cpuTime]"""
        info = _virDomainInfo()
        self._check(lib.virDomainGetInfo(self._o, byref(info)), "virDomainGetInfo")
        return [info.state, info.maxMem, info.memory, info.nrVirtCpu, info.cpuTime]

    def isActive(self):
        return self._check(lib.virDomainIsActive(self._o), "virDomainIsActive")

    def isPersistent(self):
        return self._check(lib.virDomainIsPersistent(self._o), "virDomainIsPersistent")

    def suspend(self):
        return self._check(lib.virDomainSuspend(self._o), "virDomainSuspend")

    def resume(self):
        return self._check(lib.virDomainResume(self._o), "virDomainResume")

    def reboot(self, flags=0):
        return self._check(lib.virDomainReboot(self._o, flags), "virDomainReboot")

    def reset(self, flags=0):
        return self._check(lib.virDomainReset(self._o, flags), "virDomainReset")

    def shutdown(self):
        return self._check(lib.virDomainShutdown(self._o), "virDomainShutdown")

    def destroy(self):
        return self._check(lib.virDomainDestroy(self._o), "virDomainDestroy")

    def create(self):
        return self._check(lib.virDomainCreate(self._o), "virDomainCreate")

    def undefine(self):
        return self._check(lib.virDomainUndefine(self._o), "virDomainUndefine")
