#!/bin/sh
# What `make bench` uses beyond the build: matplotlib to draw the plot and
# QEMU's Python client qemu.qmp (a reference of the burst benchmark), from pip
# when missing. Either failing only skips its part of the benchmarks.
set -u
for module in matplotlib qemu.qmp; do
    python3 -c "import $module" 2>/dev/null && continue
    python3 -m pip install --quiet "$module" 2>/dev/null \
        || python3 -m pip install --quiet --break-system-packages "$module" 2>/dev/null \
        || echo "bench: could not install $module with pip; its part is skipped" >&2
done
exit 0
