# Palette Fleet Dashboard. `make demo` runs the whole product; `make test` runs the suite.
PYTHON ?= $(shell scripts/find-python)
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test lint audit requirements install install-dev clean

$(BIN)/python:
	@test -n "$(PYTHON)" || { echo "Python 3.12+ is required (set PYTHON=...)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python requirements.txt
	$(BIN)/pip install --quiet -r requirements.txt
	$(BIN)/pip check
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(BIN)/pip install --quiet -r requirements-dev.txt
	$(BIN)/pip check
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

demo: install
	$(BIN)/python manage.py demo

test: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	# the architecture (.importlinter) and the models (no change without its migration)
	$(BIN)/lint-imports
	$(BIN)/python scripts/import_cycles.py
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/python -m pytest

# Known vulnerabilities in the pinned packages (PyPI's advisory data; CI runs it).
audit: install-dev
	$(BIN)/pip-audit --requirement requirements-dev.txt --no-deps --disable-pip --progress-spinner off

# Pins: requirements*.txt are compiled from the short lists of direct dependencies in requirements*.in.
COMPILE := $(BIN)/pip-compile --quiet --allow-unsafe --strip-extras --no-emit-index-url --no-emit-find-links
requirements: install-dev
	$(COMPILE) --output-file requirements.txt requirements.in
	$(COMPILE) --output-file requirements-dev.txt requirements-dev.in

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) var/*.sqlite3* var/log var/redis var/celerybeat-schedule*
