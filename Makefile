# peacesim: two commands do all the set-up on a fresh machine.
#   make demo   create the virtual environment if needed, install, run the reference scenario
#   make test   same set-up, then the test suite
# Python 3.12 or newer is required (Mesa 3.5). PYTHON may be set to an interpreter explicitly.

VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
SEED    ?= 1
PYTEST_ARGS ?=

# The first interpreter >= 3.12 found: on PATH, or in pyenv's or the system's versions folders.
PYTHON ?= $(shell for c in python3.12 python3.13 python3.14 python3 \
	$$HOME/.pyenv/versions/3.1[2-9]*/bin/python3 /usr/local/bin/python3.1[2-9] /usr/bin/python3.1[2-9]; do \
	  if [ -x "$$(command -v $$c 2>/dev/null)" ] && "$$(command -v $$c)" -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1; then \
	    command -v $$c; break; fi; done)

.PHONY: demo test test-all bench validate validate-quick venv browser dashboard clean help

help:
	@echo "make demo   - set up and run the reference scenario (writes results/reference-seed$(SEED)/)"
	@echo "make test   - set up and run the tests (statistical tests marked slow are skipped)"
	@echo "make test-all - the tests including the slow statistical ones"
	@echo "make validate - check the nine patterns from the literature (full, a few minutes on 2 cores)"
	@echo "make bench  - speed benchmarks (benchmarks/)"
	@echo "make dashboard - the classroom dashboard on http://127.0.0.1:8765"
	@echo "make browser - install Debian's chromium for the real-browser tests (make test does it)"

venv: $(STAMP)

$(STAMP): pyproject.toml setup.py
	@if [ -z "$(PYTHON)" ]; then echo "error: Python 3.12 or newer is needed and none was found; set PYTHON=/path/to/python3.12" >&2; exit 1; fi
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/peacesim run reference --seed $(SEED) --out results/reference-seed$(SEED)
	@echo
	@echo "Timeline figure: results/reference-seed$(SEED)/timeline.png"

# The real-browser tests (tests/test_browser.py) drive Debian's chromium through Playwright's
# Python package; nothing is downloaded at run time. Installed once, as root, when missing.
browser:
	@if [ -x /usr/bin/chromium ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing Debian's chromium for the browser tests"; \
	  DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
	else echo "error: the browser tests need Debian's chromium: sudo apt-get install -y chromium chromium-driver" >&2; exit 1; fi

dashboard: $(STAMP)
	$(BIN)/peacesim dashboard

test: $(STAMP) browser
	$(BIN)/python -m pytest -m "not slow" -n 2 --dist loadfile $(PYTEST_ARGS)

test-all: $(STAMP) browser
	$(BIN)/python -m pytest -n 2 --dist loadfile $(PYTEST_ARGS)

validate: $(STAMP)
	$(BIN)/peacesim validate

validate-quick: $(STAMP)
	$(BIN)/peacesim validate --quick

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[dev,bench]"
	$(BIN)/python benchmarks/bench_model.py
	$(BIN)/python benchmarks/bench_sweep.py
	$(BIN)/python benchmarks/bench_streams.py
	$(BIN)/python benchmarks/bench_startup.py
	$(BIN)/python benchmarks/bench_dashboard.py

clean:
	rm -rf $(VENV) build *.egg-info
