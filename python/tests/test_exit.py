"""Exiting while a daemon thread runs the default loop and events flow.

CPython ends a daemon thread that re-enters the interpreter during
finalization with pthread_exit; inside the library's dispatch that forced
unwind crosses Rust frames and aborts the process. The binding's atexit
handler ends every registration first, so the library calls no Python code
once finalization starts."""

import os
import subprocess
import sys
import textwrap

from conftest import PYTHON_DIR

SCRIPT = textwrap.dedent(
    """
    import sys, threading, time
    sys.path.insert(0, %r)
    import virt_events as libvirt
    libvirt.virEventRegisterDefaultImpl()
    conn = libvirt.open("test:///default")
    conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, lambda *a: None, None)
    conn.domainEventRegister(lambda *a: None, None)
    libvirt.virEventAddTimeout(1, lambda t, o: None)
    threading.Thread(target=lambda: [libvirt.virEventRunDefaultImpl() for _ in iter(int, 1)], daemon=True).start()
    dom = conn.lookupByName("test")
    def churn():
        while True:
            dom.suspend()
            dom.resume()
    threading.Thread(target=churn, daemon=True).start()
    time.sleep(0.2)
    print("exiting")
    """
    % PYTHON_DIR
)


def test_exit_with_a_daemon_loop_thread_and_events_flowing():
    for _ in range(3):
        proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=20,
                              env=dict(os.environ))
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout == "exiting\n"
        assert "FATAL" not in proc.stderr and "Traceback" not in proc.stderr
