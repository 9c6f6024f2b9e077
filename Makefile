# The README's commands. `make run` starts everything; `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint format bench messages dev-deps

run:
	@scripts/run.sh

$(BIN)/python:
	@scripts/system-packages.sh
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

dev-deps: $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt

messages: $(BIN)/python
	DEBUG=true ENV_FILE= $(BIN)/python manage.py compilemessages --ignore=.venv --ignore=var >/dev/null

# Two passes: everything on PostgreSQL and Redis, then the tests marked `embedded` again on the
# configuration of `make run` without them (SQLite, filesystem broker, file cache; tests/services.py).
test: dev-deps messages
	$(BIN)/python -m pytest $(PYTEST_ARGS)
	TEST_EMBEDDED=1 $(BIN)/python -m pytest $(PYTEST_ARGS)

lint: dev-deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: dev-deps
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# `make bench NAME=choose_x` runs one benchmark of bench/ and writes its JSON result.
bench: dev-deps
	$(BIN)/python -m bench $(NAME)
