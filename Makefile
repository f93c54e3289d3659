# ingestd — set-up, run, test, bench. `make run` and `make test` are the two commands in README.md.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DATA ?= var
SYSTEM_PACKAGES := ffmpeg mediainfo libmediainfo0v5 fonts-noto-cjk

.PHONY: run test bench system-deps venv demo clean

# System packages from Debian; apt-get update runs once, and only when something is missing.
system-deps:
	@missing=""; for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/activate
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $@

venv: $(VENV)/.installed

# Until the daemon lands: initialise the embedded default (SQLite, data under ./var),
# make a small demo camera dump with ffmpeg, ingest it, and show the result.
run: system-deps venv
	$(BIN)/ingestd init
	$(BIN)/python -m ingestd.demo $(DATA)/demo-camera
	$(BIN)/ingestd ingest $(DATA)/demo-camera --device DEMO-CAM-01
	$(BIN)/ingestd recordings list
	$(BIN)/ingestd verify
	$(BIN)/ingestd audit verify

test: system-deps venv
	$(BIN)/pytest -q

bench: system-deps venv
	$(BIN)/python bench/bench_ingest.py
	$(BIN)/python bench/bench_compliance.py

clean:
	rm -rf $(VENV) .pytest_cache
