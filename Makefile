# virt-events: build libvirt.so.0, its headers and examples; run the demo and the tests.
#
#   make            build build/libvirt.so (SONAME libvirt.so.0), build/libvirt-qemu.so
#                   (SONAME libvirt-qemu.so.0), build/event-test and build/virt-eventsd
#   make run        the demo: a tiny guest under QEMU, its events printed live
#   make run-test   the same watcher on the in-process test:///default driver
#   make check      every test (Rust unit tests, C programs, valgrind, sanitizers, ABI checks,
#                   bench-smoke)
#   make headers    regenerate include/libvirt/*.h from the Rust definitions
#   make fuzz       fuzz every parser with cargo-fuzz (nightly), FUZZ_SECONDS each
#   make install    PREFIX=/usr/local: libraries, soname links, headers, .pc files
#   make bench      the performance benchmarks of bench/ (a few minutes; sizes from BENCH_*
#                   variables, see bench/run.py); figures in build/bench/results.txt, plot
#                   build/bench/bench.png
#   make bench-smoke  every benchmark at a tiny size (seconds): the harness still works

CARGO   ?= cargo
RUSTC   ?= rustc
CC      ?= cc
PREFIX  ?= /usr/local
LIBDIR  ?= $(PREFIX)/lib
INCDIR  ?= $(PREFIX)/include
UNITDIR ?= $(PREFIX)/lib/systemd/system
BUILD   := build
CFLAGS  ?= -O2 -g
WARN    := -Wall -Wextra -Werror
VERSION := 9.0.0

RUST_LIB := target/release/libvirt_events.a
SYMS     := src/capi/libvirt.syms
QEMU_SYMS := src/capi/libvirt-qemu.syms
LXC_SYMS := src/capi/libvirt-lxc.syms
HEADERS  := include/libvirt/libvirt.h include/libvirt/virterror.h include/libvirt/libvirt-qemu.h

.PHONY: all run run-test qemu check lint check-sanitize fuzz install-check headers install clean bench bench-smoke bench-programs FORCE

all: $(BUILD)/libvirt.so.0 $(BUILD)/libvirt-qemu.so.0 $(BUILD)/libvirt-lxc.so.0 $(BUILD)/event-test $(BUILD)/virt-eventsd

# cargo decides whether anything changed; the link below is cheap.
$(RUST_LIB): FORCE
	$(CARGO) build --release --lib

# The daemon serving our drivers' events over libvirt's RPC protocol.
$(BUILD)/virt-eventsd: FORCE
	$(CARGO) build --release --bin virt-eventsd
	@mkdir -p $(BUILD)
	cp -f target/release/virt-eventsd $@

$(BUILD)/libvirt.so: $(RUST_LIB) $(SYMS)
	@mkdir -p $(BUILD)
	$(CC) -shared -o $@ -Wl,-soname,libvirt.so.0 -Wl,--version-script=$(SYMS) \
	    -Wl,--whole-archive $(RUST_LIB) -Wl,--no-whole-archive -Wl,--gc-sections \
	    -Wl,-z,defs -lpthread -ldl -lm -lgcc_s -lc

$(BUILD)/libvirt.so.0: $(BUILD)/libvirt.so
	ln -sf libvirt.so $@

# libvirt-qemu.so.0 only forwards to private functions of libvirt.so.0, as
# libvirt's does: its shim is one object file without the Rust runtime, so
# the library state exists once, in libvirt.so.0 (-z defs proves the shim
# needs nothing else).
$(BUILD)/qemu_shim.o: src/qemu_shim.rs
	@mkdir -p $(BUILD)
	$(RUSTC) --edition 2021 --crate-type lib --emit obj -C panic=abort -C opt-level=2 \
	    -C codegen-units=1 -C relocation-model=pic -o $@ $<

$(BUILD)/libvirt-qemu.so: $(BUILD)/qemu_shim.o $(QEMU_SYMS) $(BUILD)/libvirt.so.0
	$(CC) -shared -o $@ -Wl,-soname,libvirt-qemu.so.0 -Wl,--version-script=$(QEMU_SYMS) \
	    $(BUILD)/qemu_shim.o -Wl,-z,defs -L$(BUILD) -lvirt

$(BUILD)/libvirt-qemu.so.0: $(BUILD)/libvirt-qemu.so
	ln -sf libvirt-qemu.so $@

# libvirt-lxc.so.0 the same way (src/lxc_shim.rs), so that programs such as
# python3-libvirt's libvirt_lxc load ours rather than the system's.
$(BUILD)/lxc_shim.o: src/lxc_shim.rs
	@mkdir -p $(BUILD)
	$(RUSTC) --edition 2021 --crate-type lib --emit obj -C panic=abort -C opt-level=2 \
	    -C codegen-units=1 -C relocation-model=pic -o $@ $<

$(BUILD)/libvirt-lxc.so: $(BUILD)/lxc_shim.o $(LXC_SYMS) $(BUILD)/libvirt.so.0
	$(CC) -shared -o $@ -Wl,-soname,libvirt-lxc.so.0 -Wl,--version-script=$(LXC_SYMS) \
	    $(BUILD)/lxc_shim.o -Wl,-z,defs -L$(BUILD) -lvirt

$(BUILD)/libvirt-lxc.so.0: $(BUILD)/libvirt-lxc.so
	ln -sf libvirt-lxc.so $@

$(BUILD)/event-test: examples-c/event-test.c $(HEADERS) $(BUILD)/libvirt.so.0
	$(CC) $(CFLAGS) $(WARN) -std=gnu11 -Iinclude -o $@ $< -L$(BUILD) -lvirt -lpthread -Wl,-rpath,'$$ORIGIN'

run: all qemu
	$(BUILD)/event-test --demo < /dev/null

run-test: all
	$(BUILD)/event-test --demo test:///default < /dev/null

# Installs QEMU when missing (as root), or says how.
qemu:
	@sh tests/install-qemu.sh

headers:
	VIRT_EVENTS_WRITE_HEADERS=1 $(CARGO) build --release --lib

check: all qemu lint
	sh tests/install-deps.sh
	VIRT_EVENTS_LIBDIR=$(CURDIR)/$(BUILD) $(CARGO) test --release
	VIRT_EVENTS_LIBRARY=$(CURDIR)/$(BUILD)/libvirt.so.0 python3 -m pytest -q python/tests
	$(MAKE) python-wheel-check
	$(MAKE) install-check
	$(MAKE) bench-smoke
	VIRT_EVENTS_LIBDIR=$(CURDIR)/$(BUILD) VIRT_EVENTS_VALGRIND=1 $(CARGO) test --release --test c_programs
	$(MAKE) check-sanitize

# Formatting (rustfmt.toml) and clippy with every warning an error.
lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --release --all-targets -- -D warnings

# The C programs again, built with AddressSanitizer and UBSan (LeakSanitizer
# included), running against the library.
check-sanitize: all
	VIRT_EVENTS_LIBDIR=$(CURDIR)/$(BUILD) VIRT_EVENTS_SANITIZE=1 $(CARGO) test --release --test c_programs

# The Python wheel, built and installed into a fresh venv, smoke-tested from
# outside the checkout (python/tools/wheel_check.sh).
.PHONY: python-wheel-check
python-wheel-check: all
	sh python/tools/wheel_check.sh

# Installs into a staging tree and builds the example against it with pkg-config.
STAGE := $(CURDIR)/$(BUILD)/stage
install-check: all
	rm -rf $(STAGE)
	$(MAKE) install DESTDIR=$(STAGE) PREFIX=/usr/local
	test "$$(readlink $(STAGE)/usr/local/lib/libvirt.so.0)" = libvirt.so.0.9000.0
	$(STAGE)/usr/local/sbin/virt-eventsd --help | grep -q -- '--socket-ro'
	grep -q 'ExecStart=/usr/local/sbin/virt-eventsd' $(STAGE)/usr/local/lib/systemd/system/virt-eventsd.service
	readelf -d $(STAGE)/usr/local/lib/libvirt.so.0 | grep -q 'SONAME.*libvirt.so.0'
	test "$$(readlink $(STAGE)/usr/local/lib/libvirt-qemu.so.0)" = libvirt-qemu.so.0.9000.0
	readelf -d $(STAGE)/usr/local/lib/libvirt-qemu.so.0 | grep -q 'SONAME.*libvirt-qemu.so.0'
	PKG_CONFIG_SYSROOT_DIR=$(STAGE) PKG_CONFIG_LIBDIR=$(STAGE)/usr/local/lib/pkgconfig pkg-config --libs libvirt-qemu \
	    | grep -q -- '-lvirt-qemu'
	$(CC) -std=gnu11 -o $(BUILD)/event-test-installed examples-c/event-test.c -lpthread \
	    $$(PKG_CONFIG_SYSROOT_DIR=$(STAGE) PKG_CONFIG_LIBDIR=$(STAGE)/usr/local/lib/pkgconfig pkg-config --cflags --libs libvirt)
	LD_LIBRARY_PATH=$(STAGE)/usr/local/lib $(BUILD)/event-test-installed --demo test:///default < /dev/null | grep -q 'Started Booted'
	@echo "install-check: staged install builds and runs the example"

install: all
	install -d $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCDIR)/libvirt
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(UNITDIR)
	install -m 755 $(BUILD)/virt-eventsd $(DESTDIR)$(PREFIX)/sbin/virt-eventsd
	sed 's|@SBINDIR@|$(PREFIX)/sbin|' contrib/virt-eventsd.service.in > $(DESTDIR)$(UNITDIR)/virt-eventsd.service
	install -m 755 $(BUILD)/libvirt.so $(DESTDIR)$(LIBDIR)/libvirt.so.0.9000.0
	ln -sf libvirt.so.0.9000.0 $(DESTDIR)$(LIBDIR)/libvirt.so.0
	ln -sf libvirt.so.0 $(DESTDIR)$(LIBDIR)/libvirt.so
	install -m 755 $(BUILD)/libvirt-qemu.so $(DESTDIR)$(LIBDIR)/libvirt-qemu.so.0.9000.0
	ln -sf libvirt-qemu.so.0.9000.0 $(DESTDIR)$(LIBDIR)/libvirt-qemu.so.0
	ln -sf libvirt-qemu.so.0 $(DESTDIR)$(LIBDIR)/libvirt-qemu.so
	install -m 755 $(BUILD)/libvirt-lxc.so $(DESTDIR)$(LIBDIR)/libvirt-lxc.so.0.9000.0
	ln -sf libvirt-lxc.so.0.9000.0 $(DESTDIR)$(LIBDIR)/libvirt-lxc.so.0
	ln -sf libvirt-lxc.so.0 $(DESTDIR)$(LIBDIR)/libvirt-lxc.so
	install -m 644 $(HEADERS) $(DESTDIR)$(INCDIR)/libvirt/
	printf '%s\n' 'prefix=$(PREFIX)' 'libdir=$(LIBDIR)' 'includedir=$(INCDIR)' '' \
	    'Name: libvirt' "Description: virt-events, libvirt's domain-event API" 'Version: $(VERSION)' \
	    'Libs: -L$${libdir} -lvirt' 'Cflags: -I$${includedir}' > $(DESTDIR)$(LIBDIR)/pkgconfig/libvirt.pc
	printf '%s\n' 'prefix=$(PREFIX)' 'libdir=$(LIBDIR)' 'includedir=$(INCDIR)' '' \
	    'Name: libvirt-qemu' "Description: virt-events, libvirt's QEMU monitor-event API" 'Version: $(VERSION)' \
	    'Requires: libvirt' 'Libs: -L$${libdir} -lvirt-qemu' 'Cflags: -I$${includedir}' \
	    > $(DESTDIR)$(LIBDIR)/pkgconfig/libvirt-qemu.pc

# The benchmarks' programs. consumer and lifecycle use only the public C API;
# lifecycle-libvirt is the same source built against the system's real
# libvirt, when its development files are installed.
BENCH := $(BUILD)/bench
BENCH_PROGRAMS := $(BENCH)/fakeqemu $(BENCH)/rawreader $(BENCH)/consumer $(BENCH)/lifecycle

$(BENCH)/fakeqemu $(BENCH)/rawreader: $(BENCH)/%: bench/%.c bench/common.h
	@mkdir -p $(BENCH)
	$(CC) $(CFLAGS) $(WARN) -std=gnu11 -o $@ $<

$(BENCH)/consumer $(BENCH)/lifecycle: $(BENCH)/%: bench/%.c bench/common.h $(HEADERS) $(BUILD)/libvirt.so.0
	@mkdir -p $(BENCH)
	$(CC) $(CFLAGS) $(WARN) -std=gnu11 -Iinclude -o $@ $< -L$(BUILD) -lvirt -lpthread -Wl,-rpath,'$$ORIGIN/..'

bench-programs: all $(BENCH_PROGRAMS)
	@if pkg-config --exists libvirt 2>/dev/null; then \
	    echo "$(CC) ... -o $(BENCH)/lifecycle-libvirt bench/lifecycle.c (system libvirt)"; \
	    $(CC) $(CFLAGS) $(WARN) -std=gnu11 -o $(BENCH)/lifecycle-libvirt bench/lifecycle.c \
	        $$(pkg-config --cflags --libs libvirt); \
	else rm -f $(BENCH)/lifecycle-libvirt; echo "no libvirt-dev: the lifecycle comparison is skipped"; fi

bench: bench-programs
	sh bench/install-deps.sh
	python3 bench/run.py $(BENCH)

# Tiny sizes, no plot: proves every benchmark still runs and delivers every event.
bench-smoke: bench-programs
	BENCH_RUNS=1 BENCH_BURST_EVENTS=6000 BENCH_QMP_EVENTS=600 BENCH_PACED_EVENTS=300 \
	    BENCH_MEMORY_EVENTS=30000 BENCH_MONITORS=50 BENCH_MONITOR_EVENTS=12 BENCH_IDLE_SECONDS=0.2 \
	    BENCH_LIFECYCLE_SECONDS=0.2 BENCH_PLOT=0 python3 bench/run.py $(BENCH)

clean:
	$(CARGO) clean
	rm -rf $(BUILD)

# Coverage-guided fuzzing of every parser (QMP lines, the event mapping, XML,
# libvirt RPC packets)
# with cargo-fuzz on the nightly toolchain, FUZZ_SECONDS per target, starting
# from the seeds `make check` replays. Inputs that fail are kept under
# fuzz/artifacts/; copy one into fuzz/regressions/TARGET/ once fixed.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := qmp_lines qmp_mapping xml rpc_packets
fuzz:
	command -v cargo-fuzz >/dev/null || $(CARGO) install cargo-fuzz --locked
	VIRT_EVENTS_WRITE_FUZZ_CORPUS=1 $(CARGO) test --release --test fuzz_replay
	cd fuzz && for target in $(FUZZ_TARGETS); do \
	    $(CARGO) +nightly fuzz run $$target corpus/$$target -- -max_total_time=$(FUZZ_SECONDS) || exit 1; \
	done
