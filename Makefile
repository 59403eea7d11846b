# anyhv: the two commands a new machine needs (`make run`, `make test`) and the
# rest. Every target installs missing Debian packages first.
BUILD ?= build
SANITIZE ?= 0
JOBS ?= $(shell nproc)
ifeq ($(SANITIZE),1)
BUILD := $(BUILD)-san
CMAKE_FLAGS += -DANYHV_SANITIZE=ON
endif

.PHONY: all deps configure build run test bench fuzz soak clean

all: build

deps:
	@scripts/install-deps

configure: deps
	@cmake -S . -B $(BUILD) $(CMAKE_FLAGS) >/dev/null

build: configure
	@cmake --build $(BUILD) -j $(JOBS)

# Until the demo VMM lands: what the library can do here, for both flavours.
run: build
	@$(BUILD)/tools/anyhv-info-x86_64
	@$(BUILD)/tools/anyhv-info-arm64

test: build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

bench: build
	@echo "bench: no benchmarks yet (bench/ arrives with the running routes)"

clean:
	rm -rf build build-san
