# imclab developer entry points. Every target installs .venv from requirements.lock first.
#   make report     build the HTML report of the sample campaign into reports/spring_launch/
#   make test       ruff + pytest (unit tests and nbval on notebooks/*.ipynb; installs chromium)
#   make chromium   install Debian's chromium (+ CJK/emoji fonts) for the browser tests
#   make lab        JupyterLab on notebooks/
#   make notebooks  re-run the notebooks on data/sample to refresh their committed outputs
#   make bench      run benchmarks/bench_*.py one by one
#   make clean      remove generated reports and caches (keeps .venv)

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CAMPAIGN ?= campaigns/spring_launch.yaml
PYTEST_ARGS ?=

# Deterministic, headless runs. The matplotlib backend is the Agg-based inline backend rather
# than plain "Agg": the Jupyter kernels that nbval and papermill start inherit this variable,
# and with MPLBACKEND=Agg they would drop every figure from notebook outputs and reports.
# Outside a kernel the inline backend renders with Agg and never opens a window.
DETERMINISTIC := MPLBACKEND=module://matplotlib_inline.backend_inline PYTHONHASHSEED=0 IMCLAB_INTERACTIVE=0
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: help install report test lint lab notebooks bench clean chromium

# Headless browser for tests/report/test_browser.py: Debian's chromium through apt when no
# Chromium is on PATH (needs root or sudo). CJK and emoji fonts make screenshots legible.
CHROMIUM_PACKAGES := chromium fonts-wqy-zenhei fonts-noto-color-emoji
SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)

help:
	@sed -n 's/^#   //p' Makefile

install: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade --progress-bar off pip
	$(BIN)/python -m pip install --progress-bar off -r requirements.lock
	$(BIN)/python -m pip install --progress-bar off --no-deps -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name imclab --display-name imclab
	@touch $@

report: $(STAMP) chromium
	$(DETERMINISTIC) $(BIN)/imclab run $(CAMPAIGN)
	$(BIN)/python -m imclab.report.browser reports/$(basename $(notdir $(CAMPAIGN)))

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: lint chromium
	$(DETERMINISTIC) $(BIN)/python -m pytest $(PYTEST_ARGS)

chromium:
	@if command -v chromium >/dev/null || command -v chromium-browser >/dev/null \
		|| command -v google-chrome >/dev/null || [ -n "$${IMCLAB_CHROMIUM:-}" ]; then \
		echo "chromium: found"; \
	else \
		echo "chromium: installing $(CHROMIUM_PACKAGES) with apt-get"; \
		$(SUDO) apt-get update -q; \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
			$(CHROMIUM_PACKAGES); \
	fi

# The notebooks use the `imclab` kernelspec (this .venv), registered by the install step;
# registered again here if it went missing. PYTHONHASHSEED=0 as for nbval, so re-running a
# notebook in the Lab reproduces its committed outputs; IMCLAB_INTERACTIVE=1 turns on the
# widgets of imclab.interactive (headless runs show a note instead).
# Jupyter refuses to run as root unless told (containers, CI images).
LAB_ARGS ?= $(shell [ "$$(id -u)" -eq 0 ] && echo --allow-root)

lab: $(STAMP)
	@$(BIN)/jupyter kernelspec list --json | grep -q '"imclab"' \
		|| $(BIN)/python -m ipykernel install --sys-prefix --name imclab --display-name imclab
	PYTHONHASHSEED=0 IMCLAB_INTERACTIVE=1 $(BIN)/jupyter lab $(LAB_ARGS) notebooks/

notebooks: $(STAMP)
	$(DETERMINISTIC) $(BIN)/python -m imclab.report.regenerate

bench: $(STAMP)
	@shopt -s nullglob; benches=(benchmarks/bench_*.py); \
	if [ $${#benches[@]} -eq 0 ]; then echo "no benchmarks/bench_*.py yet"; exit 0; fi; \
	for b in "$${benches[@]}"; do echo "== $$b"; $(DETERMINISTIC) $(BIN)/python "$$b"; done

clean:
	find reports -mindepth 1 -maxdepth 1 ! -name .gitkeep -exec rm -rf {} +
	find . -path ./$(VENV) -prune -o -type d \
		\( -name __pycache__ -o -name .ipynb_checkpoints \) -print0 | xargs -0 rm -rf
	rm -rf .pytest_cache .ruff_cache spark-warehouse metastore_db derby.log
