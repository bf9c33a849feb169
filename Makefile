# ParcelCare: `make run` starts everything, `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: run test bench bench-stack venv migrate histories clean seed-quality demo

$(VENV)/.installed: requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.lock
	touch $@

venv: $(VENV)/.installed

run: venv
	$(PY) devstack.py

# Its own stack (policy/demo.toml, seconds): every kind walked to its end, then tickets left on the desk; Ctrl-C stops.
demo: venv
	$(PY) demo.py --own-stack

migrate: venv
	$(PY) -m store.migrate

# Lint and type-check first (seconds), then the whole suite.
test: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(PY) -m pytest -q

# Add real runs of the current workflow version to tests/histories/<version>/ and seal them in the
# manifest (commit the result). Histories already saved are never rewritten or deleted.
histories: venv
	PARCELCARE_SAVE_HISTORIES=1 $(PY) -m pytest -q tests/workflows --deselect tests/workflows/test_replay.py
	$(PY) -m tests.workflows.corpus seal

# Seed a quality data set through the API of the running `make run` stack (README "Quality management").
seed-quality: venv
	AUTH="$${AUTH:-Authorization: Bearer $$(cat $${PARCELCARE_DATA_DIR:-.data}/dev-admin.key)}" $(PY) scripts/seed_quality.py $(SEED_ARGS)

bench: venv
	$(PY) bench/clock.py
	$(PY) bench/history.py

# The full stack against the bare engine on its own stack (a few minutes); `make bench-stack ARGS="--help"`.
bench-stack: venv
	$(PY) bench/stack.py $(ARGS)

clean:
	rm -rf $(VENV) .data .pytest_cache .hypothesis
