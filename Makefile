# eave: the two commands are `make demo` and `make test` (see README.md).
# Every target installs missing Debian packages first (scripts/install-deps; needs root or sudo).

BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=
EAVE_CACHE ?= $(HOME)/.cache/eave
export EAVE_CACHE

CMAKE_CONFIGURE = cmake -G Ninja -S . -B $(BUILD) \
	-DCMAKE_C_COMPILER=clang-22 -DCMAKE_CXX_COMPILER=clang++-22 \
	-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache \
	-DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS)

.PHONY: all deps configure build test bench demo models clean

all: build

deps:
	@scripts/install-deps

$(BUILD)/build.ninja: | deps
	$(CMAKE_CONFIGURE)

configure: deps
	$(CMAKE_CONFIGURE)

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD) -j $(JOBS)

# Real models live in a cache outside the repo; fetching is best-effort (tests that need them
# skip with a message when the network or the exporters are unavailable).
models: build
	-@scripts/fetch-models

test: build models
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# Benchmarks are programs, not tests (never in ctest). The machine may be shared: see the
# bench's header for how it measures.
bench: build
	$(BUILD)/bin/gemm_bench $(BENCH_ARGS)

demo: build
	$(BUILD)/bin/eave run-reference examples/models/tiny_cnn.onnx \
		--input input=examples/models/tiny_cnn_input.npy --output-dir $(BUILD)/demo-out

clean:
	rm -rf $(BUILD)
