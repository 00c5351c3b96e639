# factory — build, test and demo entry points.
#   make            build bin/factory (optimised, warnings are errors)
#   make test       build with AddressSanitizer + UBSan and run every test
#   make check      the layering rules: util knows no domain, the library never prints
#   make demo       render every example recipe into out/, then the whole job end to end
#   make fuzz       run every fuzzer, tests/fuzz/fuzz_<name>.c, FUZZ_SECONDS each (libFuzzer, clang)
#   make install    PREFIX=/usr/local DESTDIR=: the binary, the catalog, the templates, the manual
#                   pages and the shell completions; make uninstall (same variables) removes them
#
# Sources live in three layers, as libgit2 splits src/cli, src/libgit2 and src/util:
#   factory/util/  no domain knowledge (errors, files, hashing, HTTP, YAML, TOML ...)
#   factory/lib/   the domain: recipe, plan, fetch, image, render, registry ... (never prints);
#                  factory/lib/render/ holds the shared Kubernetes builders and one file per target
#   factory/cli/   main and one cmd_<name>.c per command: parse, call the library, print
# The binary, the unit tests, the fuzzer and the benchmarks link one libfactory.a.

CC       ?= cc
PKGS     := yaml-0.1 libarchive libcurl libcrypto libgit2 jansson zlib libzstd libxml-2.0 libisal
CSTD     := -std=c11 -D_GNU_SOURCE
WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
INCLUDES := -Ifactory/util -Ifactory/lib -Ifactory/lib/render -Ifactory/cli
# Lazy (=): evaluated after `deps` has installed the packages on a fresh machine.
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   = $(shell pkg-config --libs $(PKGS))
CFLAGS   ?= -O2 -g
SAN      := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
# The release and the commit it was built from, for --version (no commit outside a checkout).
VERSION  := 0.1.0
COMMIT   := $(shell git rev-parse --short=12 HEAD 2>/dev/null)
VERSION_FLAGS := -DFACTORY_VERSION='"$(VERSION)"' -DFACTORY_COMMIT='"$(COMMIT)"'

UTIL_SRCS := $(wildcard factory/util/*.c)
DOMAIN_SRCS := $(wildcard factory/lib/*.c factory/lib/render/*.c)
LIB_SRCS := $(UTIL_SRCS) $(DOMAIN_SRCS)
CMD_SRCS := $(wildcard factory/cli/*.c)
UNIT_SRCS := $(wildcard tests/unit/*.c)

BUILD    := build
REL_LIB  := $(BUILD)/rel/libfactory.a
SAN_LIB  := $(BUILD)/san/libfactory.a
REL_LIB_OBJS := $(patsubst %.c,$(BUILD)/rel/%.o,$(LIB_SRCS))
REL_CMD_OBJS := $(patsubst %.c,$(BUILD)/rel/%.o,$(CMD_SRCS))
SAN_LIB_OBJS := $(patsubst %.c,$(BUILD)/san/%.o,$(LIB_SRCS))
SAN_CMD_OBJS := $(patsubst %.c,$(BUILD)/san/%.o,$(CMD_SRCS))
SAN_UNIT_OBJS := $(patsubst %.c,$(BUILD)/san/%.o,$(UNIT_SRCS))

.PHONY: all test check demo fuzz clean deps bench install uninstall
all: bin/factory $(BUILD)/man/.stamp

# Installs the Debian packages factory needs (apt-get, only when something is missing).
deps:
	@scripts/install-deps.sh

# Header dependencies are tracked per object (-MMD -MP): a header change rebuilds only what
# includes it.
$(BUILD)/rel/%.o: %.c | deps
	@mkdir -p $(dir $@)
	@echo '  CC      $<'
	@$(CC) $(CSTD) $(WARN) $(CFLAGS) $(PKG_CFLAGS) $(INCLUDES) -MMD -MP -c -o $@ $<

$(BUILD)/san/%.o: %.c | deps
	@mkdir -p $(dir $@)
	@echo '  CC [san] $<'
	@$(CC) $(CSTD) $(WARN) -O1 -g $(SAN) $(PKG_CFLAGS) $(INCLUDES) -MMD -MP -c -o $@ $<

# main.c carries the version; it is rebuilt when HEAD moves.
$(BUILD)/rel/factory/cli/main.o $(BUILD)/san/factory/cli/main.o: CSTD += $(VERSION_FLAGS)
$(BUILD)/rel/factory/cli/main.o $(BUILD)/san/factory/cli/main.o: $(wildcard .git/HEAD .git/refs/heads/*)

$(REL_LIB): $(REL_LIB_OBJS)
	@rm -f $@
	@ar rcs $@ $^

$(SAN_LIB): $(SAN_LIB_OBJS)
	@rm -f $@
	@ar rcs $@ $^

bin/factory: $(REL_CMD_OBJS) $(REL_LIB) | deps
	@mkdir -p bin
	$(CC) $(CFLAGS) -o $@ $(REL_CMD_OBJS) $(REL_LIB) $(PKG_LIBS) -lpthread

$(BUILD)/factory-san: $(SAN_CMD_OBJS) $(SAN_LIB) | deps
	$(CC) $(SAN) -o $@ $(SAN_CMD_OBJS) $(SAN_LIB) $(PKG_LIBS) -lpthread

$(BUILD)/unit-san: $(SAN_UNIT_OBJS) $(SAN_LIB) | deps
	$(CC) $(SAN) -o $@ $(SAN_UNIT_OBJS) $(SAN_LIB) $(PKG_LIBS) -lpthread

# The DSSE module on the command line, for tests/t_dsse_openssl.sh (its envelopes against
# openssl and back); built with the sanitizers as the unit tests are.
$(BUILD)/dsse-tool-san: tests/tools/dsse_tool.c $(SAN_LIB) | deps
	$(CC) $(CSTD) $(WARN) -O1 -g $(SAN) $(PKG_CFLAGS) $(INCLUDES) -o $@ $< $(SAN_LIB) $(PKG_LIBS) -lpthread

-include $(wildcard $(BUILD)/rel/factory/*/*.d $(BUILD)/rel/factory/lib/render/*.d $(BUILD)/san/factory/*/*.d \
  $(BUILD)/san/factory/lib/render/*.d $(BUILD)/san/tests/unit/*.d)

check:
	@scripts/check-layers.sh

test: check $(BUILD)/factory-san $(BUILD)/unit-san $(BUILD)/dsse-tool-san | deps
	FACTORY=$(abspath $(BUILD)/factory-san) UNIT=$(abspath $(BUILD)/unit-san) DSSE_TOOL=$(abspath $(BUILD)/dsse-tool-san) \
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	tests/run.sh $(T)

demo: bin/factory
	@for r in recipes/*.yaml; do bin/factory render "$$r" || exit 1; done
	@echo "example bundles written under out/"
	scripts/demo.sh

FUZZ_SECONDS ?= 60
FUZZ_LIB := $(BUILD)/fuzz/libfactory.a
FUZZ_LIB_OBJS := $(patsubst %.c,$(BUILD)/fuzz/%.o,$(LIB_SRCS))
$(BUILD)/fuzz/%.o: %.c | deps
	@mkdir -p $(dir $@)
	@clang $(CSTD) $(WARN) -g -O1 -fsanitize=fuzzer-no-link,address,undefined $(PKG_CFLAGS) $(INCLUDES) \
	  -MMD -MP -c -o $@ $<
$(FUZZ_LIB): $(FUZZ_LIB_OBJS)
	@rm -f $@
	@ar rcs $@ $^
# One harness per tests/fuzz/fuzz_<name>.c, built as $(BUILD)/fuzz-<name> and run on the seeds
# in tests/fuzz/seeds-<name>/ (the recipe harness's are in tests/fuzz/seeds/), growing its
# corpus in $(BUILD)/fuzz-corpus-<name>/ ($(BUILD)/fuzz-corpus/ for the recipe).
#   make fuzz FUZZ_TARGETS="toml tar"   run only those; FUZZ_MAX_LEN_<name> overrides -max_len
FUZZ_TARGETS ?= $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_MAX_LEN_tar ?= 65536
FUZZ_MAX_LEN_zip ?= 65536
FUZZ_MAX_LEN_oci ?= 65536
fuzz_seeds = $(if $(filter recipe,$1),tests/fuzz/seeds,tests/fuzz/seeds-$1)
fuzz_corpus = $(if $(filter recipe,$1),$(BUILD)/fuzz-corpus,$(BUILD)/fuzz-corpus-$1)
$(BUILD)/fuzz-%: tests/fuzz/fuzz_%.c $(wildcard tests/fuzz/*.h) $(FUZZ_LIB) | deps
	clang $(CSTD) $(WARN) -g -O1 -fsanitize=fuzzer,address,undefined $(PKG_CFLAGS) $(INCLUDES) -Itests/fuzz \
	  -o $@ $< $(FUZZ_LIB) $(PKG_LIBS) -lpthread

# The commands that run one harness; a target's failure (a finding) stops `make fuzz`.
define fuzz_run
@mkdir -p $(call fuzz_corpus,$1)
$(BUILD)/fuzz-$1 -max_total_time=$(FUZZ_SECONDS) -max_len=$(or $(FUZZ_MAX_LEN_$1),8192) -timeout=10 -print_final_stats=1 \
  $(call fuzz_corpus,$1) $(call fuzz_seeds,$1)

endef
fuzz: $(addprefix $(BUILD)/fuzz-,$(FUZZ_TARGETS))
	$(foreach t,$(FUZZ_TARGETS),$(call fuzz_run,$t))

$(BUILD)/layer-bench: tests/bench/layer_bench.c $(REL_LIB) | deps
	$(CC) $(CSTD) $(WARN) $(CFLAGS) $(PKG_CFLAGS) $(INCLUDES) -o $@ tests/bench/layer_bench.c \
	  $(REL_LIB) $(PKG_LIBS) -lpthread

# Benchmarks against the tools users would use instead (ratios; not part of make test).
bench: bin/factory $(BUILD)/layer-bench
	tests/bench/fetch_vs_maven.sh
	tests/bench/image_vs_tools.sh
	tests/bench/push_vs_skopeo.sh
	tests/bench/pipeline_vs_factory.sh

# The manual pages and the completion scripts, written at build time so they never drift from
# the code: factory(1) and factory-<command>(1) by `factory help --man [COMMAND]` from the
# option tables --help prints, factory-recipe(5) and factory.yaml(5) from README.md's sections
# (scripts/man-from-readme.py), the scripts by `factory completion SHELL`. FACTORY_BIN is the
# binary that writes them and that `make install` installs.
FACTORY_BIN ?= bin/factory
PREFIX      ?= /usr/local
DESTDIR     ?=
SHARE       := $(DESTDIR)$(PREFIX)/share
CATALOG_FILES  := $(sort $(wildcard connectors/*.yaml)) connectors/README.md
TEMPLATE_FILES := $(sort $(shell find templates -type f))
COMPLETIONS := bash-completion/completions/factory:factory.bash zsh/site-functions/_factory:_factory \
	       fish/vendor_completions.d/factory.fish:factory.fish

$(BUILD)/man/.stamp: $(FACTORY_BIN) README.md scripts/man-from-readme.py
	@echo '  GEN     $(BUILD)/man $(BUILD)/completion'
	@rm -rf $(BUILD)/man $(BUILD)/completion
	@mkdir -p $(BUILD)/man $(BUILD)/completion
	@$(FACTORY_BIN) help --man > $(BUILD)/man/factory.1
	@for c in $$($(FACTORY_BIN) help --commands); do \
	  $(FACTORY_BIN) help --man "$$c" > $(BUILD)/man/factory-$$c.1 || exit 1; done
	@python3 scripts/man-from-readme.py README.md $(BUILD)/man $(VERSION)
	@for s in bash zsh fish; do $(FACTORY_BIN) completion $$s > $(BUILD)/completion/$$s || exit 1; done
	@mv $(BUILD)/completion/bash $(BUILD)/completion/factory.bash
	@mv $(BUILD)/completion/zsh $(BUILD)/completion/_factory
	@mv $(BUILD)/completion/fish $(BUILD)/completion/factory.fish
	@touch $@

# The binary finds the catalog at <prefix>/share/factory/connectors from <prefix>/bin.
install: $(FACTORY_BIN) $(BUILD)/man/.stamp
	install -d $(DESTDIR)$(PREFIX)/bin $(SHARE)/factory/connectors $(SHARE)/man/man1 $(SHARE)/man/man5
	install -m 755 $(FACTORY_BIN) $(DESTDIR)$(PREFIX)/bin/factory
	install -m 644 $(CATALOG_FILES) $(SHARE)/factory/connectors/
	for f in $(TEMPLATE_FILES); do install -D -m 644 "$$f" "$(SHARE)/factory/$$f" || exit 1; done
	install -m 644 $(BUILD)/man/*.1 $(SHARE)/man/man1/
	install -m 644 $(BUILD)/man/*.5 $(SHARE)/man/man5/
	for c in $(COMPLETIONS); do install -D -m 644 "$(BUILD)/completion/$${c#*:}" "$(SHARE)/$${c%%:*}" || exit 1; done

# Exactly what install wrote, and the directories under share/factory it leaves empty.
uninstall: $(BUILD)/man/.stamp
	rm -f $(DESTDIR)$(PREFIX)/bin/factory $(addprefix $(SHARE)/factory/,$(CATALOG_FILES) $(TEMPLATE_FILES))
	for p in $(BUILD)/man/*.1; do rm -f "$(SHARE)/man/man1/$${p##*/}"; done
	for p in $(BUILD)/man/*.5; do rm -f "$(SHARE)/man/man5/$${p##*/}"; done
	for c in $(COMPLETIONS); do rm -f "$(SHARE)/$${c%%:*}"; done
	if [ -d $(SHARE)/factory ]; then find $(SHARE)/factory -depth -type d -empty -delete; fi

clean:
	rm -rf $(BUILD) bin
