"""Which libvirt.so.0 the package loads: never the system's unless asked.

Each case runs a fresh interpreter on a copy of the package placed outside
the checkout (so neither the package's own copy nor a checkout's build/
exists), on this machine where Debian's libvirt0 is installed (by
tests/install-deps.sh): exactly the setting where a silent fallback to the
loader's libvirt.so.0 would go unnoticed.
"""

import os
import shutil
import subprocess
import sys

import pytest

import virt_events

PACKAGE = os.path.dirname(os.path.abspath(virt_events.__file__))


@pytest.fixture
def lone_package(tmp_path):
    """A copy of the package (its .py files only) in a folder of its own."""
    target = tmp_path / "site" / "virt_events"
    shutil.copytree(PACKAGE, target, ignore=shutil.ignore_patterns("*.so*", "__pycache__"))
    return target.parent


def run_python(site, code, **env):
    environ = {k: v for k, v in os.environ.items() if k not in ("VIRT_EVENTS_LIBRARY", "PYTHONPATH")}
    environ.update(env, PYTHONPATH=str(site))
    return subprocess.run(
        [sys.executable, "-c", code], cwd=str(site), env=environ, capture_output=True, text=True, timeout=30
    )


MAPPED_LIBVIRT = (
    "[l.split()[-1] for l in open('/proc/self/maps') if os.path.basename(l.split()[-1]).startswith('libvirt')]"
)


def test_no_library_of_ours_is_an_error_naming_every_place(lone_package):
    code = f"""
import os, virt_events
try:
    virt_events.open("test:///default")
except virt_events.LibraryNotFound as e:
    print(e)
print("mapped:", {MAPPED_LIBVIRT})
"""
    proc = run_python(lone_package, code)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    own_copy = os.path.join(str(lone_package), "virt_events", "libvirt.so.0")
    assert "found no libvirt.so.0 of virt-events; tried, in order:" in out, out
    assert "1. $VIRT_EVENTS_LIBRARY: not set" in out, out
    assert f"2. the package's own copy: {own_copy}: no such file" in out, out
    assert "3. a source checkout's build/: not inside a virt-events checkout" in out, out
    assert "VIRT_EVENTS_LIBRARY=libvirt.so.0" in out, out  # how to ask for the system's
    assert out.rstrip().endswith("mapped: []"), out  # nothing was loaded


def test_a_missing_env_library_is_the_only_place_tried(lone_package, tmp_path):
    missing = str(tmp_path / "nowhere" / "libvirt.so.0")
    code = """
import virt_events
try:
    virt_events.library_path()
except virt_events.LibraryNotFound as e:
    print(e)
"""
    out = run_python(lone_package, code, VIRT_EVENTS_LIBRARY=missing).stdout
    assert f"1. $VIRT_EVENTS_LIBRARY: {missing}: no such file" in out, out
    assert "2." not in out, out


def test_the_system_libvirt_only_when_asked(lone_package):
    code = f"""
import os, virt_events
print(virt_events.library_path())
print("mapped:", {MAPPED_LIBVIRT})
"""
    proc = run_python(lone_package, code, VIRT_EVENTS_LIBRARY="libvirt.so.0")
    assert proc.returncode == 0, proc.stderr
    path = proc.stdout.splitlines()[0]
    assert path.startswith("/") and os.path.basename(path).startswith("libvirt.so.0"), proc.stdout
    assert os.path.dirname(path) != os.path.join(str(lone_package), "virt_events")


def test_load_library_by_argument_and_no_switching(lone_package):
    build = os.path.realpath(virt_events.library_path())
    code = f"""
import virt_events
print(virt_events.load_library({build!r}))
print(virt_events.load_library())
try:
    virt_events.load_library("libvirt.so.0")
except RuntimeError as e:
    print("refused:", e)
print(virt_events.getVersion())
"""
    proc = run_python(lone_package, code)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == build and lines[1] == build, proc.stdout
    assert lines[2].startswith(f"refused: virt_events already loaded {build}"), proc.stdout
    assert lines[3] == "9000000", proc.stdout
