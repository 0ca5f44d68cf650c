#!/bin/sh
# Builds the wheel, installs it into a fresh virtual environment and runs
# the smoke test (python/tests/wheel_smoke.py) from a folder outside the
# checkout: the installed package must load its own libraries, deliver
# events through both loops, pass mypy --strict on a typed example, and, its
# libraries removed, fail naming every place tried instead of binding to the
# system's libvirt.so.0.
#
#   sh python/tools/wheel_check.sh        (make python-wheel-check)
set -eu
repo=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/virt-events-wheel.XXXXXX")
trap 'rm -rf "$work"' EXIT

# No index: the in-tree backend needs nothing from PyPI; make is incremental.
python3 -m pip wheel --quiet --no-index --no-deps -w "$work/dist" "$repo/python"
wheel=$(ls "$work"/dist/virt_events-*-py3-none-linux_x86_64.whl)
python3 -m venv "$work/venv"
"$work/venv/bin/python" -m pip install --quiet --no-index "$wheel"

mkdir "$work/outside"
cp "$repo/python/tests/wheel_smoke.py" "$work/outside/"
cd "$work/outside"
smoke() {
    env -u VIRT_EVENTS_LIBRARY -u PYTHONPATH "$work/venv/bin/python" wheel_smoke.py "$1"
}
smoke native
smoke asyncio
# The annotations as an editor or mypy user sees them: a typed example
# checked with mypy --strict against the installed wheel (py.typed), then run.
cp "$repo/python/examples/typed.py" "$work/outside/"
python3 -m mypy --strict --no-incremental --cache-dir "$work/mypy-cache" \
    --python-executable "$work/venv/bin/python" typed.py
# ... and the package's own annotations agree with its code.
python3 -m mypy --no-incremental --cache-dir "$work/mypy-cache" "$repo/python/virt_events"
env -u VIRT_EVENTS_LIBRARY -u PYTHONPATH "$work/venv/bin/python" typed.py
package=$("$work/venv/bin/python" -c 'import os, virt_events; print(os.path.dirname(virt_events.__file__))')
rm "$package/libvirt.so.0" "$package/libvirt-qemu.so.0"
smoke missing

# pip install -e: the package stays the checkout's and loads its build/.
python3 -m venv "$work/editable"
"$work/editable/bin/python" -m pip install --quiet --no-index -e "$repo/python"
loaded=$(env -u VIRT_EVENTS_LIBRARY -u PYTHONPATH "$work/editable/bin/python" -c 'import virt_events; print(virt_events.library_path())')
test "$loaded" = "$repo/build/libvirt.so.0" || { echo "pip install -e loads $loaded, not $repo/build/libvirt.so.0" >&2; exit 1; }
echo "wheel-check: $(basename "$wheel") installs, loads its own library, and never falls back;"
echo "wheel-check: pip install -e loads the checkout's build/"
