"""The PEP 517 build backend of virt_events: wheels that carry the library.

``pip install ./python`` and ``pip wheel ./python`` call build_wheel, which
runs the project's own build (``make``: cargo, then the link with the
version scripts) in the checkout around this directory and writes a
platform wheel holding the package, ``libvirt.so.0`` and
``libvirt-qemu.so.0``. ``pip install -e ./python`` calls build_editable,
which runs the same build and installs a path entry to the checkout's
``python/``: the package then loads the checkout's ``build/`` libraries.

No build dependency: the wheel is a zip file with three metadata files,
written here with the standard library (tomli only on Python < 3.11, to
read pyproject.toml).
"""

import base64
import hashlib
import os
import subprocess
import sys
import sysconfig
import zipfile

PYTHON_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPO = os.path.dirname(PYTHON_DIR)
PACKAGE = "virt_events"
#: what the wheel carries from the checkout's build/, and under which name
LIBRARIES = ("libvirt.so.0", "libvirt-qemu.so.0")
#: a fixed timestamp, so that two builds of the same tree give the same wheel
ZIP_DATE = (2026, 1, 1, 0, 0, 0)


def _pyproject():
    if sys.version_info >= (3, 11):
        import tomllib
    else:
        import tomli as tomllib
    with open(os.path.join(PYTHON_DIR, "pyproject.toml"), "rb") as f:
        return tomllib.load(f)["project"]


def _metadata():
    """The METADATA file (core metadata 2.1) from pyproject.toml's [project]."""
    project = _pyproject()
    lines = [
        "Metadata-Version: 2.1",
        f"Name: {project['name']}",
        f"Version: {project['version']}",
        f"Summary: {project['description']}",
        f"License: {project['license']['text']}",
        f"Requires-Python: {project['requires-python']}",
    ]
    lines += [f"Classifier: {c}" for c in project.get("classifiers", [])]
    for extra, requirements in project.get("optional-dependencies", {}).items():
        lines.append(f"Provides-Extra: {extra}")
        lines += [f'Requires-Dist: {r}; extra == "{extra}"' for r in requirements]
    lines.append("Description-Content-Type: text/markdown")
    with open(os.path.join(PYTHON_DIR, project["readme"]), encoding="utf-8") as f:
        readme = f.read()
    return "\n".join(lines) + "\n\n" + readme


def _names():
    project = _pyproject()
    dist = project["name"].replace("-", "_")
    return dist, project["version"]


def _platform_tag():
    return sysconfig.get_platform().replace("-", "_").replace(".", "_")


def _build_libraries():
    """Runs `make` for the two libraries (incremental: cargo decides whether
    anything changed, the link is cheap); returns their paths."""
    if not os.path.exists(os.path.join(REPO, "Makefile")) or not os.path.exists(os.path.join(REPO, "Cargo.toml")):
        raise RuntimeError(
            f"virt_events is built from a virt-events checkout (its python/ folder); {REPO} has no "
            "Makefile and Cargo.toml, so the library cannot be built here"
        )
    make = os.environ.get("MAKE", "make")
    targets = [os.path.join("build", name) for name in LIBRARIES]
    try:
        # Build output goes to stderr: a PEP 517 hook's stdout is the frontend's.
        subprocess.run([make, "-C", REPO, *targets], check=True, stdout=sys.stderr)
    except FileNotFoundError:
        raise RuntimeError(f"building virt_events needs `{make}` (and cargo and a C compiler)") from None
    except subprocess.CalledProcessError as e:
        raise RuntimeError(f"`{make} -C {REPO} {' '.join(targets)}` failed (exit status {e.returncode})") from None
    return [os.path.realpath(os.path.join(REPO, target)) for target in targets]


class _Wheel:
    """A wheel being written: every file is hashed into RECORD."""

    def __init__(self, path, dist_info):
        self.zip = zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED)
        self.dist_info = dist_info
        self.records = []

    def add(self, arcname, data, executable=False):
        info = zipfile.ZipInfo(arcname, ZIP_DATE)
        info.external_attr = (0o100755 if executable else 0o100644) << 16
        info.compress_type = zipfile.ZIP_DEFLATED
        self.zip.writestr(info, data)
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        self.records.append(f"{arcname},sha256={digest},{len(data)}")

    def close(self):
        record = f"{self.dist_info}/RECORD"
        self.records.append(f"{record},,")
        info = zipfile.ZipInfo(record, ZIP_DATE)
        info.external_attr = 0o100644 << 16
        self.zip.writestr(info, "\n".join(self.records) + "\n")
        self.zip.close()


def _write_wheel(wheel_directory, tag, contents):
    """Writes <dist>-<version>-<tag>.whl with `contents` ([(arcname, bytes,
    executable)]) and the dist-info; returns the file name."""
    dist, version = _names()
    dist_info = f"{dist}-{version}.dist-info"
    filename = f"{dist}-{version}-{tag}.whl"
    wheel = _Wheel(os.path.join(wheel_directory, filename), dist_info)
    try:
        for arcname, data, executable in contents:
            wheel.add(arcname, data, executable)
        wheel.add(f"{dist_info}/METADATA", _metadata().encode("utf-8"))
        root_is_purelib = "true" if tag.endswith("-any") else "false"
        wheel_file = (
            f"Wheel-Version: 1.0\nGenerator: virt_events_backend\nRoot-Is-Purelib: {root_is_purelib}\nTag: {tag}\n"
        )
        wheel.add(f"{dist_info}/WHEEL", wheel_file.encode())
    finally:
        wheel.close()
    return filename


def _read(path):
    with open(path, "rb") as f:
        return f.read()


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    libraries = _build_libraries()
    source = os.path.join(PYTHON_DIR, PACKAGE)
    contents = [
        (f"{PACKAGE}/{name}", _read(os.path.join(source, name)), False)
        for name in sorted(os.listdir(source))
        if name.endswith(".py") or name == "py.typed"
    ]
    contents += [(f"{PACKAGE}/{name}", _read(path), True) for name, path in zip(LIBRARIES, libraries)]
    # ctypes has no ABI dependency: any Python 3, this platform.
    return _write_wheel(wheel_directory, f"py3-none-{_platform_tag()}", contents)


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    _build_libraries()
    # A path entry to the checkout's python/: the package found there loads
    # the checkout's build/ libraries (it has no copy of its own).
    pth = (PYTHON_DIR + "\n").encode()
    return _write_wheel(wheel_directory, "py3-none-any", [(f"__editable__.{PACKAGE}.pth", pth, False)])


def build_sdist(sdist_directory, config_settings=None):
    raise RuntimeError(
        "virt_events has no sdist of its own: its wheel carries the library built from the whole "
        "virt-events checkout; build the wheel from the checkout (`pip wheel ./python`)"
    )
