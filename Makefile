# Two commands for a newcomer: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 5000
PYTEST_ARGS ?=
# pytest-xdist workers: one per core; PYTEST_WORKERS=0 runs in one process (for --pdb, -s).
PYTEST_WORKERS ?= auto

.PHONY: install run test test-postgres translations browser redis clean

$(VENV)/.installed: setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed translations

translations: $(VENV)/.installed
	$(BIN)/pybabel compile -d idp/translations -f --statistics

# Browser tests drive Debian's Chromium (Playwright's own browser downloads are not used).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "Installing Debian's chromium for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# The outage tests start and stop a Redis of their own (tests/outages.py): Debian's redis-server.
redis:
	@command -v redis-server >/dev/null 2>&1 || { \
	  echo "Installing Debian's redis-server for the outage tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; }

# The issuer served: IDP_ISSUER when set, else the loopback address of PORT. `idp issuer`
# records it in the instance config file (instance/config.toml), so `idp …` in another shell,
# the emails and the demo client follow the same issuer as this server (README "Configuration").
run: install
	$(BIN)/idp issuer "$(or $(IDP_ISSUER),http://127.0.0.1:$(PORT))"
	$(BIN)/idp db upgrade
	$(BIN)/idp demo
	$(BIN)/flask --app wsgi run --host 127.0.0.1 --port $(PORT)

test: install browser redis
	$(BIN)/pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

# The same suite on PostgreSQL (127.0.0.1:5432, trust auth): a database of its own per app.
test-postgres: install browser redis
	IDP_TEST_DATABASE=postgresql $(BIN)/pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

# `make bench`: the production setup (gunicorn, PostgreSQL, Redis) on loopback under load, beside
# argon2id, a bare Flask app and panva's oidc-provider; writes bench/results/latest.md (bench/README.md).
# Options go through BENCH_ARGS, e.g. make bench BENCH_ARGS="--gunicorn-args '--workers 2'".
# Not part of `make test`: figures are measured, never asserted.
BENCH_ARGS ?=

$(VENV)/.bench-installed: $(VENV)/.installed setup.cfg
	$(BIN)/pip install --quiet -e '.[test,bench]'
	touch $@

bench/node/node_modules/.package-lock.json: bench/node/package.json bench/node/package-lock.json
	cd bench/node && npm ci --no-audit --no-fund --loglevel=error

bench-tools:
	@command -v wrk >/dev/null 2>&1 || { \
	  echo "Installing Debian's wrk for the benchmarks"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }

bench: install bench-tools $(VENV)/.bench-installed bench/node/node_modules/.package-lock.json
	$(BIN)/python -m bench.run $(BENCH_ARGS)

clean:
	rm -rf $(VENV) instance *.egg-info .pytest_cache tests/artifacts bench/node/node_modules
