# One entry point for people and CI. Each target creates .venv when it is missing.
VENV ?= .venv
BIN := $(VENV)/bin
PYTHON ?= python3

.PHONY: quickstart test fuzz check lint typecheck layers generate bench compat compat-ci clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev,s3,xgboost,lightgbm,catboost,ray]'
	touch $@

quickstart: $(BIN)/.installed
	$(BIN)/mlpipex quickstart

test: $(BIN)/.installed
	$(BIN)/pytest $(PYTEST_ARGS)

# Schemathesis against a server of its own on a free loopback port; fails on any 5xx.
fuzz: $(BIN)/.installed
	$(BIN)/python scripts/fuzz.py

lint: $(BIN)/.installed
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(BIN)/.installed
	$(BIN)/mypy

# The layers of docs/architecture.md: no module imports a layer above its own.
layers: $(BIN)/.installed
	$(BIN)/lint-imports

check: lint typecheck layers

# What is generated from the code (tests fail when it falls behind): docs/cli.md and docs/http.md,
# and the SQL the plain SQLite reader runs (src/mlpipex/store/registry/sqlite_sql.py).
generate: $(BIN)/.installed
	$(BIN)/python scripts/gen_docs.py
	$(BIN)/python scripts/gen_sql.py

# MLflow's own REST tests against this checkout (needs ../shared/mlflow-suite, or MLFLOW_SUITE);
# fails when fewer pass than the floor in .ci/compat-floor. compat-ci: the part CI runs.
compat: $(BIN)/.installed
	scripts/compat.sh full

compat-ci: $(BIN)/.installed
	scripts/compat.sh ci

clean:
	rm -rf $(VENV) build dist src/*.egg-info .mypy_cache .ruff_cache .pytest_cache .import_linter_cache
