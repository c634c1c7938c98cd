# forknet: build, run, test, install. Plain GNU make, no configure step.
#
#   make                      build build/forknet
#   make run                  build and start the echo server on 127.0.0.1:9000 (PORT=... to change)
#   make test                 install the test framework if missing, build, run every test
#   make examples             build the process labs (examples/*.c) into build/examples/
#   make test SANITIZE=1      the same tests, built with ASan and UBSan (in build-san/)
#   make fuzz                 run each fuzz target for FUZZ_SECONDS (default 60), with clang
#   make bench                every forknet TCP server model against the peers (bench/echo-bench.sh)
#   make bench-chat           the chat relay benchmark against ncat (bench/chat-bench.sh)
#   make bench-shell          the cost of one command in forknet shell, dash and bash
#   make install PREFIX=/usr/local DESTDIR=
#   make CC=clang BUILD=build-clang   the same build with another compiler

VERSION := 0.1.0
PREFIX ?= /usr/local
PORT ?= 9000
FUZZ_SECONDS ?= 60
BUILD ?= build
SANITIZE ?=
ifeq ($(SANITIZE),1)
BUILD := build-san
endif
# STATIC=1: build/forknet linked statically, against musl where musl-gcc is
# installed (Debian's musl-tools), else against glibc; STATIC=glibc forces
# glibc. The tests are still built against glibc (cmocka is there) and run the
# static binary. See README, "Static or dynamic".
STATIC ?=
ifneq ($(STATIC),)
ifeq ($(SANITIZE),1)
$(error SANITIZE=1 and STATIC cannot be combined: the sanitizers need the dynamic C library)
endif
BUILD := build-static
ifeq ($(STATIC),glibc)
STATIC_CC := $(CC)
else
STATIC_CC := $(if $(shell command -v musl-gcc 2>/dev/null),musl-gcc,$(CC))
endif
endif

CFLAGS ?= -O2 -g
WARNINGS := -Wall -Wextra -Wpedantic -Wshadow -Wformat=2 -Wstrict-prototypes \
	-Wmissing-prototypes -Wpointer-arith -Wwrite-strings -Wundef -Wvla -Werror
ALL_CFLAGS := -std=c11 -D_GNU_SOURCE -pthread $(WARNINGS) $(CFLAGS) -DFORKNET_VERSION='"$(VERSION)"' -MMD -MP
# -z now: every symbol is bound at start, in the parent, and RELRO then makes
# the GOT read-only; without it each forked child binds the functions it calls
# first (a stack-hungry resolver, and a GOT page of its own): measured 10-14 %
# more conn/s in the fork model and 4 KiB less per idle connection.
ALL_LDFLAGS := -pthread -Wl,-z,relro,-z,now $(LDFLAGS)
ifeq ($(SANITIZE),1)
SANITIZERS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
ALL_CFLAGS += $(SANITIZERS)
ALL_LDFLAGS += $(SANITIZERS)
endif

SOURCES := $(wildcard src/*.c src/*/*.c)
OBJECTS := $(SOURCES:%.c=$(BUILD)/%.o)
LIBRARY_OBJECTS := $(filter-out $(BUILD)/src/main.o,$(OBJECTS))
LIBRARY := $(BUILD)/libforknet.a

UNIT_TESTS := $(patsubst %.c,$(BUILD)/%,$(wildcard tests/unit/test_*.c))
INTEGRATION_TESTS := $(patsubst %.c,$(BUILD)/%,$(wildcard tests/integration/test_*.c))
HARNESS := $(BUILD)/tests/integration/harness.o
TESTS := $(UNIT_TESTS) $(INTEGRATION_TESTS)
# The labs: one program per file, each standing alone (no library), for students to read.
EXAMPLES := $(patsubst examples/%.c,$(BUILD)/examples/%,$(wildcard examples/*.c))

.PHONY: all run test tests examples fuzz bench bench-chat bench-shell install clean
.DELETE_ON_ERROR:
# Keep the objects of test programs (make would delete them as intermediates).
.SECONDARY:

all: $(BUILD)/forknet

ifeq ($(STATIC),)
$(BUILD)/forknet: $(OBJECTS)
	$(CC) $(ALL_LDFLAGS) -o $@ $^
else
STATIC_OBJECTS := $(SOURCES:%.c=$(BUILD)/static/%.o)

$(BUILD)/forknet: $(STATIC_OBJECTS)
	$(STATIC_CC) $(ALL_LDFLAGS) -static -o $@ $^

$(BUILD)/static/%.o: %.c
	@mkdir -p $(@D)
	$(STATIC_CC) $(ALL_CFLAGS) -Isrc -c -o $@ $<
endif

$(LIBRARY): $(LIBRARY_OBJECTS)
	rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Isrc -c -o $@ $<

# A lab stands alone (one file, no project header), so it needs no dependency
# file: build/examples/ holds the labs and nothing else.
$(BUILD)/examples/%: examples/%.c
	@mkdir -p $(@D)
	$(CC) $(filter-out -MMD -MP,$(ALL_CFLAGS)) -o $@ $< $(ALL_LDFLAGS)

$(BUILD)/tests/unit/%: $(BUILD)/tests/unit/%.o $(LIBRARY)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ -lcmocka

$(BUILD)/tests/integration/%: $(BUILD)/tests/integration/%.o $(HARNESS) $(LIBRARY)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ -lcmocka

run: $(BUILD)/forknet
	$(BUILD)/forknet echo-server --bind 127.0.0.1 --port $(PORT)

# The framework is installed first, in a make of its own, so that a parallel
# make never compiles a test before cmocka is there.
test:
	@tests/install-deps
	@$(if $(filter-out glibc,$(STATIC)),tests/install-deps static)
	@$(MAKE) --no-print-directory all examples tests
	@tests/run $(BUILD)

tests: $(TESTS)

examples: $(EXAMPLES)

# Fuzz targets: tests/fuzz/fuzz_NAME.c, built with clang's libFuzzer and the
# sanitizers against the library (every source but main.c, instrumented), each
# run for FUZZ_SECONDS from its seed corpus tests/fuzz/corpus/NAME (new inputs
# it finds go to build-fuzz/corpus/NAME).
FUZZ_TARGETS := $(patsubst tests/fuzz/%.c,build-fuzz/%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_OBJECTS := $(patsubst %.c,build-fuzz/%.o,$(filter-out src/main.c,$(SOURCES)))
FUZZ_SANITIZERS := -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_FLAGS := -std=c11 -D_GNU_SOURCE -g -O1 -Isrc $(FUZZ_SANITIZERS) $(WARNINGS)

fuzz:
	@tests/install-deps fuzz
	@$(MAKE) --no-print-directory $(FUZZ_TARGETS)
	@for target in $(FUZZ_TARGETS); do \
		name=$${target#build-fuzz/fuzz_}; \
		mkdir -p build-fuzz/corpus/$$name; \
		echo "make fuzz: $$target for $(FUZZ_SECONDS) s"; \
		$$target -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
			build-fuzz/corpus/$$name tests/fuzz/corpus/$$name || exit 1; \
	done

build-fuzz/src/%.o: src/%.c
	@mkdir -p $(@D)
	clang $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c -o $@ $<

build-fuzz/libforknet.a: $(FUZZ_OBJECTS)
	rm -f $@
	$(AR) rcs $@ $^

build-fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/check.h build-fuzz/libforknet.a
	@mkdir -p $(@D)
	clang $(FUZZ_FLAGS) -fsanitize=fuzzer -o $@ $< build-fuzz/libforknet.a

# The echo-server table: every forknet model and the peers, loaded by
# forknet bench in one run; results and plots in BENCH_OUT (never over the
# committed copies in bench/results/; see bench/README.md).
BENCH_OUT ?= $(BUILD)/bench-results

# Both builds are measured: this one and the static one (make STATIC=1).
bench:
	@tests/install-deps bench
	@tests/install-deps static
	@$(MAKE) --no-print-directory all $(BUILD)/bench/yardstick
	@$(MAKE) --no-print-directory STATIC=1 all
	FORKNETS="forknet=$(BUILD)/forknet forknet-static=build-static/forknet" \
		bench/echo-bench.sh $(BUILD) $(BENCH_OUT)

# The yardstick: a minimal epoll echo server, one file, nothing of forknet's.
$(BUILD)/bench/yardstick: bench/yardstick.c
	@mkdir -p $(@D)
	$(CC) $(filter-out -MMD -MP,$(ALL_CFLAGS)) -o $@ $< $(ALL_LDFLAGS)

# The chat relay benchmark: forknet chat-server against ncat --broker --chat,
# M = 10 and 100 (bench/chat-bench.sh; results in $(BUILD)/bench-results, the
# committed copies in bench/ refreshed with OUT=bench).
CHAT_BENCH_OBJECTS := $(patsubst %.c,$(BUILD)/%.o,bench/chat_bench.c bench/bench_relay.c bench/bench_stats.c)

bench-chat:
	@tests/install-deps bench
	@$(MAKE) --no-print-directory all $(BUILD)/bench/chat_bench
	bench/chat-bench.sh $(BUILD)

# What one external command costs in forknet shell, dash and bash (bench/shell-bench.sh).
bench-shell: all
	bench/shell-bench.sh $(BUILD)

$(BUILD)/bench/chat_bench: $(CHAT_BENCH_OBJECTS)
	$(CC) $(ALL_LDFLAGS) -pthread -o $@ $^ -lm

install: $(BUILD)/forknet
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 755 $(BUILD)/forknet $(DESTDIR)$(PREFIX)/bin/forknet
	install -m 644 man/forknet.1 $(DESTDIR)$(PREFIX)/share/man/man1/forknet.1

clean:
	rm -rf build build-san build-clang build-fuzz build-static

-include $(shell find $(BUILD) build-fuzz/src -name '*.d' 2>/dev/null)
