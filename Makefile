# imclab developer entry points. Each target first installs what it needs into .venv, made with
# Python 3.12 or newer (found by `make python`), from the locks in requirements/.
#   make report     build the HTML report of the sample campaign into reports/spring_launch/
#                   (installs requirements/core.lock only)
#   make test       ruff + pytest (unit tests and nbval on notebooks/*.ipynb, on WORKERS=2
#                   pytest-xdist workers; installs all four locks and chromium)
#   make chromium   install Debian's chromium (+ CJK/emoji fonts) for the browser tests
#   make lab        JupyterLab on notebooks/
#   make notebooks  re-run the notebooks on data/sample to refresh their committed outputs
#   make bench      run benchmarks/bench_*.py one by one
#   make python     show which Python the .venv is (or would be) made with
#   make clean      remove generated reports and caches (keeps .venv)

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

# PYTHON=/path/to/python3.12 to choose the interpreter; by default the first Python >= 3.12 of
# python3.13, python3.12, python3, then pyenv's installed versions (see FIND_PYTHON).
PYTHON ?=
VENV ?= .venv
BIN := $(VENV)/bin
LOCKS := requirements
# One stamp per install level: core (the report) and all (core + spark + lab + dev).
STAMP_CORE := $(VENV)/.installed-core
STAMP_ALL := $(VENV)/.installed-all
CAMPAIGN ?= campaigns/spring_launch.yaml
PYTEST_ARGS ?=
# The suite on two pytest-xdist workers; tests/conftest.py says which tests share a worker
# (those sharing an expensive session fixture, a notebook's cells) and sends the heavy groups
# first. WORKERS=0 runs it in one process.
# Each worker's native libraries (OpenMP, BLAS) get one thread: two workers already fill the
# two cores, and idle OpenMP threads spinning beside another worker cost more than they save.
WORKERS ?= 2
XDIST = $(if $(filter 0,$(WORKERS)),,-n $(WORKERS) --dist loadgroup --no-loadscope-reorder)
ONE_THREAD = $(if $(filter 0,$(WORKERS)),,OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1)

# Deterministic, headless runs. The matplotlib backend is the Agg-based inline backend rather
# than plain "Agg": the Jupyter kernels that nbval and papermill start inherit this variable,
# and with MPLBACKEND=Agg they would drop every figure from notebook outputs and reports.
# Outside a kernel the inline backend renders with Agg and never opens a window.
DETERMINISTIC := MPLBACKEND=module://matplotlib_inline.backend_inline PYTHONHASHSEED=0 IMCLAB_INTERACTIVE=0
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: help install install-core report test lint lab notebooks bench clean chromium python FORCE

# Headless browser for tests/report/test_browser.py: Debian's chromium through apt when no
# Chromium is on PATH (needs root or sudo). CJK and emoji fonts make screenshots legible.
CHROMIUM_PACKAGES := chromium fonts-wqy-zenhei fonts-noto-color-emoji
SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)

help:
	@sed -n 's/^#   //p' Makefile

# --- Python >= 3.12 and the .venv ----------------------------------------------------------
# PyMC-Marketing needs Python 3.12 or newer. FIND_PYTHON prints the path of the first suitable
# interpreter: $(PYTHON) if given (and only it), else python3.13, python3.12, python3 on the
# PATH, then pyenv's installed 3.12+ versions (3.12 first, the version the locks are made with;
# a pyenv shim such as python3.12 fails unless PYENV_VERSION selects it, so the versions are
# run by path). Nothing found: it says what to install and fails.
define FIND_PYTHON
ok() { "$$1" -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1; }
if [ -n "$(PYTHON)" ]; then
	command -v "$(PYTHON)" >/dev/null || { echo "PYTHON=$(PYTHON): no such command." >&2; exit 1; }
	if ok "$(PYTHON)"; then command -v "$(PYTHON)"; exit 0; fi
	echo "PYTHON=$(PYTHON) is not a Python 3.12 or newer ($$("$(PYTHON)" -V 2>&1 | head -1))." >&2
	exit 1
fi
for candidate in python3.13 python3.12 python3; do
	if command -v "$$candidate" >/dev/null && ok "$$candidate"; then command -v "$$candidate"; exit 0; fi
done
root="$$(pyenv root 2>/dev/null || echo "$${PYENV_ROOT:-$$HOME/.pyenv}")"
versions="$$( { pyenv versions --bare 2>/dev/null || ls "$$root/versions" 2>/dev/null; } \
	| grep -E '^3\.(1[2-9]|[2-9][0-9])(\.[0-9]+)*$$' | sort -t. -k1,1n -k2,2n -k3,3nr || true)"
for version in $$versions; do
	if ok "$$root/versions/$$version/bin/python"; then echo "$$root/versions/$$version/bin/python"; exit 0; fi
done
{
	echo "imclab needs Python 3.12 or newer (PyMC-Marketing requires it); none was found."
	echo "  tried: python3.13, python3.12, python3 ($$(python3 -V 2>&1 | head -1)),"
	echo "  and the pyenv versions in $$root/versions"
	echo "  install one, then run make again:"
	echo "    Ubuntu 24.04+, Debian 13+: sudo apt-get install python3 python3-venv (3.12 / 3.13)"
	echo "    older Debian/Ubuntu:       pyenv or conda, below"
	echo "    macOS (Homebrew):          brew install python@3.12"
	echo "    pyenv:                     pyenv install 3.12"
	echo "    conda:                     conda env create -f environment.yml"
	echo "  or name an interpreter: make report PYTHON=/path/to/python3.12"
} >&2
exit 1
endef
export FIND_PYTHON

# Is .venv a working Python >= 3.12? If not (missing, broken, or a 3.11 venv of an older clone),
# the stamps are forced out of date and the install step rebuilds it.
VENV_OK := $(shell $(BIN)/python -c 'import sys; print(int(sys.version_info >= (3, 12)))' 2>/dev/null)
VENV_FORCE := $(if $(filter 1,$(VENV_OK)),,FORCE)
FORCE:

python:
	@python="$$(bash -c "$$FIND_PYTHON")"; echo "$$python: $$("$$python" -V 2>&1)"
	@if [ -x $(BIN)/python ]; then echo "$(VENV): $$($(BIN)/python -V 2>&1)"; fi

# Make .venv with a Python >= 3.12, replacing one made with an older Python.
define MAKE_VENV
if [ -x $(BIN)/python ] && $(BIN)/python -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then
	exit 0
fi
python="$$(bash -c "$$FIND_PYTHON")"
if [ -e $(VENV) ]; then
	echo "$(VENV) was made with $$($(BIN)/python -V 2>&1 || echo 'a Python that no longer runs'); imclab now needs Python 3.12+."
	echo "Rebuilding $(VENV) with $$python ($$("$$python" -V 2>&1)); the old one is removed."
	rm -rf $(VENV)
else
	echo "Creating $(VENV) with $$python ($$("$$python" -V 2>&1))"
fi
"$$python" -m venv $(VENV)
$(BIN)/python -m pip install --upgrade --progress-bar off pip
endef
export MAKE_VENV

PIP_INSTALL := $(BIN)/python -m pip install --progress-bar off

install: $(STAMP_ALL)
install-core: $(STAMP_CORE)

# core: the report's needs. The kernel `imclab` is registered for papermill and the Lab.
$(STAMP_CORE): $(LOCKS)/core.lock pyproject.toml $(VENV_FORCE)
	@bash -eu -o pipefail -c "$$MAKE_VENV"
	$(PIP_INSTALL) -r $(LOCKS)/core.lock
	$(PIP_INSTALL) --no-deps -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name imclab --display-name imclab
	@touch $@

# all: core + spark + lab + dev, for the tests, the Lab and the benchmarks.
$(STAMP_ALL): $(STAMP_CORE) $(LOCKS)/spark.lock $(LOCKS)/lab.lock $(LOCKS)/dev.lock
	$(PIP_INSTALL) -r $(LOCKS)/core.lock -r $(LOCKS)/spark.lock -r $(LOCKS)/lab.lock \
		-r $(LOCKS)/dev.lock
	@touch $@

report: $(STAMP_CORE) chromium
	$(DETERMINISTIC) $(BIN)/imclab run $(CAMPAIGN)
	$(BIN)/python -m imclab.report.browser reports/$(basename $(notdir $(CAMPAIGN)))

lint: $(STAMP_ALL)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: lint chromium
	$(DETERMINISTIC) $(ONE_THREAD) $(BIN)/python -m pytest $(XDIST) $(PYTEST_ARGS)

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

lab: $(STAMP_ALL)
	@$(BIN)/jupyter kernelspec list --json | grep -q '"imclab"' \
		|| $(BIN)/python -m ipykernel install --sys-prefix --name imclab --display-name imclab
	PYTHONHASHSEED=0 IMCLAB_INTERACTIVE=1 $(BIN)/jupyter lab $(LAB_ARGS) notebooks/

notebooks: $(STAMP_ALL)
	$(DETERMINISTIC) $(BIN)/python -m imclab.report.regenerate

bench: $(STAMP_ALL)
	@shopt -s nullglob; benches=(benchmarks/bench_*.py); \
	if [ $${#benches[@]} -eq 0 ]; then echo "no benchmarks/bench_*.py yet"; exit 0; fi; \
	for b in "$${benches[@]}"; do echo "== $$b"; $(DETERMINISTIC) $(BIN)/python "$$b"; done

clean:
	find reports -mindepth 1 -maxdepth 1 ! -name .gitkeep -exec rm -rf {} +
	find . -path ./$(VENV) -prune -o -type d \
		\( -name __pycache__ -o -name .ipynb_checkpoints \) -print0 | xargs -0 rm -rf
	rm -rf .pytest_cache .ruff_cache spark-warehouse metastore_db derby.log
