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

# Re-record tests/histories/ from real runs on the dev and time-skipping servers (commit the result).
histories: venv
	rm -f tests/histories/*.json
	PARCELCARE_SAVE_HISTORIES=1 $(PY) -m pytest -q tests/e2e tests/workflows --deselect tests/workflows/test_replay.py

bench: venv
	$(PY) bench/clock.py

clean:
	rm -rf $(VENV) .data .pytest_cache .hypothesis
