# The project's commands. Each one bootstraps what it needs on a fresh Debian machine:
# uv and the locked .venv here, the Debian packages of the devstack on first use.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
UV_VERSION := 0.13.8
# uv without pip: linked from this Python when it has uv $(UV_VERSION), else fetched from PyPI
# and checked (a stock Debian 12 Python has no pip and refuses installs into itself)
UV := .tools/uv-$(UV_VERSION)/uv

.PHONY: venv run stop demo test test-ops lint format scan-secrets bench lock clean

$(UV):
	@$(PYTHON) devstack/bootstrap_uv.py $(UV_VERSION) $(@D)

$(VENV)/.installed: requirements.lock | $(UV)
	$(UV) venv -q --allow-existing --python $(PYTHON) $(VENV)
	$(UV) pip install -q --python $(PY) -r requirements.lock
	@touch $@

venv: $(VENV)/.installed

## make run: devstack + Airflow on http://127.0.0.1:8080 (Ctrl-C or `make stop` stops it)
run: venv
	$(PY) -m devstack run

stop: venv
	$(PY) -m devstack down

## make demo: every DAG once, headless, against the devstack; non-zero if any fails
demo: venv
	$(PY) -m devstack demo

## make test: the whole suite, tests/ops included (what CI runs)
test: venv
	$(PY) -m pytest

## make test-ops: only the scheduler-level suite (Airflow's components driven through the REST API)
test-ops: venv
	$(PY) -m pytest tests/ops

## make lint: ruff's checks and its formatter in check mode (CI runs it before the tests)
lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

## make format: apply ruff's safe fixes and its formatter
format: venv
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

## make scan-secrets: detect-secrets over every tracked file; fails on any finding not marked
## with its inline allowlist pragma (only the devstack's local, public credentials are). CI runs it.
scan-secrets: venv  # pragma: allowlist secret
	git ls-files -z | xargs -0 $(VENV)/bin/detect-secrets-hook  # pragma: allowlist secret

## make bench: every benchmark under bench/, printing ratios
bench: venv
	$(PY) -m bench

## make lock: re-resolve requirements.lock from requirements.txt + requirements-dev.txt (what the
## venv and CI install), then constraints.txt from it: every package a deployment installs, at the
## lock's version (the Dockerfile installs with it; MWAA and pip -c take it as it is)
lock:
	$(UV) pip compile -q --python $(PYTHON) requirements-dev.txt -o requirements.lock
	$(UV) pip compile -q --python $(PYTHON) --no-annotate requirements.txt -c requirements.lock -o constraints.txt

clean: stop
	rm -rf .devstack .tools
