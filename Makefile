# examsite: one entry point.  See README.md.
#
#   make            all binaries into build/
#   make check      every test, under ASan+UBSan (binaries in build/check/)
#   make demo       an exam morning: two stations, a kiosk, the office
#   make bench      benchmarks against baselines measured in the same run
#   make fuzz       libFuzzer targets for FUZZ_SECONDS each
#   make install    PREFIX=/usr DESTDIR=...
#   make check-systemd  the packages under a real systemd (nspawn)
#   make deb        Debian packages examsite, examsite-central into build/deb/

PREFIX   ?= /usr/local
DESTDIR  ?=
B        ?= build
SAN      ?= 0
CC       ?= cc
FUZZ_SECONDS ?= 60

PKGS_ALL := libusb-1.0 libevent libevent_openssl sqlite3 zlib openssl jansson libpq \
            inih libsystemd
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS_ALL) 2>/dev/null)

WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
           -Wmissing-prototypes -Wformat=2 -Wno-format-nonliteral -Wvla
CFLAGS  ?= -O2 -g
ifeq ($(SAN),1)
CFLAGS  := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
           -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif
CPPFLAGS += -std=c17 -D_GNU_SOURCE $(PKG_CFLAGS) -MMD -MP
ALL_CFLAGS = $(CPPFLAGS) $(CFLAGS) $(WARN)

# Per-module include paths: a module sees the headers of what it may use
# and no others, so a wrong arrow (central/ including a daemon, driver or
# station-store header; chain/ including SQLite's store) does not compile.
#   common/  <- chain/  <- db/  <- daemon/, tools/
#   common/  <- drivers/          <- daemon/, tools/
#   common/  <- chain/  <- central/ (no db/, drivers/ or daemon/)
INC_common  := -Icommon
INC_chain   := -Icommon -Ichain
INC_db      := -Icommon -Ichain -Idb -I$(B)/gen
INC_drivers := -Icommon -Idrivers
INC_daemon  := -Icommon -Ichain -Idb -Idrivers
INC_tools   := -Icommon -Ichain -Idb -Idrivers
INC_central := -Icommon -Ichain -I$(B)/gen/central
INC_default := -Icommon -Ichain -Idb -Idrivers -I$(B)/gen
modinc = $(or $(INC_$(firstword $(subst /, ,$(1)))),$(INC_default))

pkglibs = $(shell pkg-config --libs $(1))

# --- sources -------------------------------------------------------------
COMMON_SRC  := $(wildcard common/*.c)
CHAIN_SRC   := $(wildcard chain/*.c)
STORE_SRC   := $(wildcard db/*.c)
DRIVERS_SRC := $(wildcard drivers/*.c)
CTL_SRC     := $(wildcard tools/examctl.c tools/ctl_*.c)
SIM_SRC     := $(wildcard tools/examsim.c tools/sim_*.c)
DAEMON_SRC  := $(wildcard daemon/*.c)
KIOSK_SRC   := $(wildcard kiosk/*.c)
CENTRAL_SRC := $(wildcard central/*.c)
MIGRATIONS  := $(sort $(wildcard db/migrations/*.sql))
CENTRAL_MIGRATIONS := $(sort $(wildcard central/migrations/*.sql))

obj = $(patsubst %.c,$(B)/obj/%.o,$(1))

LIBCOMMON  := $(B)/lib/libcommon.a
LIBCHAIN   := $(B)/lib/libchain.a
LIBSTORE   := $(B)/lib/libstore.a
LIBDRIVERS := $(B)/lib/libdrivers.a

COMMON_LIBS  := $(call pkglibs,openssl inih) -lcsv
CHAIN_LIBS   := $(call pkglibs,zlib jansson openssl)
STORE_LIBS   := $(call pkglibs,sqlite3 jansson openssl) $(CHAIN_LIBS)
DRIVERS_LIBS := $(call pkglibs,libusb-1.0 libevent jansson)

BINS := $(B)/examctl
BINS += $(if $(SIM_SRC),$(B)/examsim)
BINS += $(if $(DAEMON_SRC),$(B)/examsited)
BINS += $(if $(KIOSK_SRC),$(B)/examkiosk)
BINS += $(if $(CENTRAL_SRC),$(B)/examcentral)

.PHONY: all deps check tests demo bench fuzz install clean check-systemd deb
all: $(BINS)

deps:
	@scripts/install-deps

# --- libraries -----------------------------------------------------------
$(B)/gen/migrations.h: $(MIGRATIONS) scripts/embed-sql
	@mkdir -p $(@D)
	scripts/embed-sql $(MIGRATIONS) > $@.tmp && mv $@.tmp $@

$(call obj,db/migrate.c): $(B)/gen/migrations.h

$(B)/gen/central/central_migrations.h: $(CENTRAL_MIGRATIONS) scripts/embed-sql
	@mkdir -p $(@D)
	scripts/embed-sql $(CENTRAL_MIGRATIONS) > $@.tmp && mv $@.tmp $@

$(call obj,central/cstore.c): $(B)/gen/central/central_migrations.h

# The office's rule profiles and its page's assets, carried in the binary.
CENTRAL_PROFILES := $(sort $(wildcard central/profiles/*.ini))
CENTRAL_WEB      := $(sort $(wildcard central/web/*))
$(B)/gen/central/central_profiles.h: $(CENTRAL_PROFILES) central/embed-files
	@mkdir -p $(@D)
	central/embed-files profiles $(CENTRAL_PROFILES) > $@.tmp && mv $@.tmp $@
$(B)/gen/central/central_web.h: $(CENTRAL_WEB) central/embed-files
	@mkdir -p $(@D)
	central/embed-files web_assets $(CENTRAL_WEB) > $@.tmp && mv $@.tmp $@
$(call obj,central/profile.c): $(B)/gen/central/central_profiles.h
$(call obj,central/web.c): $(B)/gen/central/central_web.h

$(B)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(call modinc,$*) -c $< -o $@

$(LIBCOMMON): $(call obj,$(COMMON_SRC))
$(LIBCHAIN): $(call obj,$(CHAIN_SRC))
$(LIBSTORE): $(call obj,$(STORE_SRC))
$(LIBDRIVERS): $(call obj,$(DRIVERS_SRC))
$(B)/lib/%.a:
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

# --- binaries ------------------------------------------------------------
$(B)/examctl: $(call obj,$(CTL_SRC)) $(LIBSTORE) $(LIBCHAIN) $(LIBDRIVERS) $(LIBCOMMON)
	$(CC) $(LDFLAGS) -o $@ $^ $(STORE_LIBS) $(DRIVERS_LIBS) $(COMMON_LIBS)

$(B)/examsim: $(call obj,$(SIM_SRC)) $(LIBDRIVERS) $(LIBCOMMON)
	$(CC) $(LDFLAGS) -o $@ $^ $(DRIVERS_LIBS) $(COMMON_LIBS)

$(B)/examsited: $(call obj,$(DAEMON_SRC)) $(LIBSTORE) $(LIBCHAIN) $(LIBDRIVERS) $(LIBCOMMON)
	$(CC) $(LDFLAGS) -o $@ $^ $(STORE_LIBS) $(DRIVERS_LIBS) \
	    $(call pkglibs,libevent_openssl) \
	    $(call pkglibs,libsystemd) $(COMMON_LIBS)

# ncursesw's wide-character API (get_wch, addnwstr, cchar_t).
$(B)/obj/kiosk/%.o: CPPFLAGS += $(shell pkg-config --cflags ncursesw) \
    -DNCURSES_WIDECHAR=1
$(B)/examkiosk: $(call obj,$(KIOSK_SRC)) $(LIBCOMMON)
	$(CC) $(LDFLAGS) -o $@ $^ $(call pkglibs,ncursesw libevent jansson) \
	    $(COMMON_LIBS)

# The office links the shared record format and common/, nothing of the
# station (no libstore, no drivers, no daemon).
$(B)/examcentral: $(call obj,$(CENTRAL_SRC)) $(LIBCHAIN) $(LIBCOMMON)
	$(CC) $(LDFLAGS) -o $@ $^ $(CHAIN_LIBS) \
	    $(call pkglibs,sqlite3 libevent libevent_openssl libpq) $(COMMON_LIBS)

# --- tests ---------------------------------------------------------------
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(patsubst tests/unit/%.c,$(B)/tests/%,$(UNIT_SRC))
USB_SRC  := $(wildcard tests/usb/test_*.c)
USB_BIN  := $(patsubst tests/usb/%.c,$(B)/tests/%,$(USB_SRC))
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN := $(patsubst tests/fuzz/%.c,$(B)/fuzz/%,$(FUZZ_SRC))

$(B)/tests/test_%: $(B)/obj/tests/unit/test_%.o $(LIBSTORE) $(LIBCHAIN) $(LIBDRIVERS) $(LIBCOMMON)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ -lcmocka $(STORE_LIBS) $(DRIVERS_LIBS) $(COMMON_LIBS)

# The daemon's rules (check-in, schedule) tested without its loop: they
# take narrow interfaces, so they link without the manager (examsited.c).
DAEMON_RULES_OBJ := $(call obj,daemon/checkin.c daemon/schedule.c)
$(B)/obj/tests/unit/test_daemon_%.o: CPPFLAGS += -Idaemon
$(B)/tests/test_daemon_%: $(B)/obj/tests/unit/test_daemon_%.o $(DAEMON_RULES_OBJ) $(LIBSTORE) $(LIBCHAIN) $(LIBDRIVERS) $(LIBCOMMON)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ -lcmocka $(STORE_LIBS) $(DRIVERS_LIBS) \
	    $(call pkglibs,libsystemd) $(COMMON_LIBS)

# The office's rules and reports tested without its loop: central's
# objects but examcentral.c, with central's include paths only.
CENTRAL_LIB_OBJ := $(call obj,$(filter-out central/examcentral.c,$(CENTRAL_SRC)))
$(B)/obj/tests/unit/test_central_%.o: tests/unit/test_central_%.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(INC_central) -Icentral -c $< -o $@
$(B)/tests/test_central_%: $(B)/obj/tests/unit/test_central_%.o $(CENTRAL_LIB_OBJ) $(LIBCHAIN) $(LIBCOMMON)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ -lcmocka $(CHAIN_LIBS) \
	    $(call pkglibs,sqlite3 libevent libevent_openssl libpq) $(COMMON_LIBS)

# umockdev tests: libumockdev-preload must be a DT_NEEDED of the test so it
# intercepts /dev/bus/usb and sysfs in-process (as libusb's own test does).
$(B)/obj/tests/usb/%.o: tests/usb/%.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(INC_default) $(shell pkg-config --cflags umockdev-1.0) -Wno-missing-prototypes -c $< -o $@

$(USB_BIN): $(B)/tests/%: $(B)/obj/tests/usb/%.o $(B)/obj/tests/usb/usbfix.o $(LIBDRIVERS) $(LIBCOMMON)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ -Wl,--push-state,--no-as-needed -lumockdev-preload \
	    -Wl,--pop-state $(call pkglibs,umockdev-1.0) $(DRIVERS_LIBS) $(COMMON_LIBS)

# Fuzz targets always build with clang and libFuzzer; make check replays the
# corpora, make fuzz explores.
FUZZ_CFLAGS := -std=c17 -D_GNU_SOURCE -Icommon -Ichain -Idb -Idrivers -g -O1 \
               -fsanitize=fuzzer,address,undefined $(PKG_CFLAGS)
$(B)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(COMMON_SRC) $(DRIVERS_SRC)
	@mkdir -p $(@D)
	clang $(FUZZ_CFLAGS) -o $@ $< $(COMMON_SRC) $(DRIVERS_SRC) \
	    $(DRIVERS_LIBS) $(COMMON_LIBS) $(call pkglibs,jansson)

# Batches are fuzzed against the shared codec alone: chain/ and common/.
$(B)/fuzz/fuzz_batch: tests/fuzz/fuzz_batch.c $(COMMON_SRC) $(CHAIN_SRC)
	@mkdir -p $(@D)
	clang $(FUZZ_CFLAGS) -o $@ $< $(COMMON_SRC) $(CHAIN_SRC) $(CHAIN_LIBS) \
	    $(COMMON_LIBS)

# The control requests are fuzzed against the daemon's own code and a real
# database: everything but examsited's main().
$(B)/fuzz/fuzz_control: tests/fuzz/fuzz_control.c $(COMMON_SRC) $(DRIVERS_SRC) $(STORE_SRC) $(DAEMON_SRC) $(B)/gen/migrations.h
	@mkdir -p $(@D)
	clang $(FUZZ_CFLAGS) -I$(B)/gen -Idaemon -o $@ $< $(COMMON_SRC) $(DRIVERS_SRC) \
	    $(STORE_SRC) $(CHAIN_SRC) $(filter-out daemon/examsited.c,$(DAEMON_SRC)) tests/fuzz/daemon_quiet.c \
	    $(DRIVERS_LIBS) $(STORE_LIBS) $(call pkglibs,libevent_openssl) $(COMMON_LIBS)

tests: $(UNIT_BIN) $(USB_BIN) $(FUZZ_BIN)

check: deps
	$(MAKE) all
	$(MAKE) B=build/check SAN=1 all tests
	tests/run build/check

# The build in parallel on every core, so that a fresh clone shows the
# morning within minutes; then the demo on those binaries.
demo: deps
	$(MAKE) -j$$(nproc) all
	BIN=$(B) scripts/demo

$(B)/bench/stationbench: bench/stationbench.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(INC_default) $(CFLAGS) $(WARN) -o $@ $< $(call pkglibs,sqlite3 jansson)

$(B)/bench/batchbench: bench/batchbench.c $(LIBCHAIN) $(LIBCOMMON)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(INC_chain) $(CFLAGS) $(WARN) -o $@ $^ $(CHAIN_LIBS) \
	    $(COMMON_LIBS)

$(B)/bench/kioskbench: bench/kioskbench.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) -o $@ $< -lutil

# Every bench runs; the target fails afterwards if one missed its target.
bench: deps all $(B)/bench/stationbench $(B)/bench/batchbench $(B)/bench/kioskbench
	@rc=0; bench/run || rc=1; bench/station || rc=1; bench/batch || rc=1; \
	    bench/kiosk || rc=1; bench/card || rc=1; \
	    exit $$rc

fuzz: deps
	$(MAKE) $(FUZZ_BIN)
	tests/fuzz/run $(B)/fuzz $(FUZZ_SECONDS)

install: all
	scripts/install-files "$(DESTDIR)" "$(PREFIX)" "$(B)"

# The packages of make deb, installed and upgraded under systemd in nspawn.
check-systemd: deps deb
	scripts/check-systemd

# debian/ built from a copy of the tree; the packages land in build/deb/.
deb:
	scripts/build-deb

clean:
	rm -rf build

-include $(shell find $(B)/obj -name '*.d' 2>/dev/null)
