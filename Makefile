# Loom: `make demo` trains the default model on a bundled dataset; `make test` runs the tests.
# Both install the system libraries first when pkg-config cannot find them (Debian, as root).

SWIFT ?= swift
APT_PACKAGES = libopenblas-dev libhdf5-dev zlib1g-dev pkg-config

# Release builds are tuned to this machine's CPU, as -march=native would: Swift's default
# target is baseline x86-64 (SSE2), which leaves the LSTM cell's vector math at 4 lanes.
# Measured on the 2-core AVX-512 machine: the vanilla model trains 1.55x faster, LSTM(128) 1.06x.
CPU_FLAGS := $(shell grep -m1 '^flags' /proc/cpuinfo 2>/dev/null)
ifneq ($(and $(findstring avx512f,$(CPU_FLAGS)),$(findstring avx512bw,$(CPU_FLAGS)),$(findstring avx512vl,$(CPU_FLAGS))),)
SWIFT_TARGET_CPU ?= skylake-avx512
else ifneq ($(and $(findstring avx2,$(CPU_FLAGS)),$(findstring fma,$(CPU_FLAGS))),)
SWIFT_TARGET_CPU ?= haswell
endif
# On AVX-512, the layers' untransposed products use Loom's own 16-lane kernel (WideGemm).
RELEASE_FLAGS := -c release $(if $(SWIFT_TARGET_CPU),-Xswiftc -target-cpu -Xswiftc $(SWIFT_TARGET_CPU)) \
	$(if $(filter skylake-avx512,$(SWIFT_TARGET_CPU)),-Xswiftc -DLOOM_WIDE_GEMM)
export RELEASE_FLAGS

.PHONY: deps build release test tsan demo bench compare clean

deps:
	@if ! pkg-config --exists openblas hdf5 zlib 2>/dev/null; then \
		echo "Installing $(APT_PACKAGES)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(APT_PACKAGES); \
	fi

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build $(RELEASE_FLAGS)

# Then the kernels' routes and the tests that run through them again with WideGemm on (as in
# release builds; its own build folder), on any x86-64: the kernel is plain SIMD code.
test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --disable-swift-testing
	$(SWIFT) build --build-tests -Xswiftc -DLOOM_WIDE_GEMM --scratch-path .build-wide
	$(SWIFT) test --skip-build -Xswiftc -DLOOM_WIDE_GEMM --scratch-path .build-wide --disable-swift-testing \
		--filter 'WideGemmTests|SmallGemmTests|GradientCheckTests|KerasParityTests|ArchitectureTests|ParallelTests'

# The data-parallel tests under Thread Sanitizer (its own build folder: every target is
# rebuilt instrumented).
tsan: deps
	$(SWIFT) build --build-tests --sanitize=thread --scratch-path .build-tsan
	$(SWIFT) test --skip-build --sanitize=thread --scratch-path .build-tsan --disable-swift-testing --filter 'ParallelTests|HDF5DatasetTests'

demo: deps
	$(SWIFT) build $(RELEASE_FLAGS) --product loom
	.build/release/loom train

# Single-thread training throughput of the issue's reference models (release build).
bench: deps
	bash Benchmarks/build.sh loom-throughput
	for model in vanilla lstm128 stacked seq2seq bidirectional cnnlstm stateful; do \
		Benchmarks/.build/release/loom-throughput $$model; \
	done

# Loom side by side with Keras and PyTorch; creates its own virtual environment.
compare: deps
	bash Benchmarks/compare/run.sh

clean:
	rm -rf .build
