# streamfn: `make dev` runs the whole platform, `make test` runs the whole suite.
# Both install what is missing first: system packages (apt) and a .venv for Python.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
RUN := PYTHONPATH=$(CURDIR) $(PY)

.PHONY: dev prod test unit bench system venv dev-venv web clean

dev: system venv
	$(RUN) -m local dev

# The same platform for real viewers: HTTPS, and nothing only fit for development (README).
prod: system venv
	STREAMFN_ENVIRONMENT=production $(RUN) -m local dev

test: system dev-venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(RUN) -m pytest

unit: dev-venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(RUN) -m pytest tests/unit

bench: system dev-venv $(VENV)/.bench-installed
	cd bench && PYTHONPATH=$(CURDIR) ../$(PY) cold_start.py
	cd bench && PYTHONPATH=$(CURDIR) ../$(PY) login.py
	cd bench && PYTHONPATH=$(CURDIR) ../$(PY) follows.py
	cd bench && PYTHONPATH=$(CURDIR) ../$(PY) ingest.py
	cd bench && PYTHONPATH=$(CURDIR) ../$(PY) views.py
	cd bench && PYTHONPATH=$(CURDIR) ../$(PY) recommendations.py
	cd bench && PYTHONPATH=$(CURDIR) ../$(PY) recording.py
	cd bench && PYTHONPATH=$(CURDIR) ../$(PY) fanout.py
	cd bench && PYTHONPATH=$(CURDIR) ../$(PY) runtime.py
	cd bench && PYTHONPATH=$(CURDIR) ../$(PY) chat.py
	cd bench && PYTHONPATH=$(CURDIR) ../$(PY) latency.py
	cd bench && PYTHONPATH=$(CURDIR) ../$(PY) home.py
	cd bench && PYTHONPATH=$(CURDIR) ../$(PY) tracing.py

system:
	@bash local/install-system.sh

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-web.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt -r requirements-web.txt
	touch $@

# The suite's tools beside them; `make dev` and `make prod` run without.
dev-venv: $(VENV)/.dev-installed

$(VENV)/.dev-installed: $(VENV)/.installed requirements-dev.txt
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $@

$(VENV)/.bench-installed: $(VENV)/.dev-installed bench/requirements.txt
	$(PY) -m pip install -q -r bench/requirements.txt
	touch $@

web: venv
	$(RUN) -m local.web

clean:
	rm -rf .local $(VENV)
