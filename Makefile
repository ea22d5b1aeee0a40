# tally — one non-recursive Makefile.
#
# Everything builds out of tree under $(BUILD). Header dependencies come from
# the compiler (-MMD -MP). A sanitizer build goes to its own tree:
#   make SAN=address,undefined test
# Library code (every src/**.c but main.c) is archived into libtally.a; the
# binary and every unit test link against it.

CC      ?= cc
SAN     ?=
BUILD   ?= build$(if $(SAN),/san,)
PORT    ?= 8080

WARN    := -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
           -Wformat=2 -Wvla -Wno-unused-parameter
CFLAGS  ?= -O2 -g
override CFLAGS += -std=c17 -D_GNU_SOURCE $(WARN) -pthread -Isrc -I$(BUILD)/gen
ifneq ($(CI),)
override CFLAGS += -Werror
endif
ifneq ($(SAN),)
override CFLAGS += -fsanitize=$(SAN) -fno-omit-frame-pointer -fno-sanitize-recover=all -O1
LDFLAGS += -fsanitize=$(SAN)
endif
LDLIBS  := -lmicrohttpd -lxxhash -lcurl -lpcre2-8 -lmaxminddb -lm -pthread

LIB_SRC := $(filter-out src/main.c,$(shell find src -name '*.c' | sort))
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o) $(BUILD)/gen/web_assets.o
LIB     := $(BUILD)/libtally.a
BIN     := $(BUILD)/tally

UNIT_SRC := $(shell find tests/unit -name 'test_*.c' | sort)
UNIT_BIN := $(UNIT_SRC:%.c=$(BUILD)/%)

BENCH_SRC := $(shell find bench -name '*.c' | sort)
BENCH_BIN := $(BENCH_SRC:%.c=$(BUILD)/%)

# programs the tests run (tests/tools/<name>.c with a main; helpers are #included)
TOOL_BIN := $(BUILD)/tests/tools/make_test_mmdb

DEPS_STAMP := build/.deps-ok

.PHONY: all run test unit bench lint format clean deps web
all: $(BIN) $(UNIT_BIN) $(BENCH_BIN) $(TOOL_BIN)

# deps.sh is idempotent and quick when everything is there; the stamp keeps
# repeated `make` calls from even asking.
deps: $(DEPS_STAMP)
$(DEPS_STAMP): scripts/deps.sh package.json package-lock.json
	bash scripts/deps.sh
	@mkdir -p $(@D) && touch $@

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(LIB): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BIN): $(BUILD)/src/main.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/unit/%: tests/unit/%.c $(LIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Itests -MMD -MP $(LDFLAGS) -o $@ $< $(LIB) -lcmocka $(LDLIBS)

$(BUILD)/tests/tools/%: tests/tools/%.c $(LIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Itests -MMD -MP $(LDFLAGS) -o $@ $< $(LIB) $(LDLIBS)

$(BUILD)/bench/%: bench/%.c $(LIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -MMD -MP $(LDFLAGS) -o $@ $< $(LIB) $(LDLIBS)

# --- web: the dashboard, bundled by npm at build time, embedded by tools/embed.c ---
WEB_SRC := $(shell find web -maxdepth 2 -type f ! -path 'web/node_modules/*' ! -path 'web/dist/*' | sort)
$(BUILD)/tools/embed: tools/embed.c
	@mkdir -p $(@D)
	$(CC) -O2 -std=c17 -Wall -o $@ $<
web/dist/.built: $(WEB_SRC) | $(DEPS_STAMP)
	node web/build.mjs
	@touch $@
$(BUILD)/gen/web_assets.c: web/dist/.built $(BUILD)/tools/embed
	@mkdir -p $(@D)
	$(BUILD)/tools/embed web/dist > $@.tmp && mv $@.tmp $@
$(BUILD)/gen/web_assets.o: $(BUILD)/gen/web_assets.c
	$(CC) $(CFLAGS) -c $< -o $@
web: $(BUILD)/gen/web_assets.c

# --- everyday targets ---
run: $(DEPS_STAMP) $(BIN)
	$(BIN) serve --demo --listen 127.0.0.1:$(PORT) --data data

test: $(DEPS_STAMP) all
	@$(MAKE) --no-print-directory SAN=address,undefined all
	bash scripts/test.sh $(BUILD) build/san

bench: $(DEPS_STAMP) all
	bash bench/micro.sh $(BUILD)
	bash bench/run.sh $(BUILD)

lint:
	clang-format --dry-run --Werror $(shell find src tests bench tools -name '*.[ch]')
	cppcheck --quiet --error-exitcode=1 --std=c11 --enable=warning,portability \
	  --inline-suppr --suppress=missingIncludeSystem -Isrc src tools
	bash scripts/banned.sh

format:
	clang-format -i $(shell find src tests bench tools -name '*.[ch]')

clean:
	rm -rf build web/dist

-include $(shell find build -name '*.d' 2>/dev/null)
