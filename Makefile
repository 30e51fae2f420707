# engagebill: `make run` starts it on SQLite with demo data, `make test` runs the suite.
# Everything is installed from the lock file (uv.lock) into .venv; uv itself is bootstrapped
# into .tools with the machine's python3, so a fresh machine needs nothing else.

PYTHON ?= python3
UV_VERSION := 0.13.8
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
STAMP := $(VENV)/.synced
RUN := $(UV) run --frozen --no-sync
DATA ?= var
DB ?= sqlite:///$(abspath $(DATA))/engagebill.db
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=

.PHONY: run test check format bench soak clean

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(STAMP): $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --quiet
	@touch $@

## run: start engagebill on SQLite with the demo organization
run: $(STAMP)
	@mkdir -p $(DATA)
	ENGAGEBILL_DATABASE_URL=$(DB) $(RUN) engagebill db upgrade
	ENGAGEBILL_DATABASE_URL=$(DB) $(RUN) engagebill demo --if-empty
	ENGAGEBILL_DATABASE_URL=$(DB) ENGAGEBILL_MAIL_DIR=$(abspath $(DATA))/mail \
	  $(RUN) engagebill serve --host $(HOST) --port $(PORT) --with-worker

## test: the whole suite (PostgreSQL tests skip with a reason when no server is running)
test: $(STAMP)
	$(RUN) pytest $(PYTEST_ARGS)

## check: format, lint, types, import contracts, then the tests
check: $(STAMP)
	$(RUN) ruff format --check src tests bench
	$(RUN) ruff check src tests bench
	$(RUN) mypy
	$(RUN) lint-imports
	$(RUN) pytest $(PYTEST_ARGS)

format: $(STAMP)
	$(RUN) ruff format src tests bench
	$(RUN) ruff check --fix src tests bench

bench: $(STAMP)
	$(RUN) python -m bench

## soak: the long tier: the proofs at full size (1,000-client crash runs, 60 s of 16 workers,
## 1,000 tampers), 100,000 guessed private-link tokens, and the engagement account's state
## machine long and random
soak: $(STAMP)
	ENGAGEBILL_PROOF_LONG=1 $(RUN) pytest tests/proof tests/e2e/test_recipient_pages.py \
	  -m slow $(PYTEST_ARGS)
	ENGAGEBILL_PROOF_LONG=1 $(RUN) pytest tests/integration/test_engagement_account_machine.py \
	  $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) $(TOOLS) $(DATA) .pytest_cache .mypy_cache .ruff_cache
