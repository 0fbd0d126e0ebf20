# Loom: `make demo` trains the default model on a bundled dataset; `make test` runs the tests.
# Both install the system libraries first when pkg-config cannot find them (Debian, as root).

SWIFT ?= swift
APT_PACKAGES = libopenblas-dev libhdf5-dev zlib1g-dev pkg-config libopenmpi-dev openmpi-bin

# Release builds are plain `-c release`: Loom's kernels choose the CPU's instruction set when
# the process starts (see `Kernels`), so a build runs at full width on the machine it runs on
# and still runs on any other x86-64. RELEASE_FLAGS takes the flags of every release build.
RELEASE_FLAGS ?= -c release
export RELEASE_FLAGS

# The kernel levels this CPU has (LOOM_KERNEL_LEVEL caps the level; the tests run at each).
CPU_FLAGS := $(shell grep -m1 '^flags' /proc/cpuinfo 2>/dev/null)
KERNEL_LEVELS := baseline \
	$(if $(and $(findstring avx2,$(CPU_FLAGS)),$(findstring fma,$(CPU_FLAGS))),avx2) \
	$(if $(and $(findstring avx512f,$(CPU_FLAGS)),$(findstring avx512dq,$(CPU_FLAGS)),$(findstring avx512bw,$(CPU_FLAGS)),$(findstring avx512vl,$(CPU_FLAGS))),avx512)

.PHONY: deps build release test dependent tsan asan fuzz fuzz-build fuzz-replay format lint demo bench compare clean

deps:
	@if ! pkg-config --exists openblas hdf5 zlib ompi-c 2>/dev/null || ! command -v mpirun >/dev/null; then \
		echo "Installing $(APT_PACKAGES)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(APT_PACKAGES); \
	fi

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build $(RELEASE_FLAGS)

# Every test at every kernel level this CPU has, highest first.
test: deps
	$(SWIFT) build --build-tests
	set -e; for level in avx512 avx2 baseline; do \
		case " $(KERNEL_LEVELS) " in *" $$level "*) \
			echo "== tests at kernel level $$level"; \
			LOOM_KERNEL_LEVEL=$$level $(SWIFT) test --skip-build --disable-swift-testing;; \
		esac; \
	done

# Loom as a SwiftPM dependency, built as users build it: the Benchmarks package depends on
# Loom by path; a plain `swift build -c release` builds every benchmark product, its runner
# trains the vanilla model, the HDF5 bench streams a small generated file, and the runner's
# binary must hold no call to libm's software fma (`objdump -d | grep 'call.*fma'`).
dependent: deps
	SCRATCH=.build-dependent RELEASE_FLAGS="-c release" bash Benchmarks/build.sh loom-throughput loom-hdf5-bench LoomBenchmarks
	Benchmarks/.build-dependent/release/loom-throughput vanilla --rounds 1 --steps 20
	@file=$$(mktemp --suffix=.h5) && trap 'rm -f "$$file"' EXIT && \
		Benchmarks/.build-dependent/release/loom-hdf5-bench generate "$$file" --gigabytes 0.005 && \
		Benchmarks/.build-dependent/release/loom-hdf5-bench read "$$file" --rounds 1
	@calls=$$(objdump -d Benchmarks/.build-dependent/release/loom-throughput | grep -c 'call.*fma' || true); \
		echo "calls to fma in the plain release binary: $$calls"; test "$$calls" -eq 0

# The data-parallel tests under Thread Sanitizer (its own build folder: every target is
# rebuilt instrumented): the test classes TSAN_CLASSES, each checked to exist first, so that a
# renamed class fails here instead of silently leaving the filter empty.
TSAN_CLASSES = ParallelTests HDF5DatasetTests
tsan: deps
	$(SWIFT) build --build-tests --sanitize=thread --scratch-path .build-tsan
	@tests=$$($(SWIFT) test list --skip-build --sanitize=thread --scratch-path .build-tsan); \
		for class in $(TSAN_CLASSES); do \
			echo "$$tests" | grep -q "\.$$class/" || { echo "make tsan: no test class $$class"; exit 1; }; \
		done
	$(SWIFT) test --skip-build --sanitize=thread --scratch-path .build-tsan --disable-swift-testing \
		--filter "$$(echo $(TSAN_CLASSES) | tr ' ' '|')"

# The test suite under AddressSanitizer, with the C kernels also under UndefinedBehaviorSanitizer
# (trapping: Swift code checks overflow and bounds itself, and swiftc has no UBSan on Linux);
# its own build folder. LSan's suppressions name only the system libraries' own leaks. The CLI
# tests are left out: they start `loom` and `mpirun` processes (Open MPI leaks at exit by
# design, and one test limits virtual memory below ASan's shadow); the library code they
# reach runs under ASan in the other targets.
ASAN_FLAGS = --sanitize=address -Xcc -fsanitize=undefined -Xcc -fsanitize-trap=undefined --scratch-path .build-asan
asan: deps
	$(SWIFT) build --build-tests $(ASAN_FLAGS)
	LSAN_OPTIONS=suppressions=$(CURDIR)/Fuzz/lsan.supp $(SWIFT) test --skip-build $(ASAN_FLAGS) --disable-swift-testing \
		--skip LoomCLITests

# libFuzzer targets (Fuzz/, a package of its own): every module built with coverage and
# AddressSanitizer, linked with libFuzzer's runtime without its `main` (each fuzzer hands
# itself to LLVMFuzzerRunDriver). `make fuzz` runs each for FUZZ_SECONDS, new inputs going
# to Fuzz/.work, findings to Fuzz/findings; `make fuzz-replay` (CI) runs every committed
# input (Fuzz/Corpus: seeds and every crash input ever found) once.
FUZZERS = npy csv keras-config keras-archive hdf5 checkpoint
FUZZ_SECONDS ?= 600
FUZZ_RUNTIME = $(shell find "$$(dirname "$$(dirname "$$(readlink -f "$$(command -v $(SWIFT))")")")/lib/clang" \
	-name 'libclang_rt.fuzzer_no_main-x86_64.a' | head -1)
FUZZ_ENV = LSAN_OPTIONS=suppressions=$(CURDIR)/Fuzz/lsan.supp

fuzz-build: deps
	@test -n "$(FUZZ_RUNTIME)" || { echo "no libclang_rt.fuzzer_no_main in the Swift toolchain"; exit 1; }
	set -e; for f in $(FUZZERS); do \
		(cd Fuzz && $(SWIFT) build -c release --scratch-path .build-fuzz --product fuzz-$$f \
			-Xswiftc -sanitize=address -Xswiftc -sanitize-coverage=edge,inline-8bit-counters,pc-table,trace-cmp \
			-Xlinker $(FUZZ_RUNTIME) -Xlinker -lstdc++); \
	done

fuzz: fuzz-build
	set -e; for f in $(FUZZERS); do \
		mkdir -p Fuzz/.work/$$f Fuzz/findings/$$f; \
		$(FUZZ_ENV) Fuzz/.build-fuzz/release/fuzz-$$f Fuzz/.work/$$f Fuzz/Corpus/$$f -max_total_time=$(FUZZ_SECONDS) \
			-timeout=10 -rss_limit_mb=4096 -artifact_prefix=Fuzz/findings/$$f/ -print_final_stats=1; \
	done

fuzz-replay: fuzz-build
	set -e; for f in $(FUZZERS); do \
		$(FUZZ_ENV) Fuzz/.build-fuzz/release/fuzz-$$f -runs=0 -timeout=10 -rss_limit_mb=4096 Fuzz/Corpus/$$f; \
	done

# swift-format (in the toolchain) with .swift-format: `make format` rewrites, `make lint`
# fails on any finding (CI runs it).
FORMAT_PATHS = Sources Tests Benchmarks/Sources Benchmarks/Benchmarks Fuzz/Sources Package.swift Benchmarks/Package.swift \
	Fuzz/Package.swift

format:
	$(SWIFT) format --in-place --recursive $(FORMAT_PATHS)

lint:
	$(SWIFT) format lint --strict --recursive $(FORMAT_PATHS)

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

# Every build folder the targets above make.
clean:
	rm -rf .build .build-tsan .build-asan Benchmarks/.build Benchmarks/.build-dependent Fuzz/.build-fuzz
