# Two commands for a fresh machine: `make run` and `make test`. Everything they need is installed here.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
STATE ?= LU
PEER ?= BE

.PHONY: run test lint unit proof system-packages browser-packages axe-core clean-data translations

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Reinstall only when the project's dependencies change.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# PDFs are set in DejaVu Sans; SoftHSM is the PKCS#11 token of the seal test.
# Installed where the machine lacks them.
system-packages:
	@if [ ! -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ]; then \
		echo "installing DejaVu fonts"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			fonts-dejavu-core fonts-dejavu-extra >/dev/null; \
	fi
	@# SoftHSM stands in for the HSM of a qualified seal in tests/adapters/test_seal_pkcs11.py.
	@if [ ! -x /usr/bin/softhsm2-util ]; then \
		echo "installing SoftHSM for the PKCS#11 seal test"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq softhsm2 >/dev/null; \
	fi

# Browser tests drive Debian's Chromium; Playwright cannot download its own browser here.
browser-packages:
	@if [ ! -x /usr/bin/chromium ]; then \
		echo "installing Debian's chromium for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	fi

# axe-core checks each page's accessibility in the browser tests (tests/browser/axe.py); from the npm registry,
# into a folder git ignores. Without it those checks are skipped with a message.
AXE := test-tools/node_modules/axe-core/axe.min.js
axe-core:
	@if [ ! -f $(AXE) ]; then \
		echo "installing axe-core for the browser tests' accessibility checks"; \
		mkdir -p test-tools && npm install --silent --no-audit --no-fund --prefix test-tools axe-core@4.10 >/dev/null; \
	fi

run: system-packages $(STAMP)
	$(BIN)/probatio dev --state $(STATE) --peer $(PEER)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy probatio forms intake workflows activities adapters store web bench

test: system-packages browser-packages axe-core $(STAMP) lint
	$(BIN)/pytest -q -p no:cacheprovider

# Fault injection (kill -9 the worker, restart Temporal, stop PostgreSQL 30 s, a peer down for a day):
# about six minutes, so kept out of `make test`.
proof: system-packages $(STAMP)
	PROBATIO_PROOF=1 $(BIN)/pytest -q -p no:cacheprovider tests/faults

unit: $(STAMP)
	$(BIN)/pytest -q -m "not integration and not browser"

clean-data:
	rm -rf .probatio

# Page translations (web/locale, README "Translations"): extract every marked message of the templates and
# the page modules, and bring each language's messages.po up to date (new messages empty, gone ones
# dropped); then translate the empty msgstr entries. A new language: `make translations LANG_NEW=nl`.
translations: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k N_ -k _error:2 -k _warning:2 -k wording \
		--no-location --sort-output --omit-header -o web/locale/messages.pot .
	@if [ -n "$(LANG_NEW)" ]; then $(BIN)/pybabel init -i web/locale/messages.pot -d web/locale -l $(LANG_NEW); fi
	$(BIN)/pybabel update -i web/locale/messages.pot -d web/locale --no-fuzzy-matching --ignore-obsolete \
		--ignore-pot-creation-date
