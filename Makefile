# UNIQUE: `make run` starts the app on the embedded default, `make test` runs the whole suite.
# Both create .venv and install the pinned requirements on first use (and again only when
# requirements.txt, pyproject.toml or setup.py change). The `unique` command is then
# .venv/bin/unique (or `source .venv/bin/activate`).

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.stamp-installed
HOST ?= 127.0.0.1
PORT ?= 8501

.PHONY: install run test bench cache clean-cache

$(STAMP): requirements.txt pyproject.toml setup.py
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@touch $@

# the map's web files (Leaflet) are vendored in static/: nothing to fetch or copy at install
install: $(STAMP)

# the same launcher as `unique app`; HOST=0.0.0.0 opens the app to other machines
run: install
	$(BIN)/python -m unique_core.launch --host $(HOST) --port $(PORT)

test: install
	$(BIN)/python -m pytest

bench: install
	$(BIN)/python bench/run_all.py

# Optional: build the country-wide 500 m cache ahead of time (minutes, once).
cache: install
	$(BIN)/unique world cache

clean-cache:
	rm -rf $${UNIQUE_CACHE_DIR:-$$HOME/.cache/unique}
