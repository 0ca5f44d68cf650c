"""Keeps the code an event runs through together in libvirt.so.0.

An event paced at 1000/s reaches the loop's thread after a millisecond
asleep, when little of the library's code is still cached: every code page
the delivery touches then costs a TLB and cache miss on the way to the
callback. Spread over the library in link order, that path touched 53 pages;
grouped (and their slow paths kept out of line), 15. So the link puts the
functions of that path first in .text (the linker's `.text.hot` group) and
leaves the rest where it was.

    python3 tools/hot_path.py record BENCH_DIR LIST
        Runs bench/consumer paced (BENCH_DIR: where `make bench-programs`
        put it) on bench/fakeqemu under callgrind and writes to LIST the
        functions of libvirt.so.0 that the loop's thread runs for every
        event, demangled (`make hot-path`).

    python3 tools/hot_path.py sections ARCHIVE LIST ARGS
        Writes to ARGS the objcopy options that move those functions of the
        Rust archive into .text.hot sections (the Makefile's link step).
        A name is matched with its hash where the archive has it, else by
        its path (every instance of a generic function, after a change of
        toolchain or dependencies); names that no longer match are skipped,
        and fewer than half found prints a warning to refresh LIST.

    python3 tools/hot_path.py check LIBRARY LIST
        Fails unless at least half of LIST's functions are in LIBRARY and
        lie together (tests/symbols.rs).
"""

import collections
import os
import re
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
EVENTS = 300
RATE = 200


def demangle(names):
    """Demangled names, without LLVM's suffix for internalised copies."""
    result = subprocess.run(["c++filt"], input="\n".join(names) + "\n", capture_output=True, text=True, check=True)
    return [re.sub(r"\.llvm\.\d+$", "", line) for line in result.stdout.splitlines()]


def path_of(name):
    """A demangled name without what changes from build to build: the legacy
    scheme's trailing hash, the v0 scheme's crate disambiguators. Instances
    of one generic function share it."""
    return re.sub(r"\[[0-9a-f]+\]", "", re.sub(r"::h[0-9a-f]{16}$", "", name))


def annotate(path, *options):
    argv = ["callgrind_annotate", "--threshold=100", *options, path]
    return subprocess.run(argv, capture_output=True, text=True, check=True).stdout


def record(bench_dir, list_path):
    sys.path.insert(0, os.path.join(HERE, "..", "bench"))
    import run  # bench/run.py: the fake QEMU and reader plumbing

    with tempfile.TemporaryDirectory(prefix="virt-hot-path-") as tmp:
        fake = run.FakeQemu(bench_dir, 1)
        out = os.path.join(tmp, "callgrind.out")
        argv = ["valgrind", "--tool=callgrind", "--separate-threads=yes", "--demangle=no", f"--callgrind-out-file={out}"]
        argv += [os.path.join(bench_dir, "consumer"), "paced", fake.root, str(EVENTS), os.path.join(tmp, "samples")]
        consumer = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            for line in consumer.stdout:
                if line.strip() == "ready":
                    break
            # Under valgrind the first calls are slow: let them settle.
            time.sleep(1)
            fake.command(f"pace {EVENTS} {RATE}")
            consumer.communicate(timeout=120)
        finally:
            run.stop(consumer)
            fake.close()
        # The loop's thread is the one that spent the most in the
        # consumer's run_loop (the others only start it or never run it).
        def run_loop_cost(path):
            report = annotate(path, "--inclusive=yes")
            costs = re.findall(r"^\s*([\d,]+)\s.*:run_loop \[", report, re.M)
            return max((int(c.replace(",", "")) for c in costs), default=0)

        threads = [os.path.join(tmp, n) for n in os.listdir(tmp) if n.startswith("callgrind.out-")]
        if not threads:
            sys.exit("hot_path: callgrind wrote nothing")
        calls = call_counts(max(threads, key=run_loop_cost))
    # Called for at least every other event: what every event runs, not
    # what ran a few times however long (the first lines, learned slowly).
    # Most called first, ties by name: the same run gives the same list.
    ranked = sorted(calls.items(), key=lambda item: (-item[1], item[0][1]))
    hot = [name for (obj, name), count in ranked if "libvirt.so" in obj and count * 2 >= EVENTS]
    paths = list(dict.fromkeys(demangle(hot)))
    with open(list_path, "w") as f:
        f.write("# Functions the loop's thread runs for every paced event (tools/hot_path.py record;\n")
        f.write("# `make hot-path` refreshes it). The link groups them: see tools/hot_path.py.\n")
        f.write("\n".join(paths) + "\n")
    print(f"hot_path: {len(paths)} functions in {list_path}")


def call_counts(path):
    """How many times each function (object, mangled name) was called, from
    a callgrind output file (its compressed names resolved)."""
    names = {"ob": {}, "fn": {}}
    calls = collections.Counter()
    obj = callee_obj = callee = None

    def resolve(table, value):
        match = re.match(r"\((\d+)\)(?: (.*))?$", value)
        if not match:
            return value
        if match.group(2) is not None:
            names[table][match.group(1)] = match.group(2)
        return names[table].get(match.group(1), "")

    with open(path) as f:
        for line in f:
            key, _, value = line.rstrip("\n").partition("=")
            if key == "ob":
                obj = resolve("ob", value)
            elif key == "fn":
                resolve("fn", value)
                callee_obj = obj
            elif key == "cob":
                callee_obj = resolve("ob", value)
            elif key == "cfn":
                callee = resolve("fn", value)
            elif key == "calls":
                calls[(callee_obj or obj or "", callee)] += int(value.split()[0])
                callee_obj = obj
    return calls


def read_list(list_path):
    with open(list_path) as f:
        return [line.strip() for line in f if line.strip() and not line.startswith("#")]


def select(names, wanted, list_path):
    """Which of the mangled `names` are the functions `wanted` names."""
    demangled = demangle(names)
    exact = set(wanted) & set(demangled)
    by_path = {path_of(name) for name in wanted if name not in exact}
    chosen = [n for n, d in zip(names, demangled) if d in exact or path_of(d) in by_path]
    found = exact | {path_of(d) for d in demangled if path_of(d) in by_path}
    if len(found) * 2 < len(wanted):
        print(f"hot_path: warning: {len(found)} of {len(wanted)} functions in {list_path} found; refresh it with `make hot-path`")
    return chosen, len(found)


def sections(archive, list_path, args_path):
    listing = subprocess.run(["readelf", "-SW", archive], capture_output=True, text=True, check=True).stdout
    names = sorted(set(re.findall(r"\]\s+\.text\.(\S+)\s+PROGBITS", listing)))
    moved, _ = select(names, read_list(list_path), list_path)
    with open(args_path, "w") as f:
        f.writelines(f"--rename-section .text.{name}=.text.hot.{name}\n" for name in moved)


def check(library, list_path):
    """Fails unless at least half of the listed functions are in `library`,
    and lie together."""
    listing = subprocess.run(["nm", "-S", "--defined-only", library], capture_output=True, text=True, check=True).stdout
    functions = {}
    for line in listing.splitlines():
        fields = line.split()
        if len(fields) == 4 and fields[2] in "tT":
            functions[fields[3]] = (int(fields[0], 16), int(fields[1], 16))
    wanted = read_list(list_path)
    chosen, found = select(sorted(functions), wanted, list_path)
    if found * 2 < len(wanted):
        sys.exit(f"hot_path: only {found} of {len(wanted)} listed functions are in {library}")
    # Runs of functions with no gap wider than a page between them; the
    # compiler's cold copies (.text.unlikely) stay out, so the largest run
    # must hold most of the code, not all.
    runs, end = [], None
    for start, size in sorted(functions[name] for name in chosen):
        if end is None or start - end > 4096:
            runs.append(0)
        runs[-1] += size
        end = max(end or 0, start + size)
    total = sum(runs)
    if max(runs) * 10 < total * 9:
        sys.exit(f"hot_path: the {len(chosen)} hot functions lie apart: {len(runs)} runs, the largest {max(runs)} of {total} bytes")
    print(f"hot_path: {found} of {len(wanted)} listed functions found, {max(runs)} of their {total} bytes together")


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "record":
        record(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 5 and sys.argv[1] == "sections":
        sections(sys.argv[2], sys.argv[3], sys.argv[4])
    elif len(sys.argv) == 4 and sys.argv[1] == "check":
        check(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
