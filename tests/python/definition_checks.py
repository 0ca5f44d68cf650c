"""Defines domains with one or two faults on the connection URI (argv[1],
whose driver runs guests of type argv[2]) and prints each answer, one line
per definition, so that real libvirt 9.0 and ours can be compared
(tests/real_python.rs): the definitions with two faults show which check
comes first.

A vCPU count of -1 is not among them: real libvirt 9.0 reads it as 2^32 - 1
and crashes."""

import itertools
import sys

import libvirt

URI, VIRT = sys.argv[1], sys.argv[2]
QEMU = VIRT == "qemu"

libvirt.registerErrorHandler(lambda ctx, err: None, None)
libvirt.virEventRegisterDefaultImpl()
conn = libvirt.open(URI)

BASE = {"type": VIRT, "name": "n", "uuid": None, "os": "hvm", "arch": None, "machine": None, "memory": "1024", "vcpu": None}
FAULTS = {
    "newline in name": {"name": "a\nb"},
    "slash in name": {"name": "a/b"},
    "bad uuid": {"uuid": "xyz"},
    "unknown type": {"type": "bogus"},
    "unknown os type": {"os": "bogus"},
    "unknown arch": {"arch": "bogus"},
    "no memory": {"memory": None},
    "vcpu not a number": {"vcpu": "abc"},
    "no vcpu": {"vcpu": "0"},
}
if QEMU:
    FAULTS.update(
        {
            "xen type": {"type": "xen"},
            "xen os type": {"os": "xen"},
            "arch without emulator": {"arch": "aarch64"},
            "unknown machine": {"machine": "nosuch"},
            # Only when KVM cannot be used (the test runs both as nobody).
            "kvm type": {"type": "kvm"},
        }
    )


def xml(d):
    attributes = "".join(f" {key}='{d[key]}'" for key in ("arch", "machine") if d[key] is not None)
    text = f"<domain type='{d['type']}'><name>{d['name']}</name>"
    text += f"<uuid>{d['uuid']}</uuid>" if d["uuid"] else ""
    text += d.get("current", "")
    text += f"<memory{d.get('unit', '')}>{d['memory']}</memory>" if d["memory"] else ""
    text += f"<vcpu>{d['vcpu']}</vcpu>" if d["vcpu"] is not None else ""
    return text + f"<os><type{attributes}>{d['os']}</type></os></domain>"


def define(label, text):
    try:
        dom = conn.defineXML(text)
        answer = f"defined {dom.name()!r} with {dom.info()[3]} vCPUs"
        dom.undefine()
    except libvirt.libvirtError as e:
        answer = f"error {e.get_error_code()} {e.get_error_domain()} {e.get_error_message()!r}"
    print(label, "->", answer)


for fault, change in FAULTS.items():
    define(fault, xml({**BASE, **change}))
for (first, a), (second, b) in itertools.combinations(FAULTS.items(), 2):
    if not set(a) & set(b):
        define(f"{first} + {second}", xml({**BASE, **a, **b}))
for vcpu in ["2", " 2", "\n2", "+3", "07", "-0", "2 ", "2x", "0x2", "", "4294967296"]:
    define(f"vcpu {vcpu!r}", xml({**BASE, "vcpu": vcpu}))
# Ours has no i686 guest (it runs qemu-system-x86_64 only, as its capabilities say).
ARCHES = "none alpha aarch64 i686 mips64el ppc64le riscv64 s390x sparc64 x86_64 X86_64 amd64 i386 loongarch64"
for arch in ARCHES.split():
    if not (QEMU and arch == "i686"):
        define(f"arch {arch!r}", xml({**BASE, "arch": arch}))
if QEMU:
    for machine in ["pc", "q35"]:
        define(f"machine {machine!r}", xml({**BASE, "machine": machine}))
# Not "..": real libvirt 9.0's QEMU driver then fails to undefine it.
for name in [".dot", "a b", "a\tb", "-x"]:
    define(f"name {name!r}", xml({**BASE, "name": name}))
# libvirt completes the memory sizes: both in KiB, the balloon's at most the
# guest's memory (and all of it when absent or 0).
for current in ["", "0", "512", "1024", "2048"]:
    element = f"<currentMemory>{current}</currentMemory>" if current else ""
    for unit in ["", " unit='MiB'"]:
        text = xml({**BASE, "current": element, "unit": unit, "memory": "1" if unit else "1024"})
        dom = conn.defineXML(text)
        sizes = [line.strip() for line in dom.XMLDesc().splitlines() if "emory" in line]
        print(f"currentMemory {current!r} memory{unit!r} ->", dom.info()[1:3], dom.maxMemory(), sizes)
        dom.undefine()
# Starting a domain from XML (not on QEMU, where it would launch it).
if not QEMU:
    try:
        dom = conn.createXML(xml({**BASE, "name": "a\nb"}))
        print("created", repr(dom.name()))
        dom.destroy()
    except libvirt.libvirtError as e:
        print("create error", e.get_error_code(), e.get_error_domain(), repr(e.get_error_message()))

with open("/proc/self/maps") as maps:
    print("library:", " ".join(sorted({line.split()[-1] for line in maps if "/libvirt.so" in line})))
