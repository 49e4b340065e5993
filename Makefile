# The two commands a newcomer needs: `make demo` and `make test`.
# Every target sets up what it needs first (scripts/bootstrap.sh).
VENV ?= .venv
PY := $(VENV)/bin/python
DATA ?= ../shared/data

.PHONY: setup demo test lint typecheck contracts pytest bench eval mutate lock clean install uninstall

setup:
	@./scripts/bootstrap.sh

demo: setup
	$(VENV)/bin/stetho demo

test: setup lint typecheck contracts pytest

lint:
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# mypy's cache lives outside the clone, so a fresh clone (as CI makes) checks only what
# changed: mypy compares a file's hash before it trusts the file's cached entry.
MYPY_CACHE ?= $(HOME)/.cache/stetho-edge/mypy
typecheck:
	$(VENV)/bin/mypy --cache-dir $(MYPY_CACHE)

contracts:
	$(VENV)/bin/lint-imports

# Tests marked `slow` (full sweeps and a long fault run, whose short forms or parts run here)
# run in `make bench`.
# Bytecode is written even where the environment says not to (PYTHONDONTWRITEBYTECODE): the
# tests start hundreds of agents, hubs and CLIs, and each would compile every module it imports.
# The tests spend a third of their time waiting on the brokers, hubs, agents and browsers they
# start, so they run in one pytest worker per core (pytest-xdist; at most 4, each starting its
# own servers): on 2 cores 736 s instead of 900 s. A worker that runs out of tests takes some of
# another's (worksteal): the long browser and broker files no longer end a run on one core.
pytest:
	PYTHONDONTWRITEBYTECODE= $(PY) -m pytest -q -m "not slow" -n auto --maxprocesses 4 --dist worksteal

bench: setup
	@$(PY) -m bench

eval: setup
	$(PY) -m bench.evaluate --data $(DATA)

# Mutation testing of the cores (outbox and journal, codec, reassembly, triage rules, config),
# one module at a time against the tests that cover it; prints one JSON object with the score
# per module and the survivors. MUTATE_JOBS (default 2) sets mutmut's worker count.
mutate: setup
	$(PY) -m bench.mutate

# Four locks, every line with its published hashes (installed with --require-hashes):
# requirements.lock for the Pi, requirements-usb.lock with PyAudio, requirements-hub.lock for
# the hospital's hub (its extra and the console's pictures, no test tools),
# requirements-dev.lock for development and CI. Versions are those of this venv (tested),
# constrained by pip freeze.
LOCK_OPTS = --quiet --generate-hashes --allow-unsafe --strip-extras --no-header \
	--no-emit-index-url --no-emit-find-links --no-emit-options -c .lock-constraints.txt
lock:
	$(PY) -m pip install -q pip-tools
	$(PY) -m pip freeze --exclude-editable | grep -v '^stetho-edge' > .lock-constraints.txt
	$(VENV)/bin/pip-compile $(LOCK_OPTS) -o requirements.lock pyproject.toml
	$(VENV)/bin/pip-compile $(LOCK_OPTS) --extra usb -o requirements-usb.lock pyproject.toml
	$(VENV)/bin/pip-compile $(LOCK_OPTS) --extra hub --extra plot \
		-o requirements-hub.lock pyproject.toml
	$(VENV)/bin/pip-compile $(LOCK_OPTS) --extra dev --extra plot --extra hub \
		-o requirements-dev.lock pyproject.toml
	rm .lock-constraints.txt

clean:
	rm -rf $(VENV) $(MYPY_CACHE) .mypy_cache .pytest_cache .ruff_cache build *.egg-info

# On the Raspberry Pi: `sudo make install` (user, venv in /opt/stetho-edge, config, unit);
# `sudo make uninstall` keeps recordings and configuration, `PURGE=1` deletes them too.
# EXTRAS=usb adds USB stethoscope support; DESTDIR=/some/dir stages the install there
# instead (see scripts/install.sh).
install:
	DESTDIR="$(DESTDIR)" EXTRAS="$(EXTRAS)" ./scripts/install.sh

uninstall:
	DESTDIR="$(DESTDIR)" ./scripts/uninstall.sh $(if $(PURGE),--purge)
