# Two commands for a newcomer: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 5000
PYTEST_ARGS ?=
# pytest-xdist workers: one per core; PYTEST_WORKERS=0 runs in one process (for --pdb, -s).
PYTEST_WORKERS ?= auto

.PHONY: install run test test-postgres translations browser clean

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

# The issuer served: IDP_ISSUER when set, else the loopback address of PORT. `idp issuer`
# records it in the instance config file (instance/config.toml), so `idp …` in another shell,
# the emails and the demo client follow the same issuer as this server (README "Configuration").
run: install
	$(BIN)/idp issuer "$(or $(IDP_ISSUER),http://127.0.0.1:$(PORT))"
	$(BIN)/idp db upgrade
	$(BIN)/idp demo
	$(BIN)/flask --app wsgi run --host 127.0.0.1 --port $(PORT)

test: install browser
	$(BIN)/pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

# The same suite on PostgreSQL (127.0.0.1:5432, trust auth): a database of its own per app.
test-postgres: install browser
	IDP_TEST_DATABASE=postgresql $(BIN)/pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) instance *.egg-info .pytest_cache tests/artifacts
