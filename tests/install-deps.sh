#!/bin/sh
# Installs what the tests use, when missing: real libvirt 9.0 (headers and
# library, to prove binary compatibility both ways; libvirt-doc for its
# example event-test.c, built unmodified by the tests), valgrind, pytest and
# mypy for the Python binding's tests, python3-pip / python3-venv for its
# wheel check, and virsh (libvirt-clients) and python3-libvirt, the real
# clients virt-eventsd is tested with.
set -eu
# pytest runs the binding's tests; mypy checks a typed example against the
# installed wheel's annotations (make python-wheel-check).
for module in pytest mypy; do
    if ! python3 -c "import $module" 2>/dev/null; then
        python3 -m pip install --quiet "$module" 2>/dev/null \
            || python3 -m pip install --quiet --break-system-packages "$module" 2>/dev/null \
            || { [ "$(id -u)" = 0 ] && apt-get install -y -qq "python3-$module"; }
    fi
done
# openssl: the VNC-password test answers QEMU's DES challenge with it.
packages="libvirt-dev libvirt0 libvirt-doc libvirt-clients libvirt-daemon python3-libvirt valgrind pkg-config openssl"
missing=""
for p in $packages; do
    dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
done
# The Python wheel check builds with pip and installs into a virtual
# environment: Debian's python3 needs python3-pip and python3-venv for that
# (a python3 of its own, pyenv say, has both built in).
python3 -c 'import ensurepip, venv' 2>/dev/null || missing="$missing python3-venv"
python3 -m pip --version >/dev/null 2>&1 || missing="$missing python3-pip"
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
    echo "missing packages:$missing; install them with: sudo apt-get install -y$missing" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends $missing
