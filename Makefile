# openrsp: every target bootstraps the pinned environment in .venv first.
VENV := .venv
BIN := $(VENV)/bin

.PHONY: bootstrap demo test fuzz bench lint format readme clean

bootstrap:
	@scripts/bootstrap.sh

demo: bootstrap
	$(BIN)/openrsp demo

test:
	@scripts/bootstrap.sh test
	@scripts/with-postgres.sh $(BIN)/python -m pytest -q -n auto --dist loadgroup

# The fuzz targets of tests/fuzz with a larger budget (make test runs them with 300 inputs each).
FUZZ_EXAMPLES ?= 2000
FUZZ_STATS ?= $(or $(TMPDIR),/tmp)/openrsp-fuzz-stats.jsonl
fuzz: bootstrap
	rm -f $(FUZZ_STATS)
	OPENRSP_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) OPENRSP_FUZZ_STATS=$(FUZZ_STATS) \
		$(BIN)/python -m pytest -q -p no:cacheprovider -n 2 tests/fuzz
	$(BIN)/python tests/fuzz/summarize.py $(FUZZ_STATS)

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
