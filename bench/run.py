"""Runs the benchmarks of bench/ and prints each figure as a ratio to its reference.

    python3 bench/run.py BUILD_DIR        (what `make bench` runs)

BUILD_DIR holds the programs `make bench` built: fakeqemu, rawreader,
consumer (linked with our libvirt.so.0), lifecycle (ours) and, when the
system has libvirt's development files, lifecycle-libvirt (the real one).
Every comparison runs its sides alternately, BENCH_RUNS times, in this one
run, and reports medians: on a shared machine absolute rates swing, the
ratios measured side by side are what count. Sizes come from the
environment (defaults in SIZES); BENCH_ONLY (e.g. "lifecycle" or
"burst,paced") runs only the benchmarks it names (burst, paced, memory, many,
lifecycle). Results go to stdout, BUILD_DIR/results.txt,
BUILD_DIR/results.json and the plot BUILD_DIR/bench.png.

Every server listens on unix sockets in a temporary folder and every process
started here is stopped by its PID.
"""

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

SIZES = {
    "BENCH_RUNS": 5,  # alternating runs of each comparison
    "BENCH_BURST_EVENTS": 300000,  # burst on one monitor
    "BENCH_QMP_EVENTS": 60000,  # the same burst read by qemu.qmp (slower)
    "BENCH_PACED_EVENTS": 5000,  # RTC changes at BENCH_PACED_RATE
    "BENCH_PACED_RATE": 1000,
    "BENCH_MEMORY_EVENTS": 3000000,  # one burst for peak RSS
    "BENCH_MONITORS": 1000,
    "BENCH_MONITOR_EVENTS": 60,  # burst from every monitor at once
    "BENCH_IDLE_SECONDS": 2.0,
    "BENCH_LIFECYCLE_SECONDS": 1.0,
}
# What issue 14 asks of the QEMU path; printed next to each figure.
GOALS = {
    "burst": ">= 0.1",
    "p50": "<= 2",
    "p99": "<= 1.5",
    "memory": "<= 16 MiB",
    "rss_per_monitor": "<= 64 KiB",
    "idle": "0",
    "lifecycle": ">= 10",
}
HERE = os.path.dirname(os.path.abspath(__file__))
EVENTS_FILE = os.path.join(HERE, "data", "qemu10-events.jsonl")
MIX = 6


def size(name):
    value = os.environ.get(name)
    return type(SIZES[name])(value) if value else SIZES[name]


class Failure(Exception):
    pass


def parse(text):
    values = {}
    for line in text.splitlines():
        key, _, value = line.partition(" ")
        try:
            values[key] = float(value)
        except ValueError:
            pass
    return values


def stop(proc):
    """Stops a process this script started, by its PID."""
    if proc.poll() is None:
        proc.kill()
    proc.wait()


class FakeQemu:
    """bench/fakeqemu serving `count` monitors in a fresh temporary root."""

    def __init__(self, build, count):
        self.root = tempfile.mkdtemp(prefix="virt-bench-")
        self.proc = subprocess.Popen(
            [os.path.join(build, "fakeqemu"), EVENTS_FILE, self.root, str(count)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        if self.proc.stdout.readline().strip() != "listening":
            self.close()
            raise Failure("fakeqemu did not start")

    def command(self, line):
        """Sends a command; returns how many monitors it went to."""
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        reply = self.proc.stdout.readline().split()
        if len(reply) != 2 or reply[0] != "ok":
            raise Failure(f"fakeqemu answered {reply!r} to {line!r}")
        return int(reply[1])

    def close(self):
        try:
            self.proc.stdin.write("quit\n")
            self.proc.stdin.close()
            self.proc.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            pass
        stop(self.proc)
        shutil.rmtree(self.root, ignore_errors=True)


def run_reader(build, argv, monitors, command, timeout):
    """Starts a reader of a fresh fake QEMU's monitors; once it is ready, sends
    the fake QEMU `command`; returns the reader's figures."""
    fake = FakeQemu(build, monitors)
    argv = [a.replace("{root}", fake.root) for a in argv]
    reader = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # Waiting for "ready" must not hang on a reader that never gets there.
    watchdog = threading.Timer(timeout, reader.kill)
    watchdog.start()
    try:
        head = []
        for line in reader.stdout:
            if line.strip() == "ready":
                break
            head.append(line)
        else:
            raise Failure(f"{' '.join(argv)} failed: {reader.stderr.read().strip()}")
        sent_to = fake.command(command)
        if sent_to != monitors:
            raise Failure(f"{command!r} reached {sent_to} of {monitors} monitors")
        out, err = reader.communicate(timeout=timeout)
        values = parse("".join(head) + out)
        if reader.returncode != 0:
            raise Failure(f"{os.path.basename(argv[0])} {' '.join(argv[1:2])}: {err.strip()} {values}")
        return values
    finally:
        watchdog.cancel()
        stop(reader)
        fake.close()


def median(runs, key):
    values = [r[key] for r in runs if key in r]
    return statistics.median(values) if values else float("nan")


def per_run(ours, reference, key, digits):
    """The ratio of each run pair, to show how much the machine's load moved it."""
    pairs = zip((r.get(key) for r in ours), (r.get(key) for r in reference))
    return " ".join(f"{a / b:.{digits}f}" for a, b in pairs if a and b)


def thread_cpu(runs):
    """Median CPU time and time waiting for a CPU, per event, of each thread name
    (the cpu_ns_per_event.NAME and wait_ns_per_event.NAME figures)."""
    names = sorted({k.partition(".")[2] for r in runs for k in r if k.startswith("cpu_ns_per_event.")})
    return {n: (median(runs, f"cpu_ns_per_event.{n}"), median(runs, f"wait_ns_per_event.{n}")) for n in names}


def fmt_thread_cpu(per_thread):
    ordered = sorted(per_thread.items(), key=lambda kv: -kv[1][0])
    return ", ".join(f"{name} {cpu:.0f} (+{wait:.0f} waiting)" for name, (cpu, wait) in ordered)


def percentile(samples, q):
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def fmt_rate(x):
    return f"{x / 1e6:.2f} M/s" if x >= 1e6 else f"{x / 1e3:.1f} k/s"


class Bench:
    def __init__(self, build):
        self.build = build
        self.runs = size("BENCH_RUNS")
        self.results = {"sizes": {k: size(k) for k in SIZES}}
        self.lines = []
        self.have_qmp = subprocess.run([sys.executable, "-c", "import qemu.qmp"], capture_output=True).returncode == 0
        self.real_lifecycle = os.path.join(build, "lifecycle-libvirt")

    def say(self, text=""):
        print(text, flush=True)
        self.lines.append(text)

    def prog(self, name):
        return os.path.join(self.build, name)

    def burst(self):
        n = size("BENCH_BURST_EVENTS") // MIX * MIX
        nq = size("BENCH_QMP_EVENTS") // MIX * MIX
        timeout = 60 + n / 5000
        sides = {"ours": [], "raw": [], "qemu.qmp": []}
        for _ in range(self.runs):
            sides["ours"].append(
                run_reader(self.build, [self.prog("consumer"), "burst", "{root}", "1", str(n), "0"], 1, f"burst {n}", timeout)
            )
            sides["raw"].append(
                run_reader(self.build, [self.prog("rawreader"), "burst", "{root}", "1", str(n)], 1, f"burst {n}", timeout)
            )
            if self.have_qmp:
                sides["qemu.qmp"].append(
                    run_reader(
                        self.build,
                        [sys.executable, os.path.join(HERE, "qmp_burst.py"), "{root}", str(nq)],
                        1,
                        f"burst {nq}",
                        60 + nq / 1000,
                    )
                )
        self.results["burst"] = sides
        ours, raw = median(sides["ours"], "rate"), median(sides["raw"], "rate")
        self.say(f"1. burst: one monitor, {n} events of the QEMU 10 mix (VNC x3, RTC, watchdog, reset)")
        self.say(f"   ours (callbacks, all delivered in order)  {fmt_rate(ours):>12}")
        self.say(f"   raw C reader (memchr lines)               {fmt_rate(raw):>12}")
        self.say(
            f"   ratio ours/raw                            {ours / raw:12.4f}   goal {GOALS['burst']}"
            f"   (per run: {per_run(sides['ours'], sides['raw'], 'rate', 4)})"
        )
        ours_cpu, raw_cpu = thread_cpu(sides["ours"]), thread_cpu(sides["raw"])
        self.say("   CPU ns per event by thread (+ ns runnable but waiting for a CPU):")
        self.say(f"     ours {fmt_thread_cpu(ours_cpu)}")
        self.say(f"     raw  {fmt_thread_cpu(raw_cpu)}")
        self.results["summary"]["burst_cpu_ns_per_event"] = {"ours": ours_cpu, "raw": raw_cpu}
        if sides["qemu.qmp"]:
            qmp = median(sides["qemu.qmp"], "rate")
            label = f"qemu.qmp (Python client, {nq} events)"
            self.say(f"   {label:42}{fmt_rate(qmp):>12}")
            self.say(f"   ratio ours/qemu.qmp                       {ours / qmp:12.2f}")
        else:
            self.say("   qemu.qmp: not installed (pip install qemu.qmp), skipped")
        self.results["summary"]["burst_ratio"] = ours / raw
        self.results["summary"]["burst_rates"] = {k: median(v, "rate") for k, v in sides.items() if v}

    def paced(self):
        n, rate = size("BENCH_PACED_EVENTS"), size("BENCH_PACED_RATE")
        # polled: the raw reader as an event loop must read (epoll_wait on
        # the monitor and a wake-up, then read), the floor of any reader
        # that waits for anything else too. handoff: the raw reader in
        # libvirt's shape (read on one thread, stamped on a second one woken
        # through an eventfd), the floor of any reader that dispatches as
        # libvirt does.
        readers = {
            "ours": ("consumer", "paced"),
            "raw": ("rawreader", "paced"),
            "polled": ("rawreader", "polled"),
            "handoff": ("rawreader", "handoff"),
        }
        sides = {side: [] for side in readers}
        samples = {side: [] for side in readers}
        with tempfile.TemporaryDirectory(prefix="virt-bench-samples-") as tmp:
            for run in range(self.runs):
                for side, (prog, mode) in readers.items():
                    path = os.path.join(tmp, f"{side}-{run}")
                    argv = [self.prog(prog), mode, "{root}", str(n), path]
                    figures = run_reader(self.build, argv, 1, f"pace {n} {rate}", 60 + n / rate)
                    with open(path) as f:
                        lat = [int(x) / 1000 for x in f]  # us
                    for q, key in ((0.5, "p50"), (0.99, "p99"), (0.999, "p99.9")):
                        figures[key] = percentile(lat, q)
                    sides[side].append(figures)
                    samples[side].extend(lat)
        self.results["paced"] = sides
        self.samples = samples
        self.say(f"2. paced latency: {n} RTC changes at {rate}/s on average (gaps of 0.5 to 1.5 periods),")
        self.say("   send (CLOCK_MONOTONIC) to callback / line")
        # The tail of one run is mostly the machine's: all runs' samples pooled
        # give the second view (p99 of 3 x 5000 events is 150 samples, not 50).
        self.say(f"   {'':8}{'ours us':>10}{'raw us':>10}{'ours/raw':>10}   {'goal':8} {'pooled':>8}")
        for q, key in ((0.5, "p50"), (0.99, "p99"), (0.999, "p99.9")):
            ours, raw = median(sides["ours"], key), median(sides["raw"], key)
            pooled = percentile(samples["ours"], q) / percentile(samples["raw"], q)
            goal = GOALS.get(key, "")
            spread = per_run(sides["ours"], sides["raw"], key, 2)
            self.say(
                f"   {key:8}{ours:10.1f}{raw:10.1f}{ours / raw:10.2f}   {goal:8} {pooled:8.2f}   (per run: {spread})"
            )
            self.results["summary"][f"latency_{key}_ratio"] = ours / raw
            self.results["summary"][f"latency_{key}_pooled_ratio"] = pooled
        for key in ("p50", "p99", "p99.9"):
            self.results["summary"][f"latency_{key}_us"] = {"ours": median(sides["ours"], key), "raw": median(sides["raw"], key)}
        self.against(
            "polled",
            sides,
            samples,
            "the raw reader as an event loop reads (bench/rawreader polled: epoll_wait(2) on the monitor",
            "and a wake-up eventfd, then read(2): two system calls per event where the blocking read makes one):",
        )
        self.against(
            "handoff",
            sides,
            samples,
            "the raw reader in libvirt's shape (bench/rawreader handoff: read on one thread, stamped",
            "on a second one woken through an eventfd, two wake-ups per event as in libvirt):",
        )

    def against(self, reference, sides, samples, *explained):
        """Prints ours against one more `reference` reader of the paced
        benchmark, explained by the lines `explained`."""
        self.say("   against " + explained[0])
        for line in explained[1:]:
            self.say("   " + line)
        width = max(len(reference) + 3, 10)
        self.say(f"   {'':8}{'ours us':>10}{reference + ' us':>{width + 2}}{'ours/' + reference:>{width + 4}} {'pooled':>8}")
        for q, key in ((0.5, "p50"), (0.99, "p99"), (0.999, "p99.9")):
            ours, theirs = median(sides["ours"], key), median(sides[reference], key)
            pooled = percentile(samples["ours"], q) / percentile(samples[reference], q)
            spread = per_run(sides["ours"], sides[reference], key, 2)
            self.say(f"   {key:8}{ours:10.1f}{theirs:{width + 2}.1f}{ours / theirs:{width + 4}.2f} {pooled:8.2f}   (per run: {spread})")
            self.results["summary"][f"latency_{key}_{reference}_ratio"] = ours / theirs

    def memory(self):
        n = size("BENCH_MEMORY_EVENTS") // MIX * MIX
        timeout = 120 + n / 5000
        sides = {"ours": [], "raw": []}
        for _ in range(self.runs):
            argv = [self.prog("consumer"), "burst", "{root}", "1", str(n), "0"]
            sides["ours"].append(run_reader(self.build, argv, 1, f"burst {n}", timeout))
            argv = [self.prog("rawreader"), "burst", "{root}", "1", str(n)]
            sides["raw"].append(run_reader(self.build, argv, 1, f"burst {n}", timeout))
        self.results["memory"] = sides
        ours, raw = median(sides["ours"], "hwm_kib"), median(sides["raw"], "hwm_kib")
        self.say(f"3. memory: one monitor, {n}-event burst, peak RSS (VmHWM) of the reading process")
        self.say(
            f"   ours {ours / 1024:.1f} MiB (at {fmt_rate(median(sides['ours'], 'rate'))}), raw reader "
            f"{raw / 1024:.1f} MiB, ratio {ours / raw:.1f}   goal {GOALS['memory']}"
        )
        self.results["summary"]["memory_mib"] = {"ours": ours / 1024, "raw": raw / 1024}

    def many(self):
        m, k = size("BENCH_MONITORS"), size("BENCH_MONITOR_EVENTS") // MIX * MIX
        idle = size("BENCH_IDLE_SECONDS")
        sides = {"ours": [], "raw": []}
        timeout = 120 + m * k / 5000
        for _ in range(self.runs):
            argv = [self.prog("consumer"), "burst", "{root}", str(m), str(k), str(idle)]
            sides["ours"].append(run_reader(self.build, argv, m, f"burst {k}", timeout))
            argv = [self.prog("rawreader"), "burst", "{root}", str(m), str(k)]
            sides["raw"].append(run_reader(self.build, argv, m, f"burst {k}", timeout))
        self.results["many"] = sides
        one = self.results.get("burst", {}).get("ours", [])
        threads_one = median(one, "threads") if one else float("nan")
        ours = sides["ours"]
        # The library's own start-up is in the one-monitor runs' RSS too.
        rss_one = median(one, "rss_kib") if one else float("nan")
        per_monitor = (median(ours, "rss_kib") - rss_one) / (m - 1) if m > 1 else float("nan")
        rate, raw_rate = median(ours, "rate"), median(sides["raw"], "rate")
        self.say(f"4. many monitors: {m} fake QEMUs in one process (epoll), a burst of {k} from each at once")
        self.say(f"   attach (virConnectOpen + list all = {m})   {median(ours, 'attach_s'):8.3f} s")
        self.say(
            f"   RSS per monitor                           {per_monitor:8.1f} KiB"
            f"   goal {GOALS['rss_per_monitor']}"
        )
        self.say(
            f"     (RSS after attaching {m}: {median(ours, 'rss_kib') / 1024:.1f} MiB, 1: {rss_one / 1024:.1f} MiB;"
            f" growth from before virConnectOpen over {m}: {median(ours, 'rss_per_monitor_kib'):.1f} KiB)"
        )
        self.say(
            f"   threads                                   {median(ours, 'threads'):8.0f}"
            f"     (main + the loop's + the library's; with 1 monitor: {threads_one:.0f}; goal: constant)"
        )
        self.say(
            f"   idle over {idle} s: CPU {median(ours, 'idle_cpu_ms'):.1f} ms, wake-ups "
            f"{median(ours, 'idle_wakeups'):.0f}   goal {GOALS['idle']}"
        )
        self.say(
            f"   burst: {median(ours, 'events'):.0f}/{m * k} delivered in order, {fmt_rate(rate)}; raw reader "
            f"{fmt_rate(raw_rate)}; ratio {rate / raw_rate:.4f}"
        )
        self.results["summary"]["many"] = {
            key: median(ours, key) for key in ("attach_s", "rss_kib", "threads", "idle_cpu_ms", "idle_wakeups", "rate")
        }
        self.results["summary"]["many"]["rss_per_monitor_kib"] = per_monitor

    def lifecycle(self):
        seconds = size("BENCH_LIFECYCLE_SECONDS")
        have_real = os.path.exists(self.real_lifecycle)
        sides = {"ours": [], "libvirt": []}
        for _ in range(self.runs):
            for side, prog in (("ours", self.prog("lifecycle")), ("libvirt", self.real_lifecycle)):
                if side == "libvirt" and not have_real:
                    continue
                done = subprocess.run([prog, str(seconds)], capture_output=True, text=True, timeout=60 + 2 * seconds)
                if done.returncode != 0:
                    raise Failure(f"{prog}: {done.stderr.strip()}")
                sides[side].append(parse(done.stdout))
        self.results["lifecycle"] = sides
        ours = median(sides["ours"], "rate")
        self.say("5. test driver: suspend/resume on test:///default in lock-step with event delivery")
        if have_real:
            real = median(sides["libvirt"], "rate")
            self.say(f"   ours {fmt_rate(ours)}, real libvirt {self.real_version()} {fmt_rate(real)} lifecycle events")
            spread = per_run(sides["ours"], sides["libvirt"], "rate", 2)
            self.say(f"   ratio ours/real {ours / real:.2f}   goal {GOALS['lifecycle']}   (per run: {spread})")
            self.results["summary"]["lifecycle_ratio"] = ours / real
        else:
            self.say(f"   ours {fmt_rate(ours)}; real libvirt: no libvirt-dev on this machine, skipped")

    @staticmethod
    def real_version():
        done = subprocess.run(["pkg-config", "--modversion", "libvirt"], capture_output=True, text=True)
        return done.stdout.strip() or "(system)"

    def plot(self, path):
        try:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError:
            self.say("plot: matplotlib not installed, skipped")
            return
        summary = self.results["summary"]
        fig, (cdf, rates, ratios) = plt.subplots(1, 3, figsize=(16, 5))
        if getattr(self, "samples", None):
            for side, style in (("ours", "-"), ("raw", "--"), ("polled", "-."), ("handoff", ":")):
                lat = sorted(self.samples[side])
                ys = [(i + 1) / len(lat) for i in range(len(lat))]
                cdf.plot(lat, ys, style, label=f"{side} ({len(lat)} events)")
            cdf.set_xscale("log")
            cdf.set_xlabel("latency, send to delivery (us)")
            cdf.set_ylabel("fraction of events")
            cdf.set_title(f"paced {size('BENCH_PACED_RATE')}/s: latency CDF")
            cdf.grid(True, which="both", alpha=0.3)
            cdf.legend()
        burst_rates = summary.get("burst_rates", {})
        if burst_rates:
            names = list(burst_rates)
            bars = rates.bar(names, [burst_rates[n] for n in names], color=["C0", "C1", "C2"][: len(names)])
            rates.bar_label(bars, labels=[fmt_rate(burst_rates[n]) for n in names])
            rates.set_yscale("log")
            rates.set_ylim(bottom=min(burst_rates.values()) / 3)
            rates.set_ylabel("events (lines) per second")
            rates.set_title("burst, one monitor (median)")
        measured = []
        for label, key, goal in (
            ("burst ours/raw\n(goal >= 0.1)", "burst_ratio", 0.1),
            ("latency p50 ours/raw\n(goal <= 2)", "latency_p50_ratio", 2),
            ("latency p99 ours/raw\n(goal <= 1.5)", "latency_p99_ratio", 1.5),
            ("latency p99 ours/polled\n(an event loop's floor)", "latency_p99_polled_ratio", None),
            ("latency p50 ours/handoff\n(libvirt's shape)", "latency_p50_handoff_ratio", None),
            ("latency p99 ours/handoff\n(libvirt's shape)", "latency_p99_handoff_ratio", None),
            ("lifecycle ours/real\n(goal >= 10)", "lifecycle_ratio", 10),
        ):
            if key in summary:
                measured.append((label, summary[key], goal))
        if measured:
            ys = range(len(measured))
            ratios.barh(ys, [m[1] for m in measured], color="C0", label="measured")
            goals = [(m[2], y) for y, m in zip(ys, measured) if m[2] is not None]
            ratios.scatter([g for g, _ in goals], [y for _, y in goals], color="C3", marker="|", s=400, zorder=3, label="goal")
            ratios.set_yticks(list(ys), [m[0] for m in measured])
            for y, m in zip(ys, measured):
                ratios.annotate(f"{m[1]:.3g}", (m[1], y), xytext=(4, 0), textcoords="offset points", va="center")
            ratios.set_xscale("log")
            ratios.set_title("ratios to the reference vs goals")
            ratios.legend(loc="lower right")
        fig.suptitle(f"virt-events benchmarks, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
        fig.tight_layout()
        fig.savefig(path, dpi=100)
        self.say(f"plot: {path}")


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else "build/bench"
    bench = Bench(build)
    bench.results["summary"] = {}
    load = os.getloadavg()[0]
    bench.say(
        f"virt-events benchmarks, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} CPUs, "
        f"load {load:.1f}; medians of {bench.runs} alternating runs"
    )
    bench.say(
        "references: a raw C reader of the same stream (bench/rawreader; for latency also as an event loop reads"
        " and in libvirt's two-thread shape), qemu.qmp, real libvirt (test driver)"
    )
    failures = []
    started = time.monotonic()
    only = [name for name in os.environ.get("BENCH_ONLY", "").split(",") if name]
    for step in (bench.burst, bench.paced, bench.memory, bench.many, bench.lifecycle):
        if only and step.__name__ not in only:
            continue
        try:
            step()
        except (Failure, subprocess.TimeoutExpired) as e:
            failures.append(f"{step.__name__}: {e}")
            bench.say(f"{step.__name__}: FAILED: {e}")
    bench.say(f"total {time.monotonic() - started:.0f} s")
    if os.environ.get("BENCH_PLOT", "1") != "0":
        bench.plot(os.path.join(build, "bench.png"))
    with open(os.path.join(build, "results.json"), "w") as f:
        json.dump(bench.results, f, indent=1)
    with open(os.path.join(build, "results.txt"), "w") as f:
        f.write("\n".join(bench.lines) + "\n")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
