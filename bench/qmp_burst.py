"""QEMU's own Python client (qemu.qmp) reading the burst, for comparison.

    python3 bench/qmp_burst.py ROOT EVENTS

Connects to ROOT/vm0.qmp (bench/fakeqemu), negotiates, prints "ready", then
receives EVENTS events through the client's event listener, checking the
mix's order and the RTC offsets as bench/consumer does. Prints "key value"
lines: events, order_errors, rate (events/s from the first to the last).
"""

import asyncio
import sys
import time

from qemu.qmp import QMPClient

MIX = ["VNC_CONNECTED", "VNC_INITIALIZED", "VNC_DISCONNECTED", "RTC_CHANGE", "WATCHDOG", "RESET"]
RTC_BASE = 1000000000
STALL_SECONDS = 20


async def main(root, expected):
    client = QMPClient("bench")
    await client.connect(f"{root}/vm0.qmp")
    print("ready", flush=True)
    count = errors = 0
    first = last = 0.0
    events = client.events
    while count < expected:
        try:
            event = await asyncio.wait_for(events.get(), STALL_SECONDS)
        except asyncio.TimeoutError:
            break
        last = time.monotonic()
        if count == 0:
            first = last
        name = MIX[count % len(MIX)]
        if event["event"] != name or (
            name == "RTC_CHANGE" and event["data"]["offset"] != RTC_BASE + count // len(MIX)
        ):
            errors += 1
        count += 1
    print(f"events {count}")
    print(f"order_errors {errors}")
    if count > 1:
        print(f"rate {(count - 1) / (last - first):.1f}")
    await client.disconnect()
    return 0 if count == expected and errors == 0 else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1], int(sys.argv[2]))))
