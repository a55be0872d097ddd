# eave: the two commands are `make demo` and `make test` (see README.md).
# Every target installs missing Debian packages first (scripts/install-deps; needs root or sudo).

BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=
EAVE_CACHE ?= $(HOME)/.cache/eave
export EAVE_CACHE
# ccache hits across clones in different folders (CI builds a fresh clone each time).
export CCACHE_BASEDIR ?= $(CURDIR)
export CCACHE_NOHASHDIR ?= 1

CMAKE_CONFIGURE = cmake -G Ninja -S . -B $(BUILD) \
	-DCMAKE_C_COMPILER=clang-22 -DCMAKE_CXX_COMPILER=clang++-22 \
	-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache \
	-DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS)

.PHONY: all deps configure build test test-sanitize bench stress cross demo models fuzz clean

all: build

deps:
	@scripts/install-deps

$(BUILD)/build.ninja: | deps
	$(CMAKE_CONFIGURE)

configure: deps
	$(CMAKE_CONFIGURE)

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD) -j $(JOBS)

# Real models and ONNX Runtime live in $(EAVE_CACHE) (models/, npm/), never in the repo;
# scripts/fetch-models is idempotent (about a second when all is cached) and best-effort: what it
# cannot fetch, the tests in tests/real_models skip with the reason.
models: deps
	-@scripts/fetch-models

test: build models
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# Benchmarks (programs, not tests): GEMM against OpenBLAS, then the real models against ONNX
# Runtime and PyTorch (BENCH_MODELS_ARGS, e.g. --models resnet18 --runs 50).
bench: build models
	$(BUILD)/bin/gemm_bench $(BENCH_ARGS)
	/usr/bin/python3 bench/models_bench.py --build $(BUILD) --markdown $(BUILD)/bench-models.md $(BENCH_MODELS_ARGS)

demo: build
	@mkdir -p $(BUILD)/demo
	$(BUILD)/bin/eave compile examples/models/tiny_cnn.onnx -o $(BUILD)/demo/tiny_cnn.eave
	$(BUILD)/bin/eave run $(BUILD)/demo/tiny_cnn.eave --input input=examples/models/tiny_cnn_input.npy \
		--output-dir $(BUILD)/demo --reference examples/models/tiny_cnn.onnx
	$(BUILD)/bin/eave bench $(BUILD)/demo/tiny_cnn.eave --runs 200

# The runtime stress test at full length: 8 threads x 1000 runs of the MLP and of resnet18
# (ctest runs resnet18 20 times per thread).
stress: build models
	$(BUILD)/bin/runtime_stress --runs 1000 --model-runs 1000

# ASan + UBSan build (build-asan) running the unit tests, the conformance suites on both
# backends, the runtime tests and examples, and the stress test (not the tests labelled
# no-sanitize: Python extension modules, the runtime's size). EAVE_SANITIZE_TARGETS narrows
# what is built (ninja targets; all when empty) and EAVE_SANITIZE_TESTS what runs (a ctest -R
# regex). CI runs the runtime part (.ci/run): the C runtime is what meets hostile files.
EAVE_SANITIZE_TARGETS ?=
EAVE_SANITIZE_TESTS ?= .
test-sanitize: deps models
	cmake -G Ninja -S . -B build-asan -DCMAKE_C_COMPILER=clang-22 -DCMAKE_CXX_COMPILER=clang++-22 \
		-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache \
		-DCMAKE_BUILD_TYPE=RelWithDebInfo -DEAVE_SANITIZE=ON
	ninja -C build-asan -j $(JOBS) $(EAVE_SANITIZE_TARGETS)
	cd build-asan && ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:allocator_may_return_null=1 \
		UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		ctest --output-on-failure -j $(JOBS) -LE 'slow|no-sanitize' -R '$(EAVE_SANITIZE_TESTS)'

# The runtime-only runner for each cross target: build/cross/<arch>/eave-run.
cross: build
	scripts/build-cross $(BUILD)

# libFuzzer targets with ASan+UBSan in their own build folder, each run for FUZZ_SECONDS.
FUZZ_SECONDS ?= 60
fuzz: build
	cmake -G Ninja -S . -B build-fuzz -DCMAKE_C_COMPILER=clang-22 -DCMAKE_CXX_COMPILER=clang++-22 \
		-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache \
		-DCMAKE_BUILD_TYPE=RelWithDebInfo -DEAVE_FUZZ=ON -DEAVE_TESTS=OFF
	ninja -C build-fuzz -j $(JOBS) import_fuzzer npy_fuzzer artifact_fuzzer
	scripts/run-fuzzers $(FUZZ_SECONDS)

clean:
	rm -rf $(BUILD)
