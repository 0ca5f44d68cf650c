#!/bin/sh
# Installs what the tests use, when missing: real libvirt 9.0 (headers and
# library, to prove binary compatibility both ways; libvirt-doc for its
# example event-test.c, built unmodified by the tests), valgrind, and pytest for
# the Python binding's tests; virsh (libvirt-clients) and python3-libvirt, the
# real clients virt-eventsd is tested with.
set -eu
if ! python3 -c 'import pytest' 2>/dev/null; then
    python3 -m pip install --quiet pytest 2>/dev/null \
        || python3 -m pip install --quiet --break-system-packages pytest 2>/dev/null \
        || { [ "$(id -u)" = 0 ] && apt-get install -y -qq python3-pytest; }
fi
packages="libvirt-dev libvirt0 libvirt-doc libvirt-clients python3-libvirt valgrind pkg-config"
missing=""
for p in $packages; do
    dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
    echo "missing packages:$missing; install them with: sudo apt-get install -y$missing" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends $missing
