"""What every wrapper of a library object shares: the C pointer (one
reference, dropped by __del__ through the class's vir*Free) and the
connection it belongs to."""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from ._lib import lib

if TYPE_CHECKING:
    from ._connect import virConnect


class _Handle:
    _FREE: str  # the class's vir*Free

    def __init__(self, conn: virConnect, _obj: int) -> None:
        self._conn = conn
        self._o: Optional[int] = _obj

    def __del__(self) -> None:
        o, self._o = getattr(self, "_o", None), None
        if o:
            try:
                getattr(lib, self._FREE)(o)
            except Exception:
                pass
