# Two commands do all the set-up:
#   make book   create .venv from requirements.txt and build the HTML book offline
#   make test   create .venv if needed and run every test (library, notebooks, book, browser)
#   make test-fast the library tests only (no notebooks, book or browser): a few minutes
# Other targets:
#   make execute   re-execute every chapter in place (stores outputs and widget state)
#   make bench     run the speed benchmarks
#   make lab       open the chapters in JupyterLab

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: book test test-fast execute bench lab clean venv

venv: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip
	$(PY) -m pip install -r requirements.txt
	touch $(STAMP)

book: $(STAMP)
	rm -rf _build/html _build/.doctrees
	$(VENV)/bin/jupyter-book build . -W -n --keep-going
	@echo "The book is built. Open $(CURDIR)/_build/html/index.html in a browser."

test: $(STAMP)
	$(PY) -m pytest

test-fast: $(STAMP)
	$(PY) -m pytest tests -m "not slow" -q

execute: $(STAMP)
	$(PY) scripts/execute_notebooks.py

bench: $(STAMP)
	$(PY) benchmarks/run_all.py

# as root (a container, for example) Jupyter refuses to start without --allow-root
LAB_ARGS ?= $(if $(filter 0,$(shell id -u)),--allow-root)

lab: $(STAMP)
	$(VENV)/bin/jupyter lab $(LAB_ARGS) chapters/

clean:
	rm -rf _build
