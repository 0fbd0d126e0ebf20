# Loom: `make demo` trains the default model on a bundled dataset; `make test` runs the tests.
# Both install the system libraries first when pkg-config cannot find them (Debian, as root).

SWIFT ?= swift
APT_PACKAGES = libopenblas-dev libhdf5-dev pkg-config

.PHONY: deps build release test demo bench compare clean

deps:
	@if ! pkg-config --exists openblas hdf5 2>/dev/null; then \
		echo "Installing $(APT_PACKAGES)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(APT_PACKAGES); \
	fi

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

demo: deps
	$(SWIFT) build -c release --product loom-demo
	.build/release/loom-demo

# Single-thread training throughput of the issue's reference models (release build).
bench: deps
	$(SWIFT) build -c release --product loom-throughput
	.build/release/loom-throughput vanilla
	.build/release/loom-throughput lstm128

# Loom side by side with Keras and PyTorch; creates its own virtual environment.
compare: deps
	bash Benchmarks/compare/run.sh

clean:
	rm -rf .build
