# ublog: build everything with `make`, test everything with `make check`.
#
# Stages write under dist/: dist/python (sdists + wheels), dist/wheelhouse
# (pinned dependency wheels), dist/deb (the ublog .debs of Debian 12 and 13),
# dist/rpm (the .rpm).

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := all

PACKAGES := ublog-posts ublog-accounts ublog-site
# The tool venv runs on CPython 3.11 (the Python of Debian 12, and of the .deb).
PYTHON ?= python3.11
CACHE_DIR ?= $(HOME)/.cache/ublog
PYENV_ROOT ?= $(shell pyenv root 2>/dev/null || echo $(HOME)/.pyenv)

# Reproducible builds: every timestamp comes from the last commit.
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 1767225600)
export SOURCE_DATE_EPOCH
# Hermetic pip: ignore /etc/pip.conf and /etc/xdg/pip.
export PIP_CONFIG_FILE := /dev/null
export PIP_CACHE_DIR := $(CACHE_DIR)/pip
export UV_CACHE_DIR := $(CACHE_DIR)/uv
export UV_PYTHON_DOWNLOADS := never
export CACHE_DIR
# The tool venv first, then every pyenv Python tox needs (3.10 to 3.13).
PYENV_BINS := $(wildcard $(PYENV_ROOT)/versions/3.1[0-3].*/bin)
export PATH := $(CURDIR)/.venv/bin:$(subst $() $(),:,$(PYENV_BINS)):$(PATH)

VENV := .venv
TOOLS_STAMP := $(VENV)/.tools-stamp
DEPS_STAMP := $(CACHE_DIR)/.system-deps-stamp

.PHONY: all python deb rpm rpm-test repo app-debs bench check tox lint packaging install-test run clean distclean deps

all: python deb rpm

# System packages a fresh Debian lacks (apt-get, only when something is missing).
deps: $(DEPS_STAMP)
$(DEPS_STAMP): scripts/install-deps
	scripts/install-deps
	mkdir -p $(@D) && touch $@

$(TOOLS_STAMP): requirements/tools.txt | $(DEPS_STAMP)
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet -r requirements/tools.txt
	touch $@

# sdist + wheel of each package, byte-reproducible (hatchling + SOURCE_DATE_EPOCH).
# Rebuilt when a package's files change.
PACKAGE_FILES := $(shell find $(addprefix packages/,$(PACKAGES)) -type f \
	-not -path '*/__pycache__/*' -not -path '*/dist/*' -not -name '*.pyc' \
	-not -name '.coverage*' 2>/dev/null)
# The stamp names the epoch: a new commit rebuilds with its own timestamp.
PYTHON_STAMP := dist/python/.built-$(SOURCE_DATE_EPOCH)
python: $(PYTHON_STAMP)
$(PYTHON_STAMP): $(TOOLS_STAMP) $(PACKAGE_FILES)
	rm -rf dist/python && mkdir -p dist/python
	for p in $(PACKAGES); do \
		python -m build --quiet --installer uv --outdir dist/python packages/$$p; \
	done
	cd dist/python && sha256sum *.whl *.tar.gz > SHA256SUMS
	touch $@

# The .debs: one per Debian release (12 bookworm, 13 trixie), each built with
# pbuilder in a clean chroot of its release (dh-virtualenv venv from
# dist/python + that release's wheelhouse, no network during the build).
DEB_STAMP := dist/deb/.built
deb: $(DEB_STAMP)
$(DEB_STAMP): $(PYTHON_STAMP) requirements/deb.txt $(wildcard debian/* debian/*/*) \
		scripts/build-release-debs scripts/wheelhouse scripts/deb-requirements
	rm -f dist/deb/ublog_*.deb
	scripts/build-release-debs
	touch $@

# The .rpm: the same wheels in a venv under /opt, built with rpmbuild, offline.
RPM_STAMP := dist/rpm/.built
rpm: $(RPM_STAMP)
$(RPM_STAMP): $(PYTHON_STAMP) requirements/deb.txt scripts/build-rpm $(wildcard rpm/*) \
		debian/ublog.service debian/ublog.socket debian/gunicorn.conf.py debian/ublog-ctl.8 \
		debian/ublog.ublog-mailer.service debian/ublog.ublog-cleanup.service \
		debian/ublog.ublog-cleanup.timer
	scripts/wheelhouse >/dev/null
	scripts/build-rpm
	touch $@

# dist/repo: offline apt (signed) + PEP 503 + RPM repository (scripts/make-repo).
REPO_STAMP := dist/.repo-built
repo: $(REPO_STAMP)
$(REPO_STAMP): $(DEB_STAMP) $(RPM_STAMP) $(PYTHON_STAMP) requirements/repo.txt \
		scripts/make-repo scripts/make_repo_pylist.py
	scripts/make-repo
	touch $@

# python3-ublog-posts / python3-ublog-accounts: the apps the Debian way
# (dh + pybuild, pyproject plugin), built in a Debian 13 chroot.
APP_DEBS_STAMP := dist/debian-apps/.built
app-debs: $(APP_DEBS_STAMP)
$(APP_DEBS_STAMP): $(PYTHON_STAMP) $(shell find packaging/debian-apps -type f)
	packaging/debian-apps/build
	touch $@

# Everything a maintainer runs before a release.
check: all repo app-debs
	scripts/check-pythons
	tox run-parallel --parallel 2 --parallel-no-spinner
	$(MAKE) rpm-test
	$(MAKE) install-test

# rpmlint, payload checks, a byte-identical rebuild, dnf install/upgrade/erase
# (its own pytest run: tests/install has a conftest of its own).
rpm-test:
	python -m pytest -v -s -p no:cacheprovider tests/rpm

# Playwright (driving Debian's chromium; it never downloads a browser) for
# the browser test, matplotlib for the benchmark chart.
BROWSER_STAMP := $(VENV)/.browser-stamp
$(BROWSER_STAMP): requirements/browser.txt $(TOOLS_STAMP)
	$(VENV)/bin/python -m pip install --quiet -r requirements/browser.txt
	touch $@

BENCH_STAMP := $(VENV)/.bench-stamp
$(BENCH_STAMP): requirements/bench.txt $(TOOLS_STAMP)
	$(VENV)/bin/python -m pip install --quiet -r requirements/bench.txt
	touch $@

# lintian, piuparts, then apt install / upgrade / remove / purge, offline
# repository and browser tests in booted systemd-nspawn roots.
install-test: $(BROWSER_STAMP)
	python -m pytest -v -s -p no:cacheprovider tests/install

# Build, size, install and serving figures -> dist/bench.md, dist/bench.png.
bench: all $(BENCH_STAMP)
	scripts/bench

tox: python
	tox run $(if $(ENV),-e $(ENV))

lint: $(TOOLS_STAMP)
	ruff format --check .
	ruff check .

packaging: python
	tox run -e packaging

# The site on its embedded default (SQLite + files under var/), at
# http://$(RUN_ADDRESS)/, with its mail sender: activation mails land in
# var/mail/. preparedb brings an existing var/ up to date with the code.
RUN_VENV := var/venv
RUN_ADDRESS ?= 127.0.0.1:8000
run: $(TOOLS_STAMP)
	test -x $(RUN_VENV)/bin/python || uv venv --quiet -p python3.11 $(RUN_VENV)
	uv pip install --quiet --python $(RUN_VENV)/bin/python \
		-e packages/ublog-posts -e packages/ublog-accounts -e packages/ublog-site
	UBLOG_DATA_DIR=$(CURDIR)/var $(RUN_VENV)/bin/ublog-ctl preparedb
	UBLOG_DATA_DIR=$(CURDIR)/var scripts/run-site $(RUN_VENV) $(RUN_ADDRESS)

clean:
	rm -rf dist build .tox packages/*/dist
	find packages tests -name __pycache__ -type d -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV) var
