# ParcelCare: `make run` starts everything, `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: run test bench venv migrate histories clean

$(VENV)/.installed: requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.lock
	touch $@

venv: $(VENV)/.installed

run: venv
	$(PY) devstack.py

migrate: venv
	$(PY) -m store.migrate

test: venv
	$(PY) -m pytest -q

# Re-record tests/histories/ from real dev-server runs (commit the result).
histories: venv
	PARCELCARE_SAVE_HISTORIES=1 $(PY) -m pytest -q tests/e2e

bench: venv
	$(PY) bench/clock.py

clean:
	rm -rf $(VENV) .data .pytest_cache .hypothesis
