"""The module's constants and event table against the C headers."""

import os
import sys

import virt_events as libvirt
from conftest import PYTHON_DIR, REPO

sys.path.insert(0, os.path.join(PYTHON_DIR, "tools"))
import gen_constants  # noqa: E402

INCLUDE = os.path.join(REPO, "include", "libvirt")


def test_every_header_constant_is_exported_with_its_value():
    groups = gen_constants.parse(INCLUDE)
    names = [name for _, items in groups for name, _ in items]
    assert len(names) > 300
    for _, items in groups:
        for name, value in items:
            assert getattr(libvirt, name, None) == value, name


def test_generated_module_is_up_to_date():
    path = os.path.join(PYTHON_DIR, "virt_events", "_constants.py")
    with open(path, encoding="utf-8") as f:
        assert f.read() == gen_constants.render(gen_constants.parse(INCLUDE)), (
            "virt_events/_constants.py is stale: run python3 python/tools/gen_constants.py"
        )


def test_every_event_id_has_a_table_entry():
    ids = {
        name[len("VIR_DOMAIN_EVENT_ID_"):]: value
        for name, value in vars(libvirt).items()
        if name.startswith("VIR_DOMAIN_EVENT_ID_") and name != "VIR_DOMAIN_EVENT_ID_LAST"
    }
    assert len(ids) == libvirt.VIR_DOMAIN_EVENT_ID_LAST
    assert {spec.name: spec.event_id for spec in libvirt.EVENTS.values()} == ids


def test_libvirt_python_names():
    assert libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE == 0
    assert libvirt.VIR_DOMAIN_EVENT_ID_GRAPHICS == 5
    assert libvirt.VIR_DOMAIN_EVENT_STARTED == 2 and libvirt.VIR_DOMAIN_EVENT_STARTED_BOOTED == 0
    assert libvirt.VIR_DOMAIN_EVENT_WATCHDOG_INJECTNMI == 6
    assert libvirt.VIR_DOMAIN_EVENT_IO_ERROR_REPORT == 2
    assert libvirt.VIR_DOMAIN_EVENT_GRAPHICS_ADDRESS_UNIX == 2
    assert libvirt.VIR_DOMAIN_RUNNING == 1 and libvirt.VIR_DOMAIN_SHUTOFF == 5
    assert libvirt.VIR_ERR_INVALID_ARG == 8 and libvirt.VIR_FROM_DOMAIN == 20
    assert libvirt.VIR_EVENT_HANDLE_READABLE == 1
    assert issubclass(libvirt.libvirtError, Exception)
