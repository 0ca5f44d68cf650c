"""One event end to end from a real QEMU (TCG): its QMP monitor in an embed
root, our control monitor elsewhere; `cont` must reach Python as RESUMED,
`quit` as SHUTDOWN then STOPPED. A missing QEMU is a failure, not a skip."""

import gc
import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time

import pytest

import virt_events as libvirt
from helpers import run_until

pytestmark = pytest.mark.usefixtures("native_loop")

INSTALL_HINT = "qemu-system-x86_64 is missing: install it with `sh tests/install-qemu.sh` (as root, from the repository)"


class Qmp:
    """A minimal QMP client on a Unix socket."""

    def __init__(self, path, timeout=10.0):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.file = self.sock.makefile("rb")
        greeting = self._read()
        assert "QMP" in greeting, greeting
        self.execute("qmp_capabilities")

    def _read(self):
        line = self.file.readline()
        if not line:
            raise EOFError("QMP monitor closed")
        return json.loads(line)

    def execute(self, command):
        self.sock.sendall(json.dumps({"execute": command}).encode() + b"\r\n")
        while True:
            reply = self._read()
            if "return" in reply or "error" in reply:
                return reply

    def close(self):
        self.file.close()
        self.sock.close()


def connect_when_ready(path, proc, timeout=15.0):
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise AssertionError(f"QEMU exited ({proc.returncode}): {proc.stderr.read().decode(errors='replace')}")
        try:
            return Qmp(path)
        except (FileNotFoundError, ConnectionRefusedError):
            if time.monotonic() > deadline:
                raise AssertionError(f"QEMU's monitor {path} did not come up in {timeout} s")
            time.sleep(0.05)


def test_real_qemu_cont_and_quit():
    qemu = shutil.which("qemu-system-x86_64")
    if qemu is None:
        pytest.fail(INSTALL_HINT, pytrace=False)
    root = tempfile.mkdtemp(prefix="ve-py-qemu-")
    other = tempfile.mkdtemp(prefix="ve-py-ctl-")
    argv = [
        qemu, "-accel", "tcg", "-nodefaults", "-display", "none", "-machine", "pc", "-m", "32", "-S",
        "-qmp", f"unix:{root}/vm.qmp,server=on,wait=off",
        "-qmp", f"unix:{other}/ctl.sock,server=on,wait=off",
    ]
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    conn = ctl = None
    try:
        # ctl.sock is created after vm.qmp: once it answers, both listen.
        ctl = connect_when_ready(os.path.join(other, "ctl.sock"), proc)
        conn = libvirt.open("qemu:///embed?root=" + root)
        dom = conn.lookupByName("vm")
        assert dom.state() == [libvirt.VIR_DOMAIN_PAUSED, libvirt.VIR_DOMAIN_PAUSED_STARTING_UP]
        calls = []
        loop_thread = threading.get_ident()

        def on_lifecycle(c, d, event, detail, opaque):
            assert threading.get_ident() == loop_thread
            calls.append((d.name(), event, detail, opaque))

        cid = conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, on_lifecycle, "real")
        del dom
        assert ctl.execute("cont") == {"return": {}}
        run_until(lambda: calls, timeout=15, what="RESUMED from QEMU")
        assert calls == [("vm", libvirt.VIR_DOMAIN_EVENT_RESUMED, libvirt.VIR_DOMAIN_EVENT_RESUMED_UNPAUSED, "real")]
        ctl.execute("quit")
        run_until(lambda: len(calls) >= 3, timeout=15, what="SHUTDOWN and STOPPED from QEMU")
        assert calls[1:] == [
            ("vm", libvirt.VIR_DOMAIN_EVENT_SHUTDOWN, libvirt.VIR_DOMAIN_EVENT_SHUTDOWN_HOST, "real"),
            ("vm", libvirt.VIR_DOMAIN_EVENT_STOPPED, libvirt.VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN, "real"),
        ]
        assert proc.wait(10) == 0
        conn.domainEventDeregisterAny(cid)
    finally:
        if ctl is not None:
            try:
                ctl.close()
            except OSError:
                pass
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
        proc.stderr.close()
        if conn is not None:
            gc.collect()
            conn.close()
        shutil.rmtree(root, ignore_errors=True)
        shutil.rmtree(other, ignore_errors=True)
