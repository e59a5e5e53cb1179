# ublog: build everything with `make`, test everything with `make check`.
#
# Every step is a command of tools/ublog-build (the pipeline's one package,
# tools/ublog_build/), and every release fact comes from its release table
# (tools/ublog_build/releases.py). Stages write under dist/: dist/python
# (sdists + wheels), dist/wheelhouse (pinned dependency wheels), dist/deb (the
# ublog .deb of each Debian release), dist/rpm (the .rpm).

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := all

BUILD := tools/ublog-build
# The tool venv runs on the Python of the build host's release (tox's lint
# and packaging environments too: UBLOG_TOOL_PYTHON).
ifndef PYTHON
PYTHON := python$(shell $(BUILD) releases --field python --release host)
endif
export UBLOG_TOOL_PYTHON := $(PYTHON)
CACHE_DIR ?= $(HOME)/.cache/ublog
PYENV_ROOT ?= $(shell pyenv root 2>/dev/null || echo $(HOME)/.pyenv)

# Reproducible builds: every timestamp comes from the last commit.
ifndef SOURCE_DATE_EPOCH
SOURCE_DATE_EPOCH := $(shell $(BUILD) epoch)
endif
export SOURCE_DATE_EPOCH
# Hermetic pip: ignore /etc/pip.conf and /etc/xdg/pip.
export PIP_CONFIG_FILE := /dev/null
export PIP_CACHE_DIR := $(CACHE_DIR)/pip
export UV_CACHE_DIR := $(CACHE_DIR)/uv
export UV_PYTHON_DOWNLOADS := never
export CACHE_DIR
# The tool venv first, then every pyenv Python the tox matrix needs.
SUPPORTED_PYTHONS := $(shell $(BUILD) releases --field supported-pythons)
PYENV_BINS := $(foreach v,$(SUPPORTED_PYTHONS),$(wildcard $(PYENV_ROOT)/versions/$(v).*/bin))
export PATH := $(CURDIR)/.venv/bin:$(subst $() $(),:,$(PYENV_BINS)):$(PATH)

# What each stage reads of the pipeline itself: editing it rebuilds the stage.
T := tools/ublog_build
TOOL_CORE := $(BUILD) $(addprefix $(T)/,__init__.py cli.py errors.py paths.py releases.py run.py)
PYTHON_TOOL := $(TOOL_CORE) $(T)/dists.py $(T)/wheels.py
DEB_TOOL := $(TOOL_CORE) $(addprefix $(T)/,changelog.py chroot.py control.py deb.py wheels.py)
RPM_TOOL := $(TOOL_CORE) $(T)/rpm.py $(T)/wheels.py
REPO_TOOL := $(TOOL_CORE) $(addprefix $(T)/,chroot.py deb.py pylist.py repo.py wheels.py)
APP_DEBS_TOOL := $(TOOL_CORE) $(addprefix $(T)/,app_debs.py chroot.py control.py)
# The files of a directory a build may use: tracked, or untracked and not ignored.
source_files = $(wildcard $(shell git ls-files -co --exclude-standard $(1) 2>/dev/null \
	|| find $(1) -type f))
SHARED_FILES := $(call source_files,packaging/shared)
DEBIAN_FILES := $(call source_files,debian)

VENV := .venv
TOOLS_STAMP := $(VENV)/.tools-stamp
DEPS_STAMP := $(CACHE_DIR)/.system-deps-stamp

.PHONY: all python deb rpm rpm-test repo upgrade-closure app-debs bench check tox lint packaging install-test run clean distclean deps

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
PACKAGE_FILES := $(shell find packages -type f \
	-not -path '*/__pycache__/*' -not -path '*/dist/*' -not -name '*.pyc' \
	-not -name '.coverage*' 2>/dev/null)
# The stamp names the epoch: a new commit rebuilds with its own timestamp.
PYTHON_STAMP := dist/python/.built-$(SOURCE_DATE_EPOCH)
python: $(PYTHON_STAMP)
$(PYTHON_STAMP): $(TOOLS_STAMP) $(PACKAGE_FILES) $(PYTHON_TOOL)
	$(BUILD) python >/dev/null
	touch $@

# The .debs: one per Debian release of the table, each built with pbuilder
# in a clean chroot of its release (dh-virtualenv venv from dist/python +
# that release's wheelhouse, no network during the build).
DEB_STAMP := dist/deb/.built
deb: $(DEB_STAMP)
$(DEB_STAMP): $(PYTHON_STAMP) requirements/deb.txt requirements/build.txt $(DEBIAN_FILES) $(SHARED_FILES) \
		$(DEB_TOOL)
	$(BUILD) deb >/dev/null
	touch $@

# The .rpm: the same wheels in a venv under /opt, built with rpmbuild, offline.
RPM_STAMP := dist/rpm/.built
rpm: $(RPM_STAMP)
$(RPM_STAMP): $(PYTHON_STAMP) requirements/deb.txt requirements/build.txt $(call source_files,rpm) \
		$(SHARED_FILES) $(RPM_TOOL)
	$(BUILD) rpm >/dev/null
	touch $@

# dist/repo: offline apt (signed) + PEP 503 + RPM repository.
REPO_STAMP := dist/.repo-built
repo: $(REPO_STAMP)
$(REPO_STAMP): $(DEB_STAMP) $(RPM_STAMP) $(PYTHON_STAMP) requirements/repo.txt \
		$(REPO_TOOL)
	$(BUILD) repo >/dev/null
	touch $@

# The Debian 13 packages a Debian 12 host with ublog upgrades from (the
# release-upgrade test's local mirror), cached under CACHE_DIR.
UPGRADE_STAMP := dist/.upgrade-closure
upgrade-closure: $(UPGRADE_STAMP)
$(UPGRADE_STAMP): $(DEB_STAMP) $(TOOL_CORE) $(T)/upgrade_closure.py $(T)/base_root.py
	$(BUILD) upgrade-closure >/dev/null
	touch $@

# python3-ublog-posts / python3-ublog-accounts: the apps the Debian way
# (dh + pybuild, pyproject plugin), built in a chroot of the first release
# whose python3-django they accept.
APP_DEBS_STAMP := dist/debian-apps/.built
app-debs: $(APP_DEBS_STAMP)
$(APP_DEBS_STAMP): $(PYTHON_STAMP) $(call source_files,packaging/debian-apps) \
		$(APP_DEBS_TOOL)
	$(BUILD) app-debs >/dev/null
	touch $@

# Everything a maintainer runs before a release.
check: all repo app-debs upgrade-closure
	$(BUILD) check-pythons
	tox run-parallel --parallel 2 --parallel-no-spinner
	$(MAKE) rpm-test
	$(MAKE) install-test

# rpmlint, payload checks, a byte-identical rebuild, dnf install/upgrade/erase
# (a pytest run of its own).
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
	$(BUILD) bench

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
	test -x $(RUN_VENV)/bin/python || uv venv --quiet -p $(PYTHON) $(RUN_VENV)
	uv pip install --quiet --python $(RUN_VENV)/bin/python \
		-e packages/ublog-posts -e packages/ublog-accounts -e packages/ublog-site
	UBLOG_DATA_DIR=$(CURDIR)/var $(RUN_VENV)/bin/ublog-ctl preparedb
	UBLOG_DATA_DIR=$(CURDIR)/var scripts/run-site $(RUN_VENV) $(RUN_ADDRESS)

clean:
	rm -rf dist build .tox packages/*/dist
	find packages tests -name __pycache__ -type d -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV) var
