# Anju — the two commands: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export FLASK_APP := app

.PHONY: run test install install-dev translations clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.run-deps: requirements.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements.txt
	touch $@

$(VENV)/.dev-deps: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@ $(VENV)/.run-deps

install: $(VENV)/.run-deps
install-dev: $(VENV)/.dev-deps

## make run: set up, migrate the SQLite database, seed demo data when empty, serve on :5000
run: install
	mkdir -p instance
	$(BIN)/flask db upgrade
	$(BIN)/flask seed-demo --if-empty
	$(BIN)/flask run --host 127.0.0.1 --port 5000

## make test: set up and run the whole suite (PostgreSQL with TEST_DATABASE_URL, browser with Chromium)
test: install-dev
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## make translations: refresh the catalogues from the code and compile them
translations: install-dev
	$(BIN)/pybabel extract -F babel.cfg -k _l --ignore-dirs='.* __pycache__' -o translations/messages.pot --no-location --sort-output .
	$(BIN)/pybabel update -i translations/messages.pot -d translations --no-fuzzy-matching --ignore-obsolete
	$(BIN)/pybabel compile -d translations

clean:
	rm -rf $(VENV) .pytest_cache test-artifacts
