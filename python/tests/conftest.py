"""Shared set-up of the virt_events tests.

The library under test is $VIRT_EVENTS_LIBRARY, by default the build tree's
build/libvirt.so.0 (python/../build/libvirt.so.0). If it is missing, every
test fails (never skips) saying how to build it.

The event-loop implementation is process-wide and the first registration
wins, so the tests of this process use the library's default loop
(`native_loop`), and the asyncio tests (asyncio_cases.py) run in a pytest
subprocess of their own (test_asyncio.py).
"""

import faulthandler
import gc
import os
import sys

import pytest

TESTS = os.path.dirname(os.path.abspath(__file__))
PYTHON_DIR = os.path.dirname(TESTS)
REPO = os.path.dirname(PYTHON_DIR)
sys.path.insert(0, PYTHON_DIR)
sys.path.insert(0, TESTS)

os.environ.setdefault("VIRT_EVENTS_LIBRARY", os.path.join(PYTHON_DIR, "..", "build", "libvirt.so.0"))
LIBRARY = os.path.abspath(os.environ["VIRT_EVENTS_LIBRARY"])
os.environ["VIRT_EVENTS_LIBRARY"] = LIBRARY

# Hard per-test bound: a hung test dumps every thread's stack and ends the run.
TEST_TIME_LIMIT = float(os.environ.get("VIRT_EVENTS_TEST_TIME_LIMIT", "45"))


MISSING = (
    None
    if os.path.exists(LIBRARY)
    else f"virt-events library not found at {LIBRARY}: build it with `make` in {REPO} "
    f"(or point VIRT_EVENTS_LIBRARY at libvirt.so.0)"
)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_call(item):
    # A missing library fails every test (in its call phase: FAILED, never
    # skipped); the fixtures below stand aside so that this is the failure.
    if MISSING:
        pytest.fail(MISSING, pytrace=False)


@pytest.fixture(autouse=True, scope="session")
def library():
    if MISSING:
        return None
    import virt_events

    path = virt_events.library_path()
    assert os.path.realpath(path) == os.path.realpath(LIBRARY), path
    return path


@pytest.fixture(autouse=True)
def time_limit():
    faulthandler.dump_traceback_later(TEST_TIME_LIMIT, exit=True)
    yield
    faulthandler.cancel_dump_traceback_later()


@pytest.fixture(scope="session")
def native_loop(library):
    """The library's default poll loop, registered for this process."""
    import virt_events

    if MISSING:
        return False
    assert virt_events.event_loop_kind() in (None, "default")
    virt_events.virEventRegisterDefaultImpl()
    return True


@pytest.fixture
def test_conn(native_loop):
    """A connection to test:///default that must be fully closed at the end
    (no registration or domain object left holding it), so that every test
    starts from a fresh test driver (callback IDs from 0, domain 'test'
    running)."""
    import virt_events

    if MISSING:
        yield None
        return
    conn = virt_events.open("test:///default")
    yield conn
    gc.collect()
    assert conn.close() == 0, "a registration or domain object still holds the connection"
