"""Which event-loop implementation the process has: the first registration
wins (as in libvirt), for the default loop and asyncio alike."""

from __future__ import annotations

import threading
from typing import Optional

_loop_lock = threading.Lock()
_loop_kind = None  # "default" or "asyncio": the process's one event-loop implementation


def claim_event_loop(kind: str) -> bool:
    """Records that `kind` is the process's event loop; the first
    registration wins (as in libvirt), so another kind is refused."""
    global _loop_kind
    with _loop_lock:
        if _loop_kind is not None and _loop_kind != kind:
            raise RuntimeError(
                f"the {_loop_kind} event loop is already registered in this process; "
                f"the first registration wins, so the {kind} loop cannot be used"
            )
        first = _loop_kind is None
        _loop_kind = kind
        return first


def event_loop_kind() -> Optional[str]:
    """"default", "asyncio", or None when no loop is registered yet."""
    return _loop_kind
