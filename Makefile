# The two commands of the README. Both set up (or refresh) .venv first.
VENV ?= .venv

.PHONY: setup demo test test-fast bench clean

setup:
	@bash scripts/setup.sh

demo: setup
	$(VENV)/bin/nightfusion demo --out runs/demo

test: setup
	$(VENV)/bin/python -m pytest

test-fast: setup
	$(VENV)/bin/python -m pytest -m "not slow"

clean:
	rm -rf runs .pytest_cache
