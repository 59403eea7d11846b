# anyhv: the two commands a new machine needs (`make run`, `make test`) and the
# rest. Every target installs missing Debian packages first.
BUILD ?= build
MAKEFLAGS += --no-print-directory
SANITIZE ?= 0
TSAN ?= 0
JOBS ?= $(shell nproc)
ifeq ($(SANITIZE),1)
BUILD := $(BUILD)-san
CMAKE_FLAGS += -DANYHV_SANITIZE=ON
endif
# ThreadSanitizer build (build-tsan/): `make test TSAN=1` runs the tests that drive the
# library from several threads at once (ctest label "threads"); the rest of the suite is
# single-threaded and many times slower under TSan. A TSan report fails the test
# (tests/support/tsan_shim.c).
TEST_SELECT ?=
ifeq ($(TSAN),1)
BUILD := $(BUILD)-tsan
CMAKE_FLAGS += -DANYHV_TSAN=ON
TEST_SELECT += -L threads
endif

.PHONY: all deps configure build run test bench bench-boot fuzz soak stress install clean

all: build

deps:
	@scripts/install-deps

configure: deps
	@cmake -S . -B $(BUILD) $(CMAKE_FLAGS) >/dev/null

build: configure
	@cmake --build $(BUILD) -j $(JOBS)

# What the library can do here, then the demo guests on each route (scripts/run-demo).
run: build
	@scripts/run-demo $(BUILD)

# The Linux boot test (label linux-boot, minutes on the interpreter tier) runs in soak.
test: build
	@cd $(BUILD) && ctest --output-on-failure --timeout 300 -j $(JOBS) -LE linux-boot $(TEST_SELECT)

# Every workload on every engine available here, one table (docs/performance.md).
BENCH_RUNS ?= 5
bench: build
	@$(BUILD)/bin/anyhv-bench --runs $(BENCH_RUNS)
	@bench/boot.sh $(BUILD)

# The Linux boot rows, arm64 and x86_64, each tier beside QEMU TCG (minutes).
bench-boot: build
	@bench/boot.sh $(BUILD) all

# Long runs, outside `make test`: the differential testers (ctest label "fuzz"; in both
# soft tiers, ANYHV_JIT=off and eager) with FUZZ_ITERS cases each; soak: the demo guests
# SOAK_ROUNDS times per backend, then the Linux boot test (label linux-boot: Debian's
# arm64 kernel, --smp 1 and 2, booted as is and deterministically, twice and
# recorded then replayed: tests/linux/det.sh).
FUZZ_ITERS ?= 200000
SOAK_ROUNDS ?= 20
fuzz: build
	@cd $(BUILD) && ANYHV_FUZZ_ITERS=$(FUZZ_ITERS) ctest -L fuzz --output-on-failure

soak: build
	@scripts/soak $(BUILD) $(SOAK_ROUNDS)
	@cd $(BUILD) && ANYHV_BOOT_TESTS=1 ctest -L linux-boot --output-on-failure

# Concurrency and hostile-input tests at STRESS_SCALE times their `make test` size, in
# the ASan/UBSan build (scripts/stress lists them); prints what each one ran.
STRESS_SCALE ?= 5
stress:
	@$(MAKE) build SANITIZE=1
	@scripts/stress $(BUILD)-san $(STRESS_SCALE)

# Headers, both libraries, the tools, pkg-config files and the CMake package.
PREFIX ?= /usr/local
install: build
	@cmake --install $(BUILD) --prefix $(PREFIX)

clean:
	rm -rf build build-san build-tsan
