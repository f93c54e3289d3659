# ingestd — set-up, run, test, bench. `make run` and `make test` are the two commands in README.md.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DATA ?= var
SYSTEM_PACKAGES := ffmpeg mediainfo libmediainfo0v5 fonts-noto-cjk umockdev \
  libpango-1.0-0 libpangoft2-1.0-0 poppler-utils xorriso genisoimage chromium strace faketime postgresql-15

.PHONY: run test bench soak system-deps venv install clean
PREFIX ?= /opt/ingestd

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

# The embedded default (SQLite, data under ./var): initialise, put a small demo camera
# dump (made with ffmpeg) in the inbox, and run the daemon, which ingests it. Ctrl-C stops.
run: system-deps venv
	$(BIN)/ingestd init
	$(BIN)/python -m ingestd.demo $(DATA)/inbox/DEMO-CAM-01
	$(BIN)/python -m ingestd run

# On a Debian host: a dedicated user, the code in $(PREFIX), data in /var/lib/ingestd,
# the hardened unit. Run as root.
install: system-deps
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq udisks2 polkitd
	id ingestd >/dev/null 2>&1 || useradd --system --home-dir /var/lib/ingestd --shell /usr/sbin/nologin ingestd
	$(PYTHON) -m venv $(PREFIX)/venv
	$(PREFIX)/venv/bin/pip install -q .
	install -d -o ingestd -g ingestd -m 0750 /var/lib/ingestd
	runuser -u ingestd -- env INGESTD_DATA_DIR=/var/lib/ingestd $(PREFIX)/venv/bin/ingestd init
	install -m 0644 systemd/ingestd.service /etc/systemd/system/ingestd.service
	install -m 0644 systemd/70-ingestd-camera.rules /etc/udev/rules.d/70-ingestd-camera.rules
	install -d /etc/polkit-1/rules.d && install -m 0644 systemd/50-ingestd-udisks.rules /etc/polkit-1/rules.d/50-ingestd-udisks.rules
	udevadm control --reload
	install -d /usr/share/doc/ingestd && install -m 0644 README.md /usr/share/doc/ingestd/README.md
	systemctl daemon-reload
	systemctl enable --now ingestd.service

# Two workers: most tests wait on processes, sockets and quiet periods more than they use
# a core (one worker took twice as long). The longer proofs are `make soak`'s.
test: system-deps venv
	$(BIN)/ruff check ingestd tests bench migrations
	$(BIN)/pytest -q -n 2 --dist loadgroup -m 'not soak' --durations=15

# The long reliability proofs (a table of scenarios; every failure count must be 0).
soak: system-deps venv
	$(BIN)/pytest -q -m soak
	$(BIN)/python -m tests.soak

bench: system-deps venv
	$(BIN)/python bench/bench_dock.py
	$(BIN)/python bench/bench_compliance.py
	$(BIN)/python bench/bench_media.py
	$(BIN)/python bench/bench_recovery.py
	$(BIN)/python bench/bench_archive.py
	$(BIN)/python bench/bench_web.py
	BENCH_DATABASE=postgres $(BIN)/python bench/bench_web.py
	$(BIN)/python bench/bench_county.py

clean:
	rm -rf $(VENV) .pytest_cache
