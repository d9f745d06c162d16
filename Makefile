# profkit: every target bootstraps the virtual environment it needs.
# `make help` lists them.

PYTHON ?= python3
VENV ?= .venv
VPY := $(VENV)/bin/python
PYVERSIONS ?= 3.9 3.10 3.11 3.12 3.13
export PIP_DISABLE_PIP_VERSION_CHECK = 1

.PHONY: help demo test test-all test-asan test-valgrind bench lint clean chromium

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 16

$(VENV)/.ready: pyproject.toml setup.py $(wildcard src/*.c src/*.h)
	$(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install -q --upgrade pip setuptools wheel
	PROFKIT_WERROR=1 $(VPY) -m pip install -q -e '.[test,examples,plot]'
	touch $@

demo: $(VENV)/.ready chromium  ## set up .venv and walk through the tutorial on examples/
	@PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VPY) docs/demo.py

chromium:  ## install a headless chromium for the HTML reports' browser tests, if possible
	@sh .ci/chromium.sh

test: $(VENV)/.ready chromium  ## set up .venv and run the whole suite
	$(VENV)/bin/pytest -q

test-all: chromium  ## run the suite on every CPython 3.9-3.13 that pyenv has
	@PYTHONS="$(PYVERSIONS)" sh .ci/test-all.sh

test-asan: chromium  ## run the suite against an AddressSanitizer + UBSan build
	@sh .ci/test-asan.sh

test-valgrind: $(VENV)/.ready  ## run the engine tests under valgrind memcheck
	@sh .ci/test-valgrind.sh

.PHONY: fuzz
fuzz: $(VENV)/.ready  ## feed every reader 3000 damaged files per format (PROFKIT_FUZZ_COUNT, _SEED)
	PROFKIT_FUZZ_COUNT=$${PROFKIT_FUZZ_COUNT:-3000} $(VENV)/bin/pytest -q tests/test_fuzz_readers.py

bench: $(VENV)/.ready  ## measure overheads against cProfile; writes bench/RESULTS.md (BENCH_ONLY=fib: fib sizes only, appended)
	@PYTHONS="$(PYVERSIONS)" sh bench/bench-all.sh

clean:  ## remove build output and virtual environments
	rm -rf build dist *.egg-info profkit/*.so .venv .venv-* .pytest_cache
