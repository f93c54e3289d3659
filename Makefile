# ingestd — set-up, run, test, bench. `make run` and `make test` are the two commands in README.md.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DATA ?= var
SYSTEM_PACKAGES := ffmpeg mediainfo libmediainfo0v5 fonts-noto-cjk umockdev \
  libpango-1.0-0 libpangoft2-1.0-0 poppler-utils xorriso genisoimage chromium strace faketime postgresql-15

.PHONY: run test bench soak system-deps venv install clean deb deb-deps package-test
PREFIX ?= /opt/venvs/ingestd

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

# From a checkout onto a Debian host, without the package (`make deb` is the way for a dock):
# a dedicated user, the code in $(PREFIX), data in /var/lib/ingestd, the hardened unit. As root.
install: system-deps
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq udisks2 polkitd
	id ingestd >/dev/null 2>&1 || useradd --system --home-dir /var/lib/ingestd --shell /usr/sbin/nologin ingestd
	$(PYTHON) -m venv $(PREFIX)
	$(PREFIX)/bin/pip install -q .
	install -d -o ingestd -g ingestd -m 0750 /var/lib/ingestd
	install -d /etc/ingestd && [ -e /etc/ingestd/ingestd.toml ] || install -m 0644 debian/ingestd.toml /etc/ingestd/
	runuser -u ingestd -- env INGESTD_DATA_DIR=/var/lib/ingestd INGESTD_CONFIG=/etc/ingestd/ingestd.toml \
	  $(PREFIX)/bin/ingestd init
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

# The docking station's packages: ingestd (the project and its Python dependencies in
# /opt/venvs/ingestd, by dh-virtualenv) and ingestd-kiosk (the dock screen), into dist/.
# The version is pyproject.toml's unless VERSION=… is given.
DEB_PACKAGES := debhelper dh-virtualenv python3-venv python3-dev fakeroot lintian build-essential mmdebstrap
VERSION ?= $(shell sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml)

deb-deps:
	@missing=""; for p in $(DEB_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi

deb: deb-deps
	mkdir -p dist
	printf 'ingestd (%s) bookworm; urgency=medium\n\n  * Built from %s.\n\n -- ingestd maintainers <ingestd@users.noreply.github.com>  %s\n' \
	  "$(VERSION)" "$$(git describe --always --dirty 2>/dev/null || echo a source tree)" "$$(date -R)" > debian/changelog
	dpkg-buildpackage -us -uc -b --buildinfo-option=-u$(CURDIR)/dist --changes-option=-u$(CURDIR)/dist \
	  --buildinfo-option=-O$(CURDIR)/dist/ingestd_$(VERSION)_amd64.buildinfo \
	  --changes-option=-O$(CURDIR)/dist/ingestd_$(VERSION)_amd64.changes
	lintian --fail-on error dist/ingestd_$(VERSION)_amd64.deb \
	  dist/ingestd-kiosk_$(VERSION)_all.deb

# Both packages in a clean bookworm root: install, dock, upgrade, remove, purge (tests/package/run).
package-test: deb
	bash tests/package/run

clean:
	rm -rf $(VENV) .pytest_cache dist debian/changelog debian/.debhelper debian/ingestd debian/ingestd-kiosk \
	  debian/files debian/*.substvars debian/*.debhelper.log debian/debhelper-build-stamp
