# Migration Support: `make run` serves the site with the seed content, `make test` runs the suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/migrationsupport
# The streaming replica of the local cluster that `make test` and `make bench` read
# (tests/support/replica.sh creates or starts it); only its host and port are used.
TEST_REPLICA_URL ?= postgres://postgres@127.0.0.1:5433/postgres

.PHONY: install lock run serve test lint format migrations-check smoke clean browser-deps bench-deps bench backup restore \
	loadtest audit replica worker pgbouncer-deps

# Every package at the exact version constraints.txt names (pyproject.toml gives the ranges), and
# the project built with the setuptools build-constraints.txt names.
$(STAMP): pyproject.toml constraints.txt build-constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -c constraints.txt pip
	$(BIN)/python -m pip install --quiet -c constraints.txt --build-constraint build-constraints.txt -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

# constraints.txt and build-constraints.txt written again from the newest versions pyproject.toml's
# ranges allow, installed into a throwaway environment (the project's .venv is left as it is): run
# `make test lint` after.
LOCK_VENV := var/lock-venv
lock:
	rm -rf $(LOCK_VENV)
	$(PYTHON) -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(LOCK_VENV)/bin/python -m pip install --quiet -e ".[dev]"
	{ sed -n '/^#/p' constraints.txt; $(LOCK_VENV)/bin/python -m pip freeze --all --exclude-editable \
		| grep -v -i -E '^(migrationsupport|setuptools)=='; } > constraints.txt.new
	mv constraints.txt.new constraints.txt
	$(LOCK_VENV)/bin/python -m pip install --quiet --upgrade $$($(LOCK_VENV)/bin/python -c \
		'import tomllib; print(*tomllib.load(open("pyproject.toml", "rb"))["build-system"]["requires"])')
	{ sed -n '/^#/p' build-constraints.txt; $(LOCK_VENV)/bin/python -m pip freeze --all \
		| grep -i -E '^setuptools=='; } > build-constraints.txt.new
	mv build-constraints.txt.new build-constraints.txt
	rm -rf $(LOCK_VENV)

# Without DATABASE_URL the site runs on the embedded SQLite file var/db.sqlite3 (DEBUG on).
run: install
	mkdir -p var
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py migrate --noinput
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py loaddata fixtures/*.json
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py runserver $(HOST):$(PORT)

# The browser tests (tests/browser) drive Debian's Chromium and inject axe-core from npm.
# Installed only when missing; never `playwright install` (the tests use the system Chromium).
CHROMIUM ?= /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

browser-deps:
	@test -x $(CHROMIUM) || { echo "Installing Debian's chromium for the browser tests"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium; }
	@test -f node_modules/axe-core/axe.min.js || { test -f package-lock.json \
		&& npm ci --no-audit --no-fund || npm install --no-audit --no-fund; }

# The task queue's workers (migrationsupport/tasks.py): need REDIS_URL and TASK_QUEUE=1 in the
# environment of the web processes and of these, with the same DATABASE_URL. Each scheduler
# brings failed jobs back for their retries. Two processes: "default" (rebuilds, a process forked
# per job) and "webhooks" (deliveries: short jobs, run without a fork); stopping the first stops both.
worker: install
	@test -n "$$REDIS_URL" || { echo "make worker needs REDIS_URL (and TASK_QUEUE=1 for the web processes);" \
		"without them queued work runs in the web process itself." >&2; exit 2; }
	TASK_QUEUE=1 $(BIN)/python manage.py rqworker webhooks --with-scheduler --worker-class rq.worker.SimpleWorker & \
		trap 'kill $$!' EXIT; \
		TASK_QUEUE=1 $(BIN)/python manage.py rqworker default --with-scheduler

# tests/migrationsupport/test_pgbouncer.py runs the site through a PgBouncer of its own in
# transaction mode, on a free port: Debian's pgbouncer, installed when missing.
PGBOUNCER ?= /usr/sbin/pgbouncer

pgbouncer-deps:
	@test -x $(PGBOUNCER) || { echo "Installing Debian's pgbouncer for the tests"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq pgbouncer; }

# A second PostgreSQL cluster on port 5433 streaming from the local primary (docs/deployment.md):
# created when missing, started when stopped, rebuilt when it cannot follow. Needs root (CI is).
replica:
	$(SUDO) tests/support/replica.sh

# The suite runs in TEST_WORKERS pytest-xdist processes (TEST_WORKERS=0: one, without xdist), each
# on its own test database (test_<name>_gw0, ...) and a whole test file at a time (--dist loadfile:
# a file's Redis database, replica pause or module-scoped records stay in one process). A file's
# transactional tests flush its process's database; post_migrate then grants the officers' roles
# again (migrationsupport.roles), so later files there still find them.
TEST_WORKERS ?= 2

test: install browser-deps pgbouncer-deps
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} DEBUG=0 SECRET_KEY=test-only \
		$(BIN)/python manage.py check_postgres
	$(SUDO) tests/support/replica.sh
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} DEBUG=0 SECRET_KEY=test-only REQUIRE_BROWSER=1 \
		TEST_DATABASE_REPLICA_URL=$(TEST_REPLICA_URL) REQUIRE_REPLICA=1 REQUIRE_PGBOUNCER=1 \
		$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

# mypy's Django plugin imports the settings: DEBUG=1 and an in-memory SQLite stand in for a deploy.
MYPY := DEBUG=1 DATABASE_URL=sqlite:///:memory: $(BIN)/mypy

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(MYPY)

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

# Throughput, latency, queries and memory against a hello-world view (gunicorn + wrk), at the seed
# size and with +100 000 synthetic records, in its own <name>_bench database. See docs/performance.md.
# Both drive gunicorn with wrk, installed from Debian when missing (the Python code installs nothing).
bench-deps:
	@command -v wrk >/dev/null || { echo "Installing Debian's wrk for the benchmark and the load test"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq wrk; }

bench: install bench-deps
	$(SUDO) tests/support/replica.sh
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} DEBUG=0 SECRET_KEY=$${SECRET_KEY:-bench-only} \
		SECURE_SSL_REDIRECT=0 BENCH_REPLICA_URL=$${BENCH_REPLICA_URL-$(TEST_REPLICA_URL)} \
		$(BIN)/python -m tests.support.bench $(BENCH_ARGS)

# 64 connections for 30 s on the public pages and the API (gunicorn + wrk on loopback, plain HTTP),
# in its own <name>_loadtest database; fails on any error or 5xx. See docs/reliability.md.
loadtest: install bench-deps
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} DEBUG=0 SECRET_KEY=$${SECRET_KEY:-loadtest-only} \
		SECURE_SSL_REDIRECT=0 $(BIN)/python -m tests.support.loadtest $(LOADTEST_ARGS)

# Known vulnerabilities in the installed packages (pip-audit) and a static security scan (bandit).
audit: install
	.ci/audit

# A consistent dump (pg_dump, or dumpdata on SQLite) into var/backups/, and its restore into an
# empty database: make restore FILE=var/backups/<stamp>.dump
backup: install
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py backup $(if $(FILE),--output $(FILE))

restore: install
	@test -n "$(FILE)" || (echo "Usage: make restore FILE=var/backups/<stamp>.dump" && exit 2)
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py restore $(FILE)

clean:
	rm -rf $(VENV) var .pytest_cache node_modules test-artifacts
