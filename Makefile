# UNIQUE: `make run` starts the app on the embedded default, `make test` runs the whole suite.
# Both create .venv and install the pinned requirements on first use (and again only when
# requirements.txt or pyproject.toml change).

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.stamp-installed
HOST ?= 127.0.0.1
PORT ?= 8501

.PHONY: install run test bench cache clean-cache

$(STAMP): requirements.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@touch $@

install: $(STAMP)
	@$(BIN)/python -m unique_core.ui.assets

run: install
	$(BIN)/streamlit run app.py --server.address $(HOST) --server.port $(PORT) \
		--server.headless true --browser.gatherUsageStats false

test: install
	$(BIN)/python -m pytest

bench: install
	$(BIN)/python bench/run_all.py

# Optional: build the country-wide 500 m cache ahead of time (minutes, once).
cache: install
	$(BIN)/unique world cache

clean-cache:
	rm -rf $${UNIQUE_CACHE_DIR:-$$HOME/.cache/unique}
