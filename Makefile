# The two commands: `make run` (the local stack) and `make test` (the whole suite).
# Both install what they need into .venv first.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements*.txt constraints.txt sdk/python/pyproject.toml | cksum | cut -d' ' -f1)
OPS_LOG := $(CURDIR)/build/botocore-ops.log

.PHONY: run test bench fuzz install clean docs dist

$(STAMP): requirements.txt requirements-dev.txt requirements-deploy.txt constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt -c constraints.txt
	rm -f $(VENV)/.installed-* && touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	exec $(PY) -m local

# Separate runs: e2e and fuzz start a local stack in-process (their own AWS endpoint), and
# tests/deploy checks the IAM policy against every AWS operation the service's code made in the
# unit, functional and e2e runs (not in fuzz, whose state checks read DynamoDB from inside
# the service's calls).
test: $(STAMP)
	mkdir -p build && rm -f $(OPS_LOG)
	INFRAI_OPS_LOG=$(OPS_LOG) $(PY) -m pytest -q -n 2 tests/unit tests/functional
	INFRAI_OPS_LOG=$(OPS_LOG) $(PY) -m pytest -q -n 2 --dist worksteal tests/e2e
	# the console in headless Chromium (installs Debian's chromium when missing; screenshots in build/console)
	INFRAI_OPS_LOG=$(OPS_LOG) $(PY) -m pytest -q -s tests/browser
	cd sdk/typescript && npm ci --no-audit --no-fund && npm run build && npm test
	$(PY) -m pytest -q sdk/python/tests tests/contract
	$(PY) -m pytest -q tests/examples
	$(PY) -m pytest -q -n 2 tests/fuzz
	INFRAI_OPS_LOG=$(OPS_LOG) $(PY) -m pytest -q tests/deploy
	$(MAKE) --no-print-directory docs

# More generated cases than `make test` runs (1,000+), and the property tests with fresh random
# examples (`make test` derives them the same way every run, so CI is repeatable).
fuzz: $(STAMP)
	FUZZ_EXAMPLES=10000 $(PY) -m pytest -q -n 2 tests/fuzz
	HYPOTHESIS_PROFILE=explore $(PY) -m pytest -q -n 2 tests/unit

bench: $(STAMP)
	$(PY) -m bench

# The documentation site (mkdocs.yml): docs/ -> build/site; any warning (a broken link or
# anchor, a page the hook cannot render) fails the build.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --quiet

# The SDK packages, built and checked as the indexes would take them (docs/packages.md).
dist: $(STAMP)
	rm -rf dist && mkdir -p dist
	$(PY) -m build --quiet --outdir dist sdk/python
	$(VENV)/bin/twine check --strict dist/*
	cd sdk/typescript && npm ci --no-audit --no-fund && npm run build && npm pack --dry-run
	cd sdk/typescript && npx publint --strict && npx attw --pack . && npm pack --pack-destination ../../dist
	$(PY) sdk/check_dist.py dist

clean:
	rm -rf $(VENV) build .pytest_cache .hypothesis

-include deploy/deploy.mk
