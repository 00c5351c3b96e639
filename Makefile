# factory — build, test and demo entry points.
#   make          build bin/factory (optimised, warnings are errors)
#   make test     build with AddressSanitizer + UBSan and run every test
#   make demo     render every example recipe into out/
#   make fuzz     run the recipe-parser fuzzer (libFuzzer, clang)

CC       ?= cc
PKGS     := yaml-0.1 libarchive libcurl libcrypto libgit2 jansson zlib libzstd libxml-2.0
CSTD     := -std=c11 -D_GNU_SOURCE
WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
# Lazy (=): evaluated after `deps` has installed the packages on a fresh machine.
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   = $(shell pkg-config --libs $(PKGS))
CFLAGS   ?= -O2 -g
SAN      := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

LIB_SRCS := $(filter-out factory/main.c factory/cmd_%.c,$(wildcard factory/*.c))
CMD_SRCS := factory/main.c $(wildcard factory/cmd_*.c)
HDRS     := $(wildcard factory/*.h)
UNIT_SRCS := $(wildcard tests/unit/*.c)

BUILD    := build
OBJS     := $(patsubst %.c,$(BUILD)/rel/%.o,$(LIB_SRCS) $(CMD_SRCS))
SAN_LIB_OBJS := $(patsubst %.c,$(BUILD)/san/%.o,$(LIB_SRCS))
SAN_CMD_OBJS := $(patsubst %.c,$(BUILD)/san/%.o,$(CMD_SRCS))

.PHONY: all test demo fuzz clean deps bench
all: bin/factory

# Installs the Debian packages factory needs (apt-get, only when something is missing).
deps:
	@scripts/install-deps.sh

bin/factory: $(OBJS) | deps
	@mkdir -p bin
	$(CC) $(CFLAGS) -o $@ $(OBJS) $(PKG_LIBS) -lpthread

$(BUILD)/rel/%.o: %.c $(HDRS) | deps
	@mkdir -p $(dir $@)
	@echo '  CC      $<'
	@$(CC) $(CSTD) $(WARN) $(CFLAGS) $(PKG_CFLAGS) -Ifactory -c -o $@ $<

$(BUILD)/san/%.o: %.c $(HDRS) | deps
	@mkdir -p $(dir $@)
	@echo '  CC [san] $<'
	@$(CC) $(CSTD) $(WARN) -O1 -g $(SAN) $(PKG_CFLAGS) -Ifactory -c -o $@ $<

$(BUILD)/factory-san: $(SAN_LIB_OBJS) $(SAN_CMD_OBJS) | deps
	$(CC) $(SAN) -o $@ $^ $(PKG_LIBS) -lpthread

$(BUILD)/unit-san: $(SAN_LIB_OBJS) $(patsubst %.c,$(BUILD)/san/%.o,$(UNIT_SRCS)) | deps
	$(CC) $(SAN) -o $@ $^ $(PKG_LIBS) -lpthread

test: $(BUILD)/factory-san $(BUILD)/unit-san | deps
	FACTORY=$(abspath $(BUILD)/factory-san) UNIT=$(abspath $(BUILD)/unit-san) \
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	tests/run.sh $(T)

demo: bin/factory
	@for r in recipes/*.yaml; do bin/factory render "$$r" || exit 1; done
	@echo "example bundles written under out/"
	scripts/demo.sh

FUZZ_SECONDS ?= 60
$(BUILD)/fuzz-recipe: $(LIB_SRCS) tests/fuzz/fuzz_recipe.c $(HDRS) | deps
	@mkdir -p $(BUILD)
	clang $(CSTD) $(WARN) -g -O1 -fsanitize=fuzzer,address,undefined $(PKG_CFLAGS) -Ifactory \
	  -o $@ $(LIB_SRCS) tests/fuzz/fuzz_recipe.c $(PKG_LIBS) -lpthread

fuzz: $(BUILD)/fuzz-recipe
	@mkdir -p $(BUILD)/fuzz-corpus
	$(BUILD)/fuzz-recipe -max_total_time=$(FUZZ_SECONDS) -max_len=8192 -timeout=10 \
	  $(BUILD)/fuzz-corpus tests/fuzz/seeds

$(BUILD)/layer-bench: $(OBJS) tests/bench/layer_bench.c | deps
	$(CC) $(CSTD) $(WARN) $(CFLAGS) $(PKG_CFLAGS) -Ifactory -o $@ tests/bench/layer_bench.c \
	  $(filter-out $(BUILD)/rel/factory/main.o $(BUILD)/rel/factory/cmd_%.o,$(OBJS)) $(PKG_LIBS) -lpthread

# Benchmarks against the tools users would use instead (ratios; not part of make test).
bench: bin/factory $(BUILD)/layer-bench
	tests/bench/fetch_vs_maven.sh
	tests/bench/image_vs_tools.sh
	tests/bench/push_vs_skopeo.sh

clean:
	rm -rf $(BUILD) bin
