# Mesotrack: `make run` serves the demo clinic, `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
# make run PORT=8015 serves there; patients' links (SITE_URL) follow unless SITE_URL is set.
PORT ?= 8000
BIN := $(VENV)/bin
# Rebuilt only when the requirements change, so a second `make run` starts in seconds.
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt 2>/dev/null | cksum | cut -d' ' -f1)

export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: help install run test test-fast lint format migrations bench clean

help:
	@echo "make run     set up .venv, migrate, seed the demo clinic, serve web + worker + beat"
	@echo "make test    run the whole test suite (SQLite unless DATABASE_URL is set)"
	@echo "make test-fast  the suite without browser and real-worker tests (the edit-test loop)"
	@echo "make lint    ruff check + ruff format --check"
	@echo "make format  apply ruff fixes and formatting"
	@echo "make bench   benchmark generated clinics (BENCH_SIZES=50,500,5000 patients)"

$(STAMP): requirements.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Mesotrack needs Python 3.11 or newer; $(PYTHON) is older. Try: make PYTHON=python3.12 run" >&2; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	@mkdir -p var
	DEBUG=$${DEBUG:-true} $(BIN)/python manage.py migrate --noinput
	DEBUG=$${DEBUG:-true} $(BIN)/python manage.py seed_demo
	@echo
	@echo "  Mesotrack is starting on http://127.0.0.1:$(PORT)/  (Ctrl-C stops web, worker and beat)"
	@echo "  Demo logins (password mesotrack-demo): reception, clinician, admin"
	@echo "  Two-factor login is optional in this demo (DEBUG on); production requires it for"
	@echo "  clinicians and admins (README: Security)."
	@echo "  Health: http://127.0.0.1:$(PORT)/healthz"
	@echo
	DEBUG=$${DEBUG:-true} SITE_URL=$${SITE_URL:-http://127.0.0.1:$(PORT)} \
		$(BIN)/honcho start -f Procfile -p $(PORT)

# The suite runs in one process per core (pytest-xdist; TEST_PROCESSES=1 for one process); each
# has its own test database, Redis database and cache folder (clinic/settings.py). --dist load
# hands each process its tests in pytest-django's order, transactional tests last, so the flush
# that ends one never empties the database under a later test in the same process.
TEST_PROCESSES ?= auto
XDIST := -n $(TEST_PROCESSES) --dist load

test: $(STAMP)
	@$(BIN)/python -m pytest $(XDIST) $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests, which counts as a failure." >&2; exit 1; fi; \
	exit $$rc

test-fast: $(STAMP)
	@$(BIN)/python -m pytest $(XDIST) -m "not slow" $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test-fast: pytest collected no tests, which counts as a failure." >&2; exit 1; fi; \
	exit $$rc

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

migrations: $(STAMP)
	$(BIN)/python manage.py makemigrations --check --dry-run

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache

# Generated clinics of BENCH_SIZES patients (default 50,500,5000), one database each beside
# DATABASE_URL's (or SQLite files under var/bench/); prints the table, keeps JSON in var/bench/.
bench: $(STAMP)
	$(BIN)/python manage.py bench
