# openrsp: every target bootstraps the pinned environment in .venv first.
VENV := .venv
BIN := $(VENV)/bin

.PHONY: bootstrap demo test bench lint format readme clean

bootstrap:
	@scripts/bootstrap.sh

demo: bootstrap
	$(BIN)/openrsp demo

test:
	@scripts/bootstrap.sh test
	@scripts/with-postgres.sh $(BIN)/python -m pytest -q -n auto --dist loadgroup

bench: bootstrap
	$(BIN)/openrsp bench

lint: bootstrap
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests

format: bootstrap
	$(BIN)/ruff format src tests
	$(BIN)/ruff check --fix src tests

readme: bootstrap
	$(BIN)/python -c "from pathlib import Path; from openrsp.cli.reference import update_readme; update_readme(Path('README.md'))"

clean:
	rm -rf $(VENV) .pytest_cache build src/*.egg-info
