# pferris build. Everything lands in build/ (out of tree). Targets:
#   make            library, preload, tools, examples, test programs (builds only: installs nothing)
#   make check      bootstrap what is missing, build, Check unit suites, then integration tests
#   make python     the Python module into build/python/pferris (PYTHONPATH=build/python)
#   make bench      benchmarks against peers (installs the peers)
#   make demo       bootstrap, then a multi-threaded worker program under the preload and its summary
#   make install PREFIX=/usr/local
#   SAN=address|undefined|thread  build with that sanitizer (docs/internals.md: what runs under it)
#
# Adding a file needs no edit here: lib/LAYER/*.c joins the core, preload/*.c the shim,
# tools/common/*.c the tools' shared code, tools/NAME/*.c becomes build/NAME, tests/check_*.c
# joins the unit runner, tests/prog_*.c becomes a test program, tests/it_*.sh an integration
# test, examples/*.c build/examples/*.

PREFIX  ?= /usr/local
CC      ?= cc
B       := build
SAN     ?=
VERSION := 0.1.0

WARN    := -Wall -Wextra -Wpedantic -Wstrict-prototypes -Wshadow -Wno-unused-parameter
CFLAGS  ?= -O2 -g
BASE    := -std=gnu11 -pthread -fPIC -D_GNU_SOURCE -DPFERRIS_VERSION='"$(VERSION)"' $(WARN) -Ilib
LIBFLAGS := -fvisibility=hidden -ftls-model=initial-exec
PKGS    := jansson libunwind
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
# The preload never enters a program's symbol scope with its libraries: jansson is linked in
# from libjansson-dev's static archive (position-independent code) with every one of its
# symbols hidden (--exclude-libs), and libunwind is dlopen'ed RTLD_LOCAL at run time (no
# NEEDED entry). tests/it_fault_symbol_scope.sh checks both with readelf and nm.
JANSSON_A  = $(shell pkg-config --variable=libdir jansson 2>/dev/null)/libjansson.a

ifneq ($(SAN),)
  SANFLAGS := -fsanitize=$(SAN) -fno-omit-frame-pointer -fno-sanitize-recover=all
  B := build/san-$(SAN)
endif
# The preload interposes malloc: under ASan and TSan (which interpose malloc themselves and must
# come first) it is built plain; UBSan composes with it.
ifeq ($(SAN),undefined)
  PRELOAD_SAN := $(SANFLAGS)
endif

LIB_SRC     := $(wildcard lib/*/*.c)
PRELOAD_SRC := $(wildcard preload/*.c)
COMMON_SRC  := $(wildcard tools/common/*.c)
TOOL_NAMES  := $(filter-out common,$(notdir $(patsubst %/,%,$(wildcard tools/*/))))
CHECK_SRC   := $(filter-out tests/check_main.c,$(wildcard tests/check_*.c))
PROG_SRC    := $(wildcard tests/prog_*.c)
EX_SRC      := $(wildcard examples/*.c)
HDRS        := $(wildcard lib/*.h lib/*/*.h preload/*.h tools/common/*.h)

# The core twice: sanitized (for tools and unit tests) and as the preload sees it.
CORE_OBJ    := $(LIB_SRC:%.c=$(B)/obj/%.o)
SO_OBJ      := $(LIB_SRC:%.c=$(B)/so/%.o) $(PRELOAD_SRC:%.c=$(B)/so/%.o)
COMMON_OBJ  := $(COMMON_SRC:%.c=$(B)/obj/%.o)
TOOLS       := $(TOOL_NAMES:%=$(B)/%)
PROGS       := $(PROG_SRC:tests/%.c=$(B)/tests/%) $(B)/tests/nopie_markers
EXAMPLES    := $(EX_SRC:examples/%.c=$(B)/examples/%)
SO          := $(B)/libpferris.so
CORE_A      := $(B)/libpferris-core.a
COMMON_A    := $(B)/libpferris-tools.a

.PHONY: python all check unit integration bench demo examples install clean deps need format tidy
all: need
	@$(MAKE) --no-print-directory build-all

.PHONY: build-all
build-all: $(SO) $(TOOLS) $(EXAMPLES) $(PROGS)

# Plain make installs nothing: it names what is missing and stops. check and demo install it.
need:
	@scripts/bootstrap --check

deps:
	@scripts/bootstrap

$(B)/obj/%.o: %.c $(HDRS)
	@mkdir -p $(@D)
	$(CC) $(BASE) $(LIBFLAGS) $(PKG_CFLAGS) $(CFLAGS) $(SANFLAGS) -c $< -o $@

$(B)/so/%.o: %.c $(HDRS)
	@mkdir -p $(@D)
	$(CC) $(BASE) $(LIBFLAGS) -DPF_PRELOAD=1 $(PKG_CFLAGS) $(CFLAGS) $(PRELOAD_SAN) -c $< -o $@

# The tools' own code sees tools/ too; the core never includes a tool header.
$(B)/obj/tools/%.o: tools/%.c $(HDRS)
	@mkdir -p $(@D)
	$(CC) $(BASE) -Itools $(PKG_CFLAGS) $(CFLAGS) $(SANFLAGS) -c $< -o $@

$(CORE_A): $(CORE_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(COMMON_A): $(COMMON_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(SO): $(SO_OBJ) preload/preload.map
	$(CC) -shared -pthread $(CFLAGS) $(PRELOAD_SAN) -Wl,-soname,libpferris.so -Wl,-z,now \
	  -Wl,--version-script=preload/preload.map -Wl,--exclude-libs,ALL \
	  -o $@ $(SO_OBJ) $(JANSSON_A) -ldl -lm

# build/NAME from tools/NAME/*.c, the tools' shared code and the core, with NAME_LIBS: zlib
# (gzip for --pprof) for pferris only; the preload never links it.
pferris_LIBS := -lz
define tool_rule
$(B)/$(1): $(patsubst %.c,$(B)/obj/%.o,$(wildcard tools/$(1)/*.c)) $(COMMON_A) $(CORE_A)
	$$(CC) $$(CFLAGS) $$(SANFLAGS) -pthread -o $$@ $$(filter %.o,$$^) $(COMMON_A) $(CORE_A) $$(PKG_LIBS) $$($(1)_LIBS) -ldl -lm
endef
$(foreach t,$(TOOL_NAMES),$(eval $(call tool_rule,$(t))))

# Test programs and examples use only the public header; examples link -lpferris so the
# seed's Profiler API is there without a preload.
$(B)/tests/prog_%: tests/prog_%.c lib/pferris.h
	@mkdir -p $(@D)
	$(CC) $(BASE) $(CFLAGS) -o $@ $< -lm

# The same marker program as a non-PIE executable (where weak symbols would fail).
$(B)/tests/nopie_%: tests/prog_%.c lib/pferris.h
	@mkdir -p $(@D)
	$(CC) $(BASE) -fno-pie -no-pie $(CFLAGS) -o $@ $< -lm

$(B)/examples/%: examples/%.c lib/pferris.h $(SO)
	@mkdir -p $(@D)
	$(CC) $(BASE) $(PKG_CFLAGS) $(CFLAGS) -o $@ $< -L$(B) -lpferris -ljansson -Wl,-rpath,'$$ORIGIN/..' -lm

examples: $(EXAMPLES)

# The Python module (python/): Debian's python3, never a pyenv shim. It links no copy of the
# core: it resolves the entry points in the process or loads the libpferris.so copied beside it.
PYTHON   ?= /usr/bin/python3
PY_SRC   := $(wildcard python/src/*.c)
PY_PKG   := $(B)/python/pferris
PY_MOD    = $(PY_PKG)/_pferris$(shell $(PYTHON) -c 'import sysconfig; print(sysconfig.get_config_var("EXT_SUFFIX"))')
PY_INC    = $(shell $(PYTHON) -c 'import sysconfig; print(sysconfig.get_paths()["include"])')

python: $(SO)
	@$(MAKE) --no-print-directory $(PY_MOD) $(PY_PKG)/__init__.py $(PY_PKG)/libpferris.so

$(PY_PKG)/_pferris%.so: $(PY_SRC) python/src/pfpy.h lib/pferris.h
	@mkdir -p $(@D)
	$(CC) -std=gnu11 -fPIC -shared -fvisibility=hidden -DPFERRIS_VERSION='"$(VERSION)"' \
	  -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers -Ilib -I$(PY_INC) \
	  $(PKG_CFLAGS) $(CFLAGS) -o $@ $(PY_SRC) -ljansson -ldl

$(PY_PKG)/__init__.py: python/pferris/__init__.py
	@mkdir -p $(@D)
	cp $< $@

$(PY_PKG)/libpferris.so: $(SO)
	@mkdir -p $(@D)
	cp $< $@

$(B)/tests/suites.h: $(CHECK_SRC)
	@mkdir -p $(@D)
	@sed -n 's/^Suite \*\([a-z_0-9]*\)_suite(void).*/PF_SUITE(\1)/p' $(CHECK_SRC) > $@.tmp && mv $@.tmp $@

$(B)/tests/check_all: tests/check_main.c $(CHECK_SRC) $(B)/tests/suites.h $(CORE_A) $(COMMON_A) tests/check_util.h
	$(CC) $(BASE) -Itools $(PKG_CFLAGS) $(shell pkg-config --cflags check) $(CFLAGS) $(SANFLAGS) -I$(B)/tests \
	  -rdynamic -o $@ tests/check_main.c $(CHECK_SRC) $(COMMON_A) $(CORE_A) $(shell pkg-config --libs check) $(PKG_LIBS) -ldl -lm

check: deps
	@$(MAKE) --no-print-directory build-all $(B)/tests/check_all python
	$(B)/tests/check_all
	B=$(B) SAN=$(SAN) tests/run-integration

unit: need
	@$(MAKE) --no-print-directory build-all $(B)/tests/check_all
	$(B)/tests/check_all

integration: all
	B=$(B) SAN=$(SAN) tests/run-integration

bench: deps
	@scripts/bootstrap --bench
	@$(MAKE) --no-print-directory build-all
	B=$(B) scripts/bench

demo: deps
	@$(MAKE) --no-print-directory build-all
	B=$(B) scripts/demo

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 755 $(TOOLS) $(DESTDIR)$(PREFIX)/bin/
	install -m 755 $(SO) $(DESTDIR)$(PREFIX)/lib/
	install -m 644 lib/pferris.h $(DESTDIR)$(PREFIX)/include/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' scripts/pferris.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/pferris.pc

format:
	clang-format -i lib/*.h lib/*/*.[ch] preload/*.c tools/*/*.[ch] tests/*.c examples/*.c

clean:
	rm -rf build
