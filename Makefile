# forknet: build, run, test, install. Plain GNU make, no configure step.
#
#   make                      build build/forknet
#   make run                  build and start the echo server on 127.0.0.1:9000 (PORT=... to change)
#   make test                 install the test framework if missing, build, run every test
#   make test SANITIZE=1      the same tests, built with ASan and UBSan (in build-san/)
#   make install PREFIX=/usr/local DESTDIR=
#   make CC=clang BUILD=build-clang   the same build with another compiler

VERSION := 0.1.0
PREFIX ?= /usr/local
PORT ?= 9000
BUILD ?= build
SANITIZE ?=
ifeq ($(SANITIZE),1)
BUILD := build-san
endif

CFLAGS ?= -O2 -g
WARNINGS := -Wall -Wextra -Wpedantic -Wshadow -Wformat=2 -Wstrict-prototypes \
	-Wmissing-prototypes -Wpointer-arith -Wwrite-strings -Wundef -Wvla -Werror
ALL_CFLAGS := -std=c11 -D_GNU_SOURCE $(WARNINGS) $(CFLAGS) -DFORKNET_VERSION='"$(VERSION)"' -MMD -MP
ALL_LDFLAGS := $(LDFLAGS)
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

.PHONY: all run test tests install clean
.DELETE_ON_ERROR:
# Keep the objects of test programs (make would delete them as intermediates).
.SECONDARY:

all: $(BUILD)/forknet

$(BUILD)/forknet: $(OBJECTS)
	$(CC) $(ALL_LDFLAGS) -o $@ $^

$(LIBRARY): $(LIBRARY_OBJECTS)
	rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Isrc -c -o $@ $<

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
	@$(MAKE) --no-print-directory all tests
	@tests/run $(BUILD)

tests: $(TESTS)

install: $(BUILD)/forknet
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 755 $(BUILD)/forknet $(DESTDIR)$(PREFIX)/bin/forknet
	install -m 644 man/forknet.1 $(DESTDIR)$(PREFIX)/share/man/man1/forknet.1

clean:
	rm -rf build build-san build-clang

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
