# Passerelle — the two commands: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 5000
HOST   ?= 127.0.0.1
FLASK  := $(BIN)/flask --app wsgi

.PHONY: magic-deps oidc-deps screenshots bench run test test-sqlite test-postgres install install-dev translations compile-translations lint browser-deps topology-deps topology clean

$(VENV)/.installed: requirements.txt
	@$(MAKE) --no-print-directory magic-deps
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements-dev.txt $(VENV)/.installed
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

install-dev: $(VENV)/.installed-dev

compile-translations: install
	$(BIN)/pybabel compile -d translations --statistics 2>&1 | grep -v "^compiling" || true

## make translations: extract the strings and update the fr and en catalogues
translations: install
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -o translations/messages.pot --no-location --sort-output --project Passerelle .
	$(BIN)/pybabel update -i translations/messages.pot -d translations --no-fuzzy-matching --ignore-obsolete
	$(BIN)/python scripts/i18n_check.py --fill-french
	$(BIN)/pybabel compile -d translations

## make run: set up, migrate, seed the demo once, print the logins, serve on $(PORT)
run: install compile-translations
	$(FLASK) db upgrade
	$(FLASK) demo seed
	@echo "Passerelle: http://$(HOST):$(PORT)/login"
	HOST=$(HOST) PORT=$(PORT) $(BIN)/gunicorn -c gunicorn.conf.py wsgi:app

## browser tests: Debian's chromium (apt, when missing) and axe-core (npm, pinned by the lock file)
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
AXE  := tests/browser/node_modules/axe-core/axe.min.js
## libmagic, the library python-magic reads file types with (app/documents): Debian's libmagic1
magic-deps:
	@ldconfig -p 2>/dev/null | grep -q 'libmagic\.so\.1' || \
	  ($(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq libmagic1)

browser-deps: $(AXE)
	@test -x /usr/bin/chromium || command -v chromium >/dev/null 2>&1 || \
	  ($(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium)

$(AXE): tests/browser/package.json tests/browser/package-lock.json
	npm ci --prefix tests/browser --no-audit --no-fund --loglevel=error
	touch $@

## single sign-on tests: a real OpenID Connect provider (npm oidc-provider, pinned by the lock file)
OIDC_PROVIDER := tests/oidc/node_modules/oidc-provider/package.json
oidc-deps: $(OIDC_PROVIDER)

$(OIDC_PROVIDER): tests/oidc/package.json tests/oidc/package-lock.json
	npm ci --prefix tests/oidc --no-audit --no-fund --loglevel=error
	touch $@

## topology tests (tests/topology, PostgreSQL leg): Debian's pgbouncer and nginx (apt, when
## missing); PostgreSQL's initdb, pg_ctl and pg_basebackup come with the server (PG_BIN)
topology-deps:
	@test -x /usr/sbin/pgbouncer && test -x /usr/sbin/nginx || \
	  ($(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends pgbouncer nginx)

## make topology: the whole platform on this machine (balancer, 2 app servers, PgBouncer, primary, replica)
topology: install compile-translations topology-deps
	$(BIN)/python scripts/topology.py up

## make screenshots: every page of the journeys at 1280×800 and 768×1024, in docs/screenshots/
screenshots: install-dev compile-translations browser-deps
	PASSERELLE_SCREENSHOTS=docs/screenshots $(BIN)/pytest -q tests/browser

## make test: the suite on SQLite and, at the same time, on $(TEST_DATABASE_URL) when it is set
## (TEST_LEGS=serial runs one leg after the other)
test: install-dev compile-translations browser-deps oidc-deps
	$(BIN)/python scripts/i18n_check.py
	$(BIN)/ruff check app tests config.py wsgi.py scripts bench
	$(BIN)/python scripts/security_checks.py
	@if [ -z "$(TEST_DATABASE_URL)" ]; then \
	  echo "TEST_DATABASE_URL is not set: PostgreSQL run skipped"; \
	  $(MAKE) --no-print-directory test-sqlite; \
	elif [ "$(TEST_LEGS)" = serial ]; then \
	  $(MAKE) --no-print-directory test-sqlite && $(MAKE) --no-print-directory topology-deps test-postgres; \
	else \
	  $(MAKE) --no-print-directory topology-deps || exit 1; \
	  echo "The PostgreSQL leg runs beside the SQLite one (one core each); its output follows the SQLite leg's."; \
	  log=$$(mktemp); \
	  ( $(MAKE) --no-print-directory test-postgres > "$$log" 2>&1; echo $$? > "$$log.rc" ) & \
	  sqlite=0; $(MAKE) --no-print-directory test-sqlite || sqlite=$$?; wait; \
	  echo "----- PostgreSQL leg ($(TEST_DATABASE_URL)) -----"; cat "$$log"; \
	  pg=$$(cat "$$log.rc" 2>/dev/null || echo 1); rm -f "$$log" "$$log.rc"; \
	  echo "SQLite leg: exit $$sqlite; PostgreSQL leg: exit $$pg"; \
	  [ "$$sqlite" -eq 0 ] && [ "$$pg" -eq 0 ]; \
	fi

test-sqlite:
	PASSERELLE_TEST_DATABASE= $(BIN)/pytest $(PYTEST_ARGS)

test-postgres:
	PASSERELLE_TEST_DATABASE="$(TEST_DATABASE_URL)" $(BIN)/pytest $(PYTEST_ARGS)

## make bench SCALE=100k: Passerelle against a bare Flask + psycopg stack, on PostgreSQL
## make bench SCALE=1M REPLICA=1: the desk under indicator load, without then with a streaming replica
SCALE ?= 100k
bench: install-dev
	PYTHONPATH=. $(BIN)/python bench/run.py --scale $(SCALE) $(if $(REPLICA),--replica)

## make profile SCALE=100k: where one request's time goes, part by part (on the bench database)
profile: install-dev
	PYTHONPATH=. $(BIN)/python bench/profile.py --scale $(SCALE)

lint: install-dev
	$(BIN)/ruff check app tests config.py wsgi.py scripts bench

clean:
	rm -rf $(VENV) instance .pytest_cache
