# sara - session-aware dispatcher for SIP and RTSP clusters.
# Plain Makefile: `make` builds, `make check` runs every test, `make bench`
# runs the benchmarks, `make deps` installs what building and testing need.
# SANITIZER=address,undefined builds into build-asan/ instead of build/.

CC        ?= gcc
PKGS      := libosip2 libconfig libpcap libsodium libnetfilter_queue libnetfilter_conntrack libmnl
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
             -Wformat=2 -iquote include $(SANFLAGS)
LDLIBS    += -losipparser2 -lconfig -lpcap -lsodium -lnetfilter_queue -lnetfilter_conntrack -lmnl -lpthread -lm
TEST_LIBS := -lcmocka

LIB_SRCS  := $(wildcard dpi/*.c) $(filter-out src/sara_%.c src/sarad.c,$(wildcard src/*.c))
LIB_OBJS  := $(patsubst %.c,$(BUILD)/obj/%.o,$(LIB_SRCS))
PROGS     := $(patsubst src/sara_%.c,$(BUILD)/sara-%,$(wildcard src/sara_*.c)) $(BUILD)/sarad
# Helper programs for the lab, e2e tests and live benchmarks (tests/tools/).
TOOLS     := $(patsubst tests/tools/%.c,$(BUILD)/tools/%,$(wildcard tests/tools/*.c))
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))
BENCH_BINS:= $(patsubst tests/bench/%.c,$(BUILD)/bench/%,$(wildcard tests/bench/bench_*.c))
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS := $(patsubst tests/fuzz/%.c,build-fuzz/%,$(FUZZ_SRCS))
FUZZ_SECONDS ?= 20

.SECONDARY:
.PHONY: all deps check unit unit-asan pcap-tests fuzz fuzz-build bench clean demo replay-demo e2e lab

all: $(BUILD)/libsara.a $(PROGS) $(UNIT_BINS) $(TOOLS)

$(BUILD)/obj/%.o: %.c $(wildcard include/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/libsara.a: $(LIB_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/sara-%: $(BUILD)/obj/src/sara_%.o $(BUILD)/libsara.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/sarad: $(BUILD)/obj/src/sarad.o $(BUILD)/libsara.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tools/%: tests/tools/%.c $(BUILD)/libsara.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(BUILD)/libsara.a $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libsara.a $(wildcard tests/unit/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit -o $@ $< $(BUILD)/libsara.a $(LDLIBS) $(TEST_LIBS)

$(BUILD)/bench/%: tests/bench/%.c $(BUILD)/libsara.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(BUILD)/libsara.a $(LDLIBS)

# libFuzzer targets: clang, ASan+UBSan, the library sources compiled in.
build-fuzz/%: tests/fuzz/%.c $(LIB_SRCS) $(wildcard include/*.h)
	@mkdir -p build-fuzz
	clang -std=c11 -D_GNU_SOURCE -g -O1 -iquote include -fsanitize=fuzzer,address,undefined \
	  -fno-sanitize-recover=all -o $@ $< $(LIB_SRCS) -losipparser2 -lconfig -lpcap -lsodium -lnetfilter_queue -lnetfilter_conntrack -lmnl -lpthread -lm

# Build and test dependencies, plus the real programs the lab and the e2e
# tests run (SIP: sipp, baresip, kamailio; RTSP: gst-rtsp-server, ffmpeg).
deps:
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
	  build-essential pkg-config clang libclang-rt-14-dev \
	  libnetfilter-queue-dev libnetfilter-conntrack-dev libmnl-dev libosip2-dev \
	  libconfig-dev libpcap-dev libsodium-dev libcmocka-dev python3 \
	  iproute2 iptables nftables conntrack tcpdump tshark ethtool xxd procps \
	  sip-tester baresip-core kamailio ffmpeg python3-gi gir1.2-gst-rtsp-server-1.0 \
	  gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good \
	  gstreamer1.0-plugins-ugly bc gnuplot-nox

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

unit: all
	tests/unit/run.sh $(BUILD)/tests

unit-asan:
	$(MAKE) SANITIZER=address,undefined all
	tests/unit/run.sh build-asan/tests

pcap-tests: all
	tests/pcap/run.sh $(BUILD)/sara-replay
	tests/pcap/observed.sh $(BUILD)/sara-replay

fuzz-build: $(FUZZ_BINS)

fuzz: fuzz-build
	tests/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_BINS)

check: unit unit-asan pcap-tests fuzz e2e

bench: $(BENCH_BINS) $(PROGS) $(TOOLS)
	tests/bench/run.sh $(BUILD)
	tests/bench/goodput.sh $(BUILD)
	tests/bench/slowstart.sh $(BUILD)

clean:
	rm -rf build build-asan build-fuzz
