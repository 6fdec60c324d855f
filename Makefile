# The README's commands. Each bootstraps its own virtual environment.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUNTIME := $(VENV)/.runtime-installed
DEV := $(VENV)/.dev-installed

.PHONY: demo test check fuzz lint format bench bench-search bench-web bench-digest bench-recommend bench-cluster bench-library clean docs

$(RUNTIME): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(DEV): $(RUNTIME)
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

demo: $(RUNTIME)  ## load the bundled sample and serve it on http://127.0.0.1:8000
	$(BIN)/paperroute demo

test: $(DEV)  ## every test: SQLite and PostgreSQL (skipped with a reason if absent)
	$(BIN)/pytest

check: $(DEV)  ## the quick loop while editing: every test but the slow, browser and PostgreSQL ones
	$(BIN)/pytest -q -m "not slow and not e2e and not postgres"

fuzz: $(DEV)  ## every source parser against 10,000 generated inputs (`make test` runs 300 of each)
	PAPERROUTE_FUZZ_EXAMPLES=10000 $(BIN)/pytest tests/ingest/sources/test_*_fuzz.py

lint: $(DEV)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/pyright

format: $(DEV)
	$(BIN)/ruff check --fix src tests bench
	$(BIN)/ruff format src tests bench

bench: $(DEV)
	$(BIN)/python bench/ingest.py

clean:
	rm -rf $(VENV) data .pytest_cache

docs: $(DEV)  ## docs/cli.md from the commands' own help (a test checks it is current)
	$(BIN)/typer paperroute.cli.main utils docs --name paperroute --output docs/cli.md

bench-search: $(DEV)  ## bench/search.py: index build, query latency at 54k and 1M (needs bench/embed_corpus.py first)
	$(BIN)/python bench/embed_corpus.py
	$(BIN)/python bench/search.py

bench-web: $(DEV)  ## bench/web.py: the site served with 2 workers under load from wrk, 54k papers (installs wrk from Debian if missing)
	@command -v wrk >/dev/null || $$([ "$$(id -u)" = 0 ] || echo sudo) sh -c 'apt-get update -qq && apt-get install -y wrk'
	$(BIN)/python bench/web.py --synthetic-uncached  # papers not yet in bench/cache get random vectors, said in the output

bench-digest: $(DEV)  ## bench/digest.py: 10,000 subscribers' digests composed and delivered to a local SMTP server (SQLite; --database-url for PostgreSQL)
	$(BIN)/python bench/digest.py

bench-recommend: $(DEV)  ## bench/recommend.py: recommendation quality against arxiv-sanity-lite at three cutoffs, and time per reader over 54k papers
	$(BIN)/python bench/recommend.py

bench-cluster: $(DEV)  ## bench/cluster.py: 2 nodes + 2 workers on the local PostgreSQL, 54k papers, 60 s of load with a web process and two workers killed -9 mid-job; then SQLite with 2 web processes; nothing lost or doubled
	$(BIN)/python bench/cluster.py

bench-library: $(DEV)  ## bench/library.py: a 5,000-entry Zotero-like library in BibTeX, RIS and CSL-JSON imported against the 54k corpus
	$(BIN)/python bench/library.py
