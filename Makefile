# phoneline: two commands do all set-up on a fresh machine: `make serve` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev
NODE_DIR := tests/contract/node

.PHONY: serve test fuzz lint typecheck bench health-eval install demo clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Re-install whenever pyproject.toml changes.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

$(NODE_DIR)/node_modules/.package-lock.json: $(NODE_DIR)/package.json $(NODE_DIR)/package-lock.json
	cd $(NODE_DIR) && npm ci --no-audit --no-fund --silent

serve: $(STAMP)
	$(BIN)/phoneline serve

# A fresh demo database, a partner with four lines and two minutes of simulated traffic (see README);
# it takes the first free port from 8081, so it runs beside `make serve`.
demo: $(STAMP)
	$(BIN)/phoneline demo

lint: $(STAMP)
	$(BIN)/ruff check src tests bench fuzz
	$(BIN)/ruff format --check src tests bench fuzz
	$(BIN)/mypy

# The dashboard's browser tests drive Debian's chromium; install it on first use (as bench does wrk).
# The suite runs in TEST_PROCESSES pytest-xdist processes, one file per process at a time (each process has
# its own server, database and temp dir); TEST_PROCESSES=0 runs it in this process.
TEST_PROCESSES ?= 2

test: $(STAMP) $(NODE_DIR)/node_modules/.package-lock.json
	@command -v chromium >/dev/null || command -v chromium-browser >/dev/null || \
		(apt-get update -qq && apt-get install -y -qq chromium) || \
		(echo "make test needs Chromium for the browser tests: install the chromium package" >&2; exit 1)
	$(BIN)/pytest -q -n $(TEST_PROCESSES) --dist loadfile $(PYTEST_ARGS)

# schemathesis with a partner key (fuzz/): against phoneline's own /openapi.json, and against the Linq API
# as linq-python defines it (its operations and response models, fuzz/client_spec.py). Fails on any 5xx,
# any error outside the Linq envelope, any answer the document (or the client's model) does not describe,
# and any in-scope client operation phoneline does not serve. FUZZ_EXAMPLES bounds it.
FUZZ_EXAMPLES ?= 30

fuzz: $(STAMP)
	PHONELINE_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/pytest -q -s -p no:cacheprovider fuzz

# wrk comes from Debian; install it on first use. BENCH_ARGS passes options (e.g. --duration 30).
# Each benchmark exits non-zero when it misses a target; the leading "-" lets the others still run.
# Send and fan-out also run on this PostgreSQL database (the send benchmark creates it; both empty it).
BENCH_PG_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/phoneline_bench

bench: $(STAMP)
	@command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	-$(BIN)/python bench/list_phone_numbers.py $(BENCH_ARGS)
	-$(BIN)/python bench/send_message.py --pg $(BENCH_PG_URL) --write
	-$(BIN)/python bench/webhook_fanout.py --write-docs docs/benchmarks.md
	-$(BIN)/python bench/webhook_fanout.py --database-url $(BENCH_PG_URL) --write-docs docs/benchmarks.md
	-$(BIN)/python bench/reputation.py $(REPUTATION_BENCH_ARGS)
	-$(BIN)/python bench/pg_connections.py --pg $(BENCH_PG_URL)

# Line health against an independent carrier model (bench/health_eval.py; results in docs/reputation.md).
health-eval: $(STAMP)
	$(BIN)/python bench/health_eval.py --write-docs docs/reputation.md $(HEALTH_EVAL_ARGS)

clean:
	rm -rf $(VENV) var $(NODE_DIR)/node_modules .pytest_cache .mypy_cache .ruff_cache
