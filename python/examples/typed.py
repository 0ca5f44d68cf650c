"""A typed use of virt_events: `mypy --strict` checks it against the
package's annotations (make python-wheel-check), and it runs:

    python3 python/examples/typed.py [URI]

prints the first lifecycle event of the domain "test" after suspending it,
through asyncio, and the first network event after defining a network.
"""

import asyncio
import sys
from typing import List, Optional

import virt_events as libvirt
from virt_events.aio import DomainEvent, NetworkEvent


def describe(event: DomainEvent) -> str:
    name = event.dom.name() if event.dom is not None else "?"
    return f"{name}: event {event.eventID} args {list(event.args)}"


async def first_events(uri: str) -> List[str]:
    conn: libvirt.virConnect = libvirt.open(uri)
    lines: List[str] = []
    dom: libvirt.virDomain = conn.lookupByName("test")
    async with conn.events(libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, dom) as events:
        dom.suspend()
        event: DomainEvent = await asyncio.wait_for(events.__anext__(), 10)
        lines.append(describe(event))
    async with conn.networkEvents() as networks:
        net: libvirt.virNetwork = conn.networkDefineXML("<network><name>typed</name></network>")
        net_event: NetworkEvent = await asyncio.wait_for(networks.__anext__(), 10)
        net_name: Optional[str] = net_event.net.name() if net_event.net is not None else None
        lines.append(f"network {net_name}: {net_event.args}")
        net.undefine()
    state: List[int] = dom.state()
    lines.append(f"state {state}, library {libvirt.library_path()}")
    try:
        conn.lookupByName("no-such-domain")
    except libvirt.libvirtError as e:
        code: Optional[int] = e.get_error_code()
        lines.append(f"error {code}: {e.get_error_message()}")
    return lines


def main(argv: List[str]) -> int:
    uri = argv[1] if len(argv) > 1 else "test:///default"
    for line in asyncio.run(first_events(uri)):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
