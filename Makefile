# Floe: one non-recursive GNU Makefile (see STYLE: build).
#
#   make            build build/floe and build/libfloe.a
#   make test       unit tests, then integration tests on a private Postgres
#   make run        install missing packages (as root), build, run `floe dev`
#   make asan       the same tests built with AddressSanitizer + UBSan
#   make bench      loadTable vs nginx, commits vs pgbench (tests/bench/run.sh)
#   make install    PREFIX=/usr/local DESTDIR=
#   make clean

PKGS    := libmicrohttpd libpq jansson libcurl openssl yaml-0.1 avro-c zlib
WERROR  ?= -Werror
WARN    := -Wall -Wextra $(WERROR) -Wshadow -Wstrict-prototypes \
           -Wmissing-prototypes -Wformat=2 -Wimplicit-fallthrough \
           -Wpointer-arith -Wvla -Wwrite-strings -Wundef \
           -Wdeclaration-after-statement
CFLAGS  ?= -O2 -g
ASAN_FLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer \
              -fno-sanitize-recover=all
PREFIX  ?= /usr/local
B       ?= build

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

DEBUG   ?= 1
ifeq ($(DEBUG),1)
DEBUG_DEF := -DFL_DEBUG
endif

# Parse-time check: the libraries must be there for anything but `make run`
# and `make deps`, which install them first.
ifeq ($(filter run test asan deps clean,$(MAKECMDGOALS)),)
ifeq ($(PKG_LIBS),)
$(error missing build dependencies: run 'make deps' as root, or install \
  pkg-config libmicrohttpd-dev libjansson-dev libcurl4-openssl-dev \
  libssl-dev libyaml-dev libpq-dev libavro-dev postgresql)
endif
endif

ALL_CFLAGS := $(CFLAGS) -std=c11 -D_GNU_SOURCE $(DEBUG_DEF) $(WARN) -MMD -MP \
              -I. $(PKG_CFLAGS)
ALL_LDLIBS := $(LDLIBS) $(PKG_LIBS) -lpthread

LIB_SRC  := $(wildcard core/*.c db/*.c storage/*.c catalog/*.c access/*.c maintenance/*.c)
SRV_SRC  := $(wildcard server/*.c)
UNIT_SRC := $(wildcard tests/unit/test_*.c)
RUNNER_SRC := tests/integration/runner.c

LIB_OBJ  := $(LIB_SRC:%.c=$(B)/obj/%.o)
SRV_OBJ  := $(SRV_SRC:%.c=$(B)/obj/%.o)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)
SRV_LIB  := $(B)/libfloesrv.a

.PHONY: all test test-unit test-integration run asan clean install deps \
        check-src bench

all: $(B)/floe $(B)/libfloe.a $(B)/runner $(B)/mkmanifest $(UNIT_BIN)

# Rebuild everything when the flags change (Redis's trick).
FLAGS_NOW := $(ALL_CFLAGS) $(ALL_LDLIBS)
$(B)/.flags: FORCE
	@mkdir -p $(B)
	@echo '$(FLAGS_NOW)' | cmp -s - $@ || echo '$(FLAGS_NOW)' > $@
FORCE:

$(B)/obj/%.o: %.c $(B)/.flags
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(B)/libfloe.a: $(LIB_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

# server/ minus main.c, so unit tests can reach config and routing.
$(SRV_LIB): $(filter-out $(B)/obj/server/main.o,$(SRV_OBJ))
	@rm -f $@
	$(AR) rcs $@ $^

$(B)/floe: $(SRV_OBJ) $(B)/libfloe.a
	$(CC) $(CFLAGS) $(SRV_OBJ) $(B)/libfloe.a $(ALL_LDLIBS) -o $@

$(B)/tests/%: tests/unit/%.c tests/unit/t.h $(SRV_LIB) $(B)/libfloe.a $(B)/.flags
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests/unit $< $(SRV_LIB) $(B)/libfloe.a \
	    $(ALL_LDLIBS) -o $@

$(B)/runner: $(RUNNER_SRC) $(B)/.flags
	$(CC) $(ALL_CFLAGS) $< $(ALL_LDLIBS) -o $@

# Test tools: an Iceberg manifest writer (tests/tools/), used by the
# manifest unit test and by integration tests that append real snapshots.
TOOL_OBJ := $(B)/obj/tests/tools/avro_write.o

$(B)/tests/test_manifest: tests/unit/test_manifest.c tests/unit/t.h \
        $(TOOL_OBJ) $(SRV_LIB) $(B)/libfloe.a $(B)/.flags
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests/unit $< $(TOOL_OBJ) $(SRV_LIB) \
	    $(B)/libfloe.a $(ALL_LDLIBS) -o $@

$(B)/mkmanifest: tests/tools/mkmanifest.c $(TOOL_OBJ) $(B)/libfloe.a \
        $(B)/.flags
	$(CC) $(ALL_CFLAGS) $< $(TOOL_OBJ) $(B)/libfloe.a $(ALL_LDLIBS) -o $@

-include $(shell find $(B)/obj -name '*.d' 2>/dev/null)

# Banned calls (curl's checksrc): unbounded or silently failing libc.
check-src:
	@if grep -nE '\b(sprintf|strcpy|strcat|strtok|atoi|gets)\s*\(' \
	    $(LIB_SRC) $(SRV_SRC) $(UNIT_SRC) $(RUNNER_SRC) tests/tools/*.c \
	    | grep -vE '\b(fl_sprintf|fl_vsprintf|snprintf|vsnprintf)\s*\('; \
	then echo "banned call found (see STYLE: build)"; exit 1; fi

test:
	@scripts/deps.sh test
	@$(MAKE) --no-print-directory all check-src
	@B=$(B) tests/run.sh

test-unit: all
	@B=$(B) tests/run.sh unit

test-integration: all
	@B=$(B) tests/run.sh integration

asan:
	@$(MAKE) --no-print-directory B=build-asan CFLAGS='$(ASAN_FLAGS)' \
	    LDLIBS='-fsanitize=address,undefined' test

run:
	@scripts/deps.sh run
	@$(MAKE) --no-print-directory all
	$(B)/floe dev

deps:
	@scripts/deps.sh test

bench: all
	B=$(B) tests/bench/run.sh

install: $(B)/floe
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/floe/migrations \
	    $(DESTDIR)$(PREFIX)/etc
	install -m 755 $(B)/floe $(DESTDIR)$(PREFIX)/bin/floe
	install -m 644 migrations/*.sql $(DESTDIR)$(PREFIX)/share/floe/migrations/
	install -m 644 floe.yaml.example $(DESTDIR)$(PREFIX)/etc/floe.yaml.example

clean:
	rm -rf build build-asan
