# Both entry points bootstrap their own virtualenv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_DIR := demo-out

.PHONY: demo test lint typecheck imports unit serve bench clean browser vendor-refresh

# The build tools a new venv starts with can be years old (setuptools 65.5 is open to CVE-2024-6345 and
# CVE-2025-47273): upgrade them first. A change here rebuilds the venv's install.
$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip 'setuptools>=78.1.1' wheel
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m borderwatch.demo --dir $(DEMO_DIR)

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

# The layering rule as import-linter contracts ([tool.importlinter] in pyproject.toml).
imports: $(STAMP)
	$(BIN)/lint-imports

# The fast inner loop: unit tests only (no database, no server, no model training), in under a minute. The unit
# profile runs a tenth of each property test's examples (tests/hypothesis_profiles.py); `make test` runs them all.
unit: $(STAMP)
	BORDERWATCH_TEST_PROFILE=unit $(BIN)/python -m pytest tests/unit -q -p no:xdist

test: lint typecheck imports browser
	$(BIN)/python -m pytest -n 2 --dist loadgroup -q

# `make serve` keeps the demo database between starts (RESET=1 runs the demo afresh); PORT=8080 picks the port.
PORT ?= 8000
serve: $(STAMP)
	$(BIN)/python -m borderwatch.demo --dir $(DEMO_DIR) --serve --port $(PORT) $(if $(RESET),--reset,)

bench: $(STAMP)
	$(BIN)/python bench/run_all.py

# The workspace's JavaScript ships in the repository (src/borderwatch/web/static/vendor/, with LICENSES.txt):
# nothing here needs npm. Maintainers refresh it from npm (package.json, package-lock.json) and commit the diff.
vendor-refresh:
	sh scripts/vendor-js.sh

browser:
	sh tests/e2e/setup_browser.sh

clean:
	rm -rf $(VENV) $(DEMO_DIR) node_modules .mypy_cache .ruff_cache .pytest_cache
