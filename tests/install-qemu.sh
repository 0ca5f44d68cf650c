#!/bin/sh
# Installs qemu-system-x86_64 for the end-to-end tests and the demo.
#
# The machine's qemu-utils comes from bookworm-backports (10.x) and conflicts
# with bookworm's own qemu-system (7.2), so QEMU is taken from backports too,
# through a throw-away apt configuration that reuses the configured mirror and
# leaves /etc/apt untouched.
set -eu
command -v qemu-system-x86_64 >/dev/null 2>&1 && exit 0
if [ "$(id -u)" != 0 ]; then
    echo "qemu-system-x86_64 is missing; as root run: sh tests/install-qemu.sh" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
packages="qemu-system-x86 qemu-system-common qemu-system-data seabios"
if dpkg -s qemu-utils 2>/dev/null | grep -q '^Version:.*bpo'; then
    mirror=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n 1)
    mirror=${mirror:-$(awk '/^deb /{print $2; exit}' /etc/apt/sources.list 2>/dev/null)}
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    mkdir -p "$tmp/lists/partial" "$tmp/archives/partial"
    echo "deb $mirror bookworm main" > "$tmp/sources.list"
    echo "deb $mirror bookworm-backports main" >> "$tmp/sources.list"
    set -- -o Dir::Etc::sourcelist="$tmp/sources.list" -o Dir::Etc::sourceparts=- \
        -o Dir::State::lists="$tmp/lists" -o Dir::Cache::archives="$tmp/archives"
    apt-get "$@" update -qq
    targets=""
    for p in $packages; do targets="$targets $p/bookworm-backports"; done
    # seabios may not be in backports; fall back to bookworm's.
    apt-get "$@" install -y -qq --no-install-recommends $targets \
        || apt-get "$@" install -y -qq --no-install-recommends \
            qemu-system-x86/bookworm-backports qemu-system-common/bookworm-backports \
            qemu-system-data/bookworm-backports seabios
else
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends $packages
fi
command -v qemu-system-x86_64 >/dev/null
