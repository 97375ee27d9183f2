# barspace: plain Makefile.  `make demo` and `make check` are the two commands
# of the README; everything else is optional.
#
# Layout: src/LAYER/*.c -> libbarspace.{a,so} (CONTRIBUTING.md names the
# layers); tools/*.c -> barspace; tests/test_*.c -> one binary each;
# bench/*.c -> bench binaries.  New files are picked up by the wildcards, so
# adding a concept never means editing this file.

# The version lives in one place, BS_VERSION_STRING in the public header (so
# an installed program sees it too); the pkg-config file takes it from there.
VERSION := $(shell sed -n 's/^\#define BS_VERSION_STRING "\(.*\)"/\1/p' include/barspace/barspace.h)

CC      ?= cc
PREFIX  ?= /usr/local
BUILD   ?= build
OPT     ?= -O2 -g
WARN    := -std=c11 -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes \
           -Wmissing-prototypes -Wno-unused-parameter
ifeq ($(WERROR),1)
WARN    += -Werror
endif
ifeq ($(SAN),1)
OPT     := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer \
           -fno-sanitize-recover=all
endif
CFLAGS  += $(OPT) $(WARN) -D_POSIX_C_SOURCE=200809L -Iinclude -Isrc -fPIC
# Library objects hide every symbol; the public headers mark theirs default
# (BS_API), so libbarspace.so exports the bs_ API and nothing else
# (tests/cli/exports.sh checks it).
LIB_CFLAGS := -fvisibility=hidden
LDLIBS  += -lm

LIB_SRC   := $(wildcard src/*/*.c)
LIB_OBJ   := $(LIB_SRC:%.c=$(BUILD)/%.o)
TOOL_SRC  := $(wildcard tools/*.c)
TOOL_OBJ  := $(TOOL_SRC:%.c=$(BUILD)/%.o)
TEST_SRC  := $(wildcard tests/test_*.c)
TEST_BIN  := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
TESTLIB_SRC := $(filter-out $(TEST_SRC),$(wildcard tests/*.c))
TESTLIB_OBJ := $(TESTLIB_SRC:%.c=$(BUILD)/%.o)
BENCH_SRC := $(wildcard bench/bench_*.c)
BENCH_BIN := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)

.PHONY: all lib tests check check-one demo bench install clean fuzz fuzz-smoke peer peer-hotplug peer-quick
# Keep object files of test and bench binaries (they are intermediates of
# pattern rules, which make would otherwise delete after every link).
.SECONDARY:

all: $(BUILD)/barspace $(BUILD)/libbarspace.a $(BUILD)/libbarspace.so

lib: $(BUILD)/libbarspace.a

# -MMD -MP: every object depends on exactly the headers it includes.
$(BUILD)/src/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LIB_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

-include $(wildcard $(BUILD)/*/*.d $(BUILD)/*/*/*.d)

$(BUILD)/libbarspace.a: $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/libbarspace.so: $(LIB_OBJ)
	$(CC) $(CFLAGS) -shared -Wl,-soname,libbarspace.so.0 -o $@ $^ $(LDLIBS)

$(BUILD)/barspace: $(TOOL_OBJ) $(BUILD)/libbarspace.a
	$(CC) $(CFLAGS) -o $@ $(TOOL_OBJ) $(BUILD)/libbarspace.a $(LDLIBS)

$(BUILD)/tests/%: $(BUILD)/tests/%.o $(TESTLIB_OBJ) $(BUILD)/libbarspace.a
	$(CC) $(CFLAGS) -o $@ $< $(TESTLIB_OBJ) $(BUILD)/libbarspace.a $(LDLIBS)

# test_oom fails the library's allocations one by one (tests/test_oom.c).
$(BUILD)/tests/test_oom: LDLIBS += -Wl,--wrap=malloc -Wl,--wrap=calloc \
                                   -Wl,--wrap=realloc

$(BUILD)/bench/%: $(BUILD)/bench/%.o $(BUILD)/libbarspace.a
	$(CC) $(CFLAGS) -o $@ $< $(BUILD)/libbarspace.a $(LDLIBS)

tests: $(BUILD)/barspace $(TEST_BIN)

# One pass of the whole suite against one build directory.
check-one: tests
	@BUILD=$(BUILD) sh tests/run.sh

# The README's test command: warnings are errors, the suite runs twice, the
# second time under AddressSanitizer + UndefinedBehaviorSanitizer.
check:
	@$(MAKE) --no-print-directory WERROR=1 BUILD=build check-one 2>&1 | tee build-check.log
	@$(MAKE) --no-print-directory WERROR=1 SAN=1 BUILD=build-san check-one 2>&1 | tee build-san-check.log
	@$(MAKE) --no-print-directory fuzz-smoke 2>&1 | tee build-fuzz-check.log
	@sh tests/summary.sh build-check.log build-san-check.log build-fuzz-check.log

demo: all
	@sh examples/demo.sh $(BUILD)/barspace

bench: $(BENCH_BIN) $(BUILD)/barspace
	@sh bench/run.sh $(BUILD)

install: all
	install -d $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include/barspace \
	    $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 644 $(BUILD)/libbarspace.a $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(BUILD)/libbarspace.so $(DESTDIR)$(PREFIX)/lib/libbarspace.so.0
	ln -sf libbarspace.so.0 $(DESTDIR)$(PREFIX)/lib/libbarspace.so
	install -m 644 include/barspace/*.h $(DESTDIR)$(PREFIX)/include/barspace/
	install -m 755 $(BUILD)/barspace $(DESTDIR)$(PREFIX)/bin/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' barspace.pc.in \
	    > $(DESTDIR)$(PREFIX)/lib/pkgconfig/barspace.pc
	@if [ -f docs/barspace.1 ]; then install -d $(DESTDIR)$(PREFIX)/share/man/man1 && \
	    install -m 644 docs/barspace.1 $(DESTDIR)$(PREFIX)/share/man/man1/; fi
	install -d $(DESTDIR)$(PREFIX)/share/bash-completion/completions
	install -m 644 completion/barspace.bash \
	    $(DESTDIR)$(PREFIX)/share/bash-completion/completions/barspace

clean:
	rm -rf build build-san build-fuzz build-check.log build-san-check.log \
	    build-fuzz-check.log build-fuzz.log

# The real peer: QEMU q35 + SeaBIOS/OVMF/qboot + Debian's Linux 6.1 on every
# peer/topologies/*.topo and PEER_RANDOM random topologies (barspace
# generate; docs/peer.md) under each kernel of PEER_KERNELS (default "6.1
# 6.12 7.2"), then the hot-plug sequences.  Needs apt and network on first
# use; not part of `make check`.  peer-quick: four fixed topologies and six
# random ones.
PEER_RANDOM ?= 150
peer: $(BUILD)/barspace
	sh peer/setup $(PEER_KERNELS)
	BARSPACE=$(BUILD)/barspace PEER_KERNELS="$(PEER_KERNELS)" sh peer/suite
	BARSPACE=$(BUILD)/barspace PEER_FIXED= sh peer/random-suite --random $(PEER_RANDOM)
	$(MAKE) peer-hotplug

peer-quick: $(BUILD)/barspace
	sh peer/setup $(PEER_KERNELS)
	BARSPACE=$(BUILD)/barspace sh peer/random-suite --quick

# Hot-plug sequences (peer/sequences/) driven through QEMU's monitor, one
# QEMU at a time; peer/hotplug-results.md.
peer-hotplug: $(BUILD)/barspace
	sh peer/setup $(PEER_KERNELS)
	BARSPACE=$(BUILD)/barspace sh peer/hotplug-suite

# Fuzzing (docs/fuzzing.md): every libFuzzer target in fuzz/, built with
# clang (-fsanitize=fuzzer,address,undefined) in build-fuzz.  `fuzz` runs
# each for FUZZ_SECONDS; `fuzz-smoke` (part of `check`) about 18 s each,
# 180 s in all, at a fixed seed and at most 300,000 inputs each (the same
# inputs on every machine), and prints a "suite:" line: one pass per
# target that ran its time without a finding.
FUZZ_SECONDS ?= 600
fuzz:
	@sh fuzz/run.sh -s $(FUZZ_SECONDS)

fuzz-smoke:
	@sh fuzz/run.sh -s 20 -b 180 -r 300000 -S 1
