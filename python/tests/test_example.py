"""examples/event-test.py, with either loop, watching a fake QEMU: one line
per event, then a clean stop on SIGINT/SIGTERM or --timeout."""

import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

import pytest

from conftest import PYTHON_DIR
from helpers import FakeQemu, event_line

EXAMPLE = os.path.join(PYTHON_DIR, "examples", "event-test.py")


class Lines:
    """The example's stdout, line by line, read by a thread."""

    def __init__(self, proc):
        self.queue = queue.Queue()
        self.seen = []
        threading.Thread(target=self._read, args=(proc.stdout,), daemon=True).start()

    def _read(self, stream):
        for line in stream:
            self.queue.put(line.rstrip("\n"))
        self.queue.put(None)

    def until(self, predicate, timeout=10.0):
        deadline = time.monotonic() + timeout
        while True:
            for line in self.seen:
                if predicate(line):
                    return line
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"timed out; the example printed: {self.seen}")
            try:
                line = self.queue.get(timeout=remaining)
            except queue.Empty:
                continue
            if line is None:
                raise AssertionError(f"the example ended; it printed: {self.seen}")
            self.seen.append(line)


def start(*args):
    return subprocess.Popen(
        [sys.executable, EXAMPLE, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        env=dict(os.environ),
    )


@pytest.mark.parametrize("loop, stop_signal", [("native", signal.SIGINT), ("asyncio", signal.SIGTERM)],
                         ids=["native-SIGINT", "asyncio-SIGTERM"])
def test_example_prints_events_and_stops_on_signal(loop, stop_signal):
    root = tempfile.mkdtemp(prefix="ve-py-ex-")
    fake = FakeQemu(root, "web1")
    proc = start("--loop", loop, "--timeout", "30", "qemu:///embed?root=" + root)
    try:
        lines = Lines(proc)
        lines.until(lambda l: l.startswith("Watching qemu:///embed"))
        fake.send_events([
            event_line("RTC_CHANGE", {"offset": 42}),
            event_line("WATCHDOG", {"action": "reset"}),
            event_line("RESET", {"guest": True, "reason": "guest-reset"}),
            event_line("VNC_CONNECTED", {
                "server": {"auth": "none", "family": "ipv4", "service": "5900", "host": "127.0.0.1"},
                "client": {"family": "ipv4", "service": "57078", "host": "127.0.0.1"},
            }),
            event_line("BLOCK_IO_ERROR", {"device": "", "node-name": "x", "action": "report", "nospace": False}),
            event_line("STOP"),
        ])
        fake.go.set()
        expected = [
            "rtc-change EVENT: Domain web1(",  # the ID is given at attach
            "watchdog EVENT: Domain web1(",
            "reboot EVENT: Domain web1(",
            "graphics EVENT: Domain web1(",
            "io-error EVENT: Domain web1(",
            "legacy-lifecycle EVENT: Domain web1(",
            "lifecycle EVENT: Domain web1(",
        ]
        for prefix in expected:
            lines.until(lambda l, p=prefix: l.startswith(p))
        text = "\n".join(lines.seen)
        assert ") rtc change 42" in text
        assert ") watchdog action=2 (reset)" in text
        assert ") rebooted" in text
        assert (") graphics connected local: family=ipv4 node=127.0.0.1 service=5900 "
                "remote: family=ipv4 node=127.0.0.1 service=57078 auth: none") in text
        assert ") io error path= alias= action=2 (report)" in text
        assert ") Suspended Paused" in text
        proc.send_signal(stop_signal)
        lines.until(lambda l: l == "Closing connection: done")
        assert proc.wait(10) == 0
        assert "Deregistering event callbacks" in lines.seen
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
        err = proc.stderr.read()
        proc.stderr.close()
        proc.stdout.close()
        fake.close()
        shutil.rmtree(root, ignore_errors=True)
    assert "Traceback" not in err, err


@pytest.mark.parametrize("loop", ["native", "asyncio"])
def test_example_timeout(loop):
    started = time.monotonic()
    proc = subprocess.run([sys.executable, EXAMPLE, "--loop", loop, "--timeout", "0.3", "test:///default"],
                          capture_output=True, text=True, timeout=20, env=dict(os.environ))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        f"Watching test:///default with the {loop} loop; Ctrl-C stops.",
        "Deregistering event callbacks",
        "Closing connection: done",
    ]
    assert time.monotonic() - started < 10
