# Migration Support: `make run` serves the site with the seed content, `make test` runs the suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/migrationsupport

.PHONY: install run serve test lint format migrations-check smoke clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

# Without DATABASE_URL the site runs on the embedded SQLite file var/db.sqlite3 (DEBUG on).
run: install
	mkdir -p var
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py migrate --noinput
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py loaddata fixtures/*.json
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py runserver $(HOST):$(PORT)

test: install
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} DEBUG=0 SECRET_KEY=test-only \
		$(BIN)/python manage.py check_postgres
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} DEBUG=0 SECRET_KEY=test-only \
		$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

migrations-check: install
	DEBUG=1 DATABASE_URL=sqlite:///:memory: $(BIN)/python manage.py makemigrations --check --dry-run

# The SQLite default as a newcomer meets it: migrate, load the seed twice, the home page answers.
smoke: install
	rm -rf var/smoke && mkdir -p var/smoke
	DEBUG=1 DATABASE_URL=sqlite:///$(CURDIR)/var/smoke/db.sqlite3 $(BIN)/python manage.py migrate --noinput -v0
	DEBUG=1 DATABASE_URL=sqlite:///$(CURDIR)/var/smoke/db.sqlite3 $(BIN)/python manage.py loaddata fixtures/*.json
	DEBUG=1 DATABASE_URL=sqlite:///$(CURDIR)/var/smoke/db.sqlite3 $(BIN)/python manage.py loaddata fixtures/*.json
	DEBUG=1 DATABASE_URL=sqlite:///$(CURDIR)/var/smoke/db.sqlite3 $(BIN)/python manage.py smoke_check

clean:
	rm -rf $(VENV) var .pytest_cache
