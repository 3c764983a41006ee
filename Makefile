# sara - session-aware dispatcher for SIP and RTSP clusters.
# Plain Makefile: `make` builds, `make check` runs every test, `make bench`
# runs the benchmarks, `make deps` installs what building and testing need.
# SANITIZER=address,undefined builds into build-asan/ instead of build/.
#
# One static library per layer, each linked only with what its layer may use:
#   dpi/         libsara-dpi.a     stateless parsers              libosip2
#   src/engine/  libsara-engine.a  I/O-free decisions             + libsodium, libm
#   src/io/      libsara-io.a      adapters to kernel and files   + nfqueue, conntrack, mnl, pcap, libconfig,
#                                                                  libmicrohttpd (metrics), libsystemd (sd_notify),
#                                                                  libhiredis (session replication)
#   src/PROGRAM/ libsara-PROGRAM.a a program's own modules; main.c wires them
# `make layers` checks the rules (tests/layers/check.sh).

CC        ?= gcc
SANITIZER ?=
ifeq ($(SANITIZER),)
BUILD     ?= build
SANFLAGS  :=
else
BUILD     ?= build-asan
SANFLAGS  := -fsanitize=$(SANITIZER) -fno-omit-frame-pointer -fno-sanitize-recover=all
endif
OPT       ?= -O2
CFLAGS    += -std=c11 -D_GNU_SOURCE -g $(OPT) -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
             -Wformat=2 -iquote include -MMD -MP $(SANFLAGS)

# pkg-config once per layer; `make deps` installs what it names.
pkg        = $(shell pkg-config --libs $(1) 2>/dev/null || echo "-l$(1)-missing")
DPI_LIBS    := $(call pkg,libosip2)
ENGINE_LIBS := $(DPI_LIBS) $(call pkg,libsodium) -lm
IO_LIBS     := $(ENGINE_LIBS) $(call pkg,libnetfilter_queue libnetfilter_conntrack libmnl libpcap libconfig libmicrohttpd \
                 libsystemd hiredis) -lpthread
TEST_LIBS   := $(call pkg,cmocka)

# The project's one version: debian/changelog's first entry ("sara (0.1.0) ...").
SARA_VERSION := $(shell awk -F'[()]' 'NR == 1 { print $$2 }' debian/changelog)

LIBDIR    := $(BUILD)/lib
obj        = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))
DPI_OBJS    := $(call obj,$(wildcard dpi/*.c))
ENGINE_OBJS := $(call obj,$(wildcard src/engine/*.c))
IO_OBJS     := $(call obj,$(wildcard src/io/*.c))
DPI_LIB     := $(LIBDIR)/libsara-dpi.a
ENGINE_LIB  := $(LIBDIR)/libsara-engine.a
IO_LIB      := $(LIBDIR)/libsara-io.a
LAYER_LIBS  := $(IO_LIB) $(ENGINE_LIB) $(DPI_LIB)

PROGRAMS  := sarad sara-gw sara-agent sara-ctl sara-replay
PROGS     := $(addprefix $(BUILD)/,$(PROGRAMS))
prog_objs  = $(call obj,$(filter-out src/$(1)/main.c,$(wildcard src/$(1)/*.c)))
# Helper programs for the lab, e2e tests and live benchmarks (tests/tools/).
TOOLS     := $(patsubst tests/tools/%.c,$(BUILD)/tools/%,$(wildcard tests/tools/*.c))
# Unit tests mirror the tree: tests/unit/LAYER/test_MODULE.c.
UNIT_SRCS := $(wildcard tests/unit/*/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))
BENCH_BINS:= $(patsubst tests/bench/%.c,$(BUILD)/bench/%,$(wildcard tests/bench/bench_*.c))
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS := $(patsubst tests/fuzz/%.c,build-fuzz/%,$(FUZZ_SRCS))
FUZZ_SECONDS ?= 10

.SECONDARY:
.PHONY: all unit-bins check-build deps check layers unit unit-asan pcap-tests fuzz fuzz-build fuzz-long soak experiments bench clean demo replay-demo e2e lab

all: $(LAYER_LIBS) $(PROGS) $(UNIT_BINS) $(TOOLS)
unit-bins: $(UNIT_BINS)
# Parallel sub-builds (the ASan one) on every CPU; the tests themselves stay serial.
JOBS ?= $(shell nproc 2>/dev/null || echo 2)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

# Only the version module sees the version, so a new one rebuilds one file.
$(BUILD)/obj/src/io/version.o: CFLAGS += -DSARA_VERSION='"$(SARA_VERSION)"'
$(BUILD)/obj/src/io/version.o: debian/changelog

# An archive also depends on the list of its members, rewritten only when
# it changes, so a deleted source leaves no stale object behind.
member_list = $(shell mkdir -p $(LIBDIR) && echo '$(2)' | cmp -s - $(LIBDIR)/$(1).members || \
                echo '$(2)' > $(LIBDIR)/$(1).members)$(LIBDIR)/$(1).members
$(DPI_LIB): $(DPI_OBJS) $(call member_list,dpi,$(DPI_OBJS))
$(ENGINE_LIB): $(ENGINE_OBJS) $(call member_list,engine,$(ENGINE_OBJS))
$(IO_LIB): $(IO_OBJS) $(call member_list,io,$(IO_OBJS))
$(LIBDIR)/%.a:
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $(filter %.o,$^)

# Per program: its modules' library, the program, its unit tests.
define program_rules
$(LIBDIR)/lib$(1).a: $(call prog_objs,$(1)) $(call member_list,$(1),$(call prog_objs,$(1)))
$(BUILD)/$(1): $(BUILD)/obj/src/$(1)/main.o $(LIBDIR)/lib$(1).a $(LAYER_LIBS)
	$$(CC) $$(CFLAGS) -o $$@ $$^ $$(IO_LIBS)
$(BUILD)/tests/$(1)/%: tests/unit/$(1)/%.c $(LIBDIR)/lib$(1).a $(LAYER_LIBS)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(CFLAGS) -Itests/unit -o $$@ $$^ $$(IO_LIBS) $$(TEST_LIBS)
endef
$(foreach p,$(PROGRAMS),$(eval $(call program_rules,$(p))))

# A layer's tests link with that layer and those below it, and nothing more:
# the engine's tests would not link if the engine called an I/O library.
$(BUILD)/tests/dpi/%: tests/unit/dpi/%.c $(DPI_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit -o $@ $^ $(DPI_LIBS) $(TEST_LIBS)

$(BUILD)/tests/engine/%: tests/unit/engine/%.c $(ENGINE_LIB) $(DPI_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit -o $@ $^ $(ENGINE_LIBS) $(TEST_LIBS)

$(BUILD)/tests/io/%: tests/unit/io/%.c $(LAYER_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit -o $@ $^ $(IO_LIBS) $(TEST_LIBS)

$(BUILD)/tools/%: tests/tools/%.c $(LAYER_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ $(IO_LIBS)

$(BUILD)/bench/%: tests/bench/%.c $(LAYER_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ $(IO_LIBS)

# bench_journal times sarad's own journal module, bench_replica its replication.
$(BUILD)/bench/bench_journal: tests/bench/bench_journal.c $(LIBDIR)/libsarad.a $(LAYER_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ $(IO_LIBS)

$(BUILD)/bench/bench_replica: tests/bench/bench_replica.c $(LIBDIR)/libsarad.a $(LAYER_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ $(IO_LIBS)

# libFuzzer targets: clang, ASan+UBSan; the parser, engine and adapter
# sources compiled once (instrumented) into one library every target links.
FUZZ_LIB_SRCS := $(wildcard dpi/*.c src/engine/*.c src/io/*.c)
FUZZ_OBJS := $(patsubst %.c,build-fuzz/obj/%.o,$(FUZZ_LIB_SRCS))
FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE -g -O1 -iquote include -fno-sanitize-recover=all \
  -DSARA_VERSION='"$(SARA_VERSION)"'
build-fuzz/obj/%.o: %.c
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link,address,undefined -MMD -MP -c $< -o $@
build-fuzz/libsara-fuzz.a: $(FUZZ_OBJS)
	rm -f $@ && ar rcs $@ $^
build-fuzz/%: tests/fuzz/%.c build-fuzz/libsara-fuzz.a
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer,address,undefined -o $@ $^ $(IO_LIBS)
-include $(FUZZ_OBJS:.o=.d)

# Build and test dependencies, plus the real programs the lab and the e2e
# tests run (SIP: sipp, baresip, kamailio; RTSP: gst-rtsp-server, ffmpeg).
deps:
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
	  build-essential pkg-config clang libclang-rt-14-dev binutils \
	  libnetfilter-queue-dev libnetfilter-conntrack-dev libmnl-dev libosip2-dev \
	  libconfig-dev libpcap-dev libsodium-dev libcmocka-dev libmicrohttpd-dev libsystemd-dev libhiredis-dev python3 \
	  iproute2 iptables nftables conntrack tcpdump tshark ethtool xxd procps curl \
	  sip-tester baresip-core kamailio ffmpeg python3-gi gir1.2-gst-rtsp-server-1.0 \
	  gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good \
	  gstreamer1.0-plugins-ugly bc gnuplot-nox mandoc systemd prometheus bird2 conntrackd keepalived redis-server

# The main job: a live cluster in network namespaces (tests/lab/lab.sh);
# where namespaces can't be made (exit 77), the offline replay instead.
demo: all
	@tests/lab/lab.sh demo $(BUILD); rc=$$?; \
	if [ $$rc -eq 77 ]; then \
	  echo "demo: no network namespaces here; replaying a bundled capture instead"; \
	  $(BUILD)/sara-replay -c conf/example.cfg --vip 198.18.77.20 pcaps/sip-sipp-sipp-udp-3calls.pcap; \
	else exit $$rc; fi

replay-demo: all
	$(BUILD)/sara-replay -c conf/example.cfg --vip 198.18.77.20 pcaps/sip-sipp-sipp-udp-3calls.pcap

lab: all
	tests/lab/lab.sh demo $(BUILD)

e2e: all
	tests/netns/run.sh $(BUILD)

# The layering rules, checked on the built objects (and on a planted
# violation, so the check itself is known to fail when it should).
layers: $(LAYER_LIBS) $(foreach p,$(PROGRAMS),$(LIBDIR)/lib$(p).a $(BUILD)/obj/src/$(p)/main.o)
	tests/layers/check.sh $(BUILD)

unit: all
	tests/unit/run.sh $(BUILD)/tests

unit-asan:
	$(MAKE) -j$(JOBS) SANITIZER=address,undefined unit-bins
	tests/unit/run.sh build-asan/tests

pcap-tests: all
	tests/pcap/run.sh $(BUILD)/sara-replay
	tests/pcap/observed.sh $(BUILD)/sara-replay

fuzz-build: $(FUZZ_BINS)

fuzz: fuzz-build
	tests/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_BINS)

check: check-build layers unit unit-asan pcap-tests fuzz packaging e2e
# What check runs, built first on every CPU (a serial build is a third of its time).
check-build:
	$(MAKE) -j$(JOBS) all fuzz-build

# Outside CI: long fuzzing on a corpus kept between runs (tests/fuzz/long.sh),
# and the soak run (tests/bench/soak.sh: SOAK_MINUTES, SOAK_RATE).
FUZZ_LONG_SECONDS ?= 600
fuzz-long: fuzz-build
	tests/fuzz/long.sh $(FUZZ_LONG_SECONDS) $(FUZZ_BINS)

soak: all
	tests/bench/soak.sh $(BUILD)

# Outside CI: the overload experiments behind docs/experiments.md, their tables
# and plots written into docs/ (tests/bench/experiments.sh: EXP_STAGES, EXP_RUNS).
experiments: all
	tests/bench/experiments.sh $(BUILD)

bench: $(BENCH_BINS) $(PROGS) $(TOOLS)
	tests/bench/run.sh $(BUILD)
	tests/bench/replica.sh $(BUILD)
	tests/bench/goodput.sh $(BUILD)
	tests/bench/slowstart.sh $(BUILD)
	tests/bench/metrics_cost.sh $(BUILD)
	tests/bench/ha_failover.sh $(BUILD)
	flock /tmp/sara-netns.lock tests/bench/ct_idle.sh $(BUILD)

clean:
	rm -rf build build-asan build-fuzz

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

# ---- install, package, packaging checks ------------------------------------
# make install [PREFIX=/usr/local] [DESTDIR=]: the programs, the manual pages,
# the systemd units (their /usr/sbin paths rewritten to SBINDIR) and the
# examples. make deb: a Debian package (debian/, debhelper) built in a copy
# of the tree under $(BUILD)/deb, copied to $(BUILD)/sara_*.deb.
PREFIX        ?= /usr/local
DESTDIR       ?=
SBINDIR       ?= $(PREFIX)/sbin
BINDIR        ?= $(PREFIX)/bin
MANDIR        ?= $(PREFIX)/share/man
DOCDIR        ?= $(PREFIX)/share/doc/sara
UNITDIR       ?= $(PREFIX)/lib/systemd/system
INSTALL       ?= install
SBIN_PROGRAMS := sarad sara-gw sara-agent sara-ctl
BIN_PROGRAMS  := sara-replay
MAN_PAGES     := $(wildcard docs/man/*.[158])
UNITS         := $(wildcard conf/systemd/*.service)
EXAMPLES      := conf/example.cfg conf/voice-1.cfg conf/systemd/example.agent conf/systemd/example.gw
DEB_WORK      := $(BUILD)/deb

.PHONY: programs install uninstall deb deb-test packaging deps-packaging

programs: $(PROGS)

install: $(PROGS)
	$(INSTALL) -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(UNITDIR) \
	  $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8 \
	  $(DESTDIR)$(DOCDIR)/examples/rules
	$(INSTALL) -m 0755 $(addprefix $(BUILD)/,$(SBIN_PROGRAMS)) $(DESTDIR)$(SBINDIR)/
	$(INSTALL) -m 0755 $(addprefix $(BUILD)/,$(BIN_PROGRAMS)) $(DESTDIR)$(BINDIR)/
	$(INSTALL) -m 0644 $(filter %.1,$(MAN_PAGES)) $(DESTDIR)$(MANDIR)/man1/
	$(INSTALL) -m 0644 $(filter %.5,$(MAN_PAGES)) $(DESTDIR)$(MANDIR)/man5/
	$(INSTALL) -m 0644 $(filter %.8,$(MAN_PAGES)) $(DESTDIR)$(MANDIR)/man8/
	for unit in $(UNITS); do \
	  sed 's|/usr/sbin/|$(SBINDIR)/|g' $$unit >$(DESTDIR)$(UNITDIR)/$${unit##*/} && \
	  chmod 0644 $(DESTDIR)$(UNITDIR)/$${unit##*/} || exit 1; \
	done
	$(INSTALL) -m 0644 $(EXAMPLES) $(DESTDIR)$(DOCDIR)/examples/
	$(INSTALL) -m 0644 conf/rules/* $(DESTDIR)$(DOCDIR)/examples/rules/

uninstall:
	rm -f $(addprefix $(DESTDIR)$(SBINDIR)/,$(SBIN_PROGRAMS)) $(addprefix $(DESTDIR)$(BINDIR)/,$(BIN_PROGRAMS))
	rm -f $(foreach p,$(MAN_PAGES),$(DESTDIR)$(MANDIR)/man$(subst .,,$(suffix $(p)))/$(notdir $(p)))
	rm -f $(addprefix $(DESTDIR)$(UNITDIR)/,$(notdir $(UNITS)))
	rm -rf $(DESTDIR)$(DOCDIR)/examples

# The copy keeps dpkg-buildpackage's clean step away from this tree's build/.
deb:
	rm -rf $(DEB_WORK) && mkdir -p $(DEB_WORK)/sara
	git ls-files -z --cached --others --exclude-standard | \
	  tar --null --ignore-failed-read -T - -cf - | tar -C $(DEB_WORK)/sara -xf -
	cd $(DEB_WORK)/sara && dpkg-buildpackage -b -us -uc
	rm -f $(BUILD)/sara_*.deb
	cp $(DEB_WORK)/sara_*.deb $(BUILD)/
	@ls $(BUILD)/sara_*.deb

deb-test:
	tests/packaging/deb_install.sh $(BUILD)

# The packaging checks but the (slow) package build: manual pages, options
# against --help, config keys, systemd units and their capabilities.
# Exit status 77: skipped (what the check needs is missing here).
packaging: $(PROGS)
	@passed=0; failed=0; skipped=0; for t in tests/packaging/*.sh; do \
	  [ "$$t" = tests/packaging/deb_install.sh ] && continue; \
	  echo "== $$t"; $$t $(BUILD); rc=$$?; \
	  if [ $$rc -eq 0 ]; then passed=$$((passed + 1)); \
	  elif [ $$rc -eq 77 ]; then skipped=$$((skipped + 1)); \
	  else failed=$$((failed + 1)); fi; \
	done; \
	echo "packaging: $$passed passed, $$failed failed, $$skipped skipped"; [ $$failed -eq 0 ]

# What the packaging targets need beyond `make deps`.
deps-packaging:
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
	  mandoc systemd systemd-container debhelper dpkg-dev fakeroot lintian mmdebstrap git
