"""Helpers of the tests: running the loop until something happened, a
thread running the default loop, and the fake QEMU monitor."""

import json
import os
import socket
import threading
import time

import virt_events


def run_until(predicate, timeout=5.0, what="the expected events"):
    """Runs the default loop on this thread until predicate() holds."""
    deadline = time.monotonic() + timeout
    tick = virt_events.virEventAddTimeout(20, lambda timer, opaque: None)
    try:
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout} s waiting for {what}")
            virt_events.virEventRunDefaultImpl()
    finally:
        virt_events.virEventRemoveTimeout(tick)


def run_for(seconds):
    """Runs the default loop on this thread for `seconds`."""
    deadline = time.monotonic() + seconds
    tick = virt_events.virEventAddTimeout(10, lambda timer, opaque: None)
    try:
        while time.monotonic() < deadline:
            virt_events.virEventRunDefaultImpl()
    finally:
        virt_events.virEventRemoveTimeout(tick)


def wait_for(predicate, timeout=5.0, what="the expected events"):
    """Waits (without running the loop) until predicate() holds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.005)


class LoopThread:
    """A thread running virEventRunDefaultImpl until stopped."""

    def __init__(self):
        self.ident = None
        self.local = threading.local()
        self._stop = False
        self._started = threading.Event()
        self.thread = threading.Thread(target=self._run, name="virt-events-loop", daemon=True)

    def _run(self):
        self.ident = threading.get_ident()
        self.local.marker = "loop-thread"
        self._started.set()
        while not self._stop:
            virt_events.virEventRunDefaultImpl()

    def __enter__(self):
        self.thread.start()
        self._started.wait(5)
        return self

    def __exit__(self, *exc):
        self._stop = True

        def wake(timer, opaque):
            virt_events.virEventRemoveTimeout(timer)

        virt_events.virEventAddTimeout(0, wake)
        self.thread.join(5)
        assert not self.thread.is_alive(), "the loop thread did not stop"


GREETING = {"QMP": {"version": {"qemu": {"micro": 2, "minor": 0, "major": 10}, "package": ""}, "capabilities": []}}


def event_line(name, data=None, seconds=1):
    event = {"event": name, "timestamp": {"seconds": seconds, "microseconds": 0}}
    if data is not None:
        event["data"] = data
    return event


class FakeQemu:
    """A fake QEMU monitor on ROOT/NAME.qmp: greets, answers every command,
    and once `go` is set sends the queued event lines; `close()` (or
    `eof=True` events) ends the connection as QEMU exiting would.

    Replies: query-status -> {"running": true, "status": "running"},
    query-uuid -> {"UUID": uuid}, query-block -> `block` ([] by default),
    anything else -> {}.
    """

    def __init__(self, root, name, uuid="c7a5fdbd-cdaf-9455-926a-d65c16db1809", block=None, status=None):
        self.path = os.path.join(root, name + ".qmp")
        self.uuid = uuid
        self.block = block if block is not None else []
        self.status = status or {"running": True, "status": "running"}
        self.commands = []
        self.go = threading.Event()
        self._events = []
        self._eof_after_events = False
        self._closed = threading.Event()
        self._conn = None
        self._lock = threading.Lock()
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(self.path)
        self.listener.listen(1)
        self.error = None
        self.thread = threading.Thread(target=self._serve, name="fake-qmp-" + name, daemon=True)
        self.thread.start()

    def send_events(self, events, eof=False):
        """Queues event dicts (or raw lines): they are sent once `go` is set
        (at once if it is); with eof=True the monitor then closes, as when
        QEMU exits."""
        with self._lock:
            self._events.extend(events)
            self._eof_after_events = eof

    def _write(self, obj):
        line = obj if isinstance(obj, str) else json.dumps(obj)
        self._conn.sendall(line.encode() + b"\r\n")

    def _serve(self):
        try:
            self.listener.settimeout(10)
            conn, _ = self.listener.accept()
            self._conn = conn
            conn.settimeout(0.05)
            self._write(GREETING)
            buf = b""
            sent = 0
            while not self._closed.is_set():
                try:
                    data = conn.recv(65536)
                    if not data:
                        break
                    buf += data
                except socket.timeout:
                    pass
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    if line.strip():
                        self._answer(json.loads(line))
                if self.go.is_set():
                    with self._lock:
                        events, eof = self._events[sent:], self._eof_after_events
                    for event in events:
                        self._write(event)
                    sent += len(events)
                    if eof:
                        break
        except Exception as e:  # reported by the test through .error
            self.error = e
        finally:
            if self._conn is not None:
                try:
                    self._conn.close()
                except OSError:
                    pass
            self.listener.close()

    def _answer(self, command):
        self.commands.append(command.get("execute"))
        execute = command.get("execute")
        if execute == "query-status":
            ret = self.status
        elif execute == "query-uuid":
            ret = {"UUID": self.uuid}
        elif execute == "query-block":
            ret = self.block
        else:
            ret = {}
        reply = {"return": ret}
        if "id" in command:
            reply["id"] = command["id"]
        self._write(reply)

    def close(self):
        self._closed.set()
        self.thread.join(5)
