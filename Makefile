# Set-up is idempotent: the venv is reused and pip skips what is already installed.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | md5sum | cut -c1-12)

.PHONY: setup test lint demo bench study clean

$(PY):
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(STAMP): $(PY) pyproject.toml
	$(PY) -m pip install -q "torch==2.14.1" "torchvision==0.29.1"
	$(PY) -m pip install -q -e ".[dev]"
	rm -f $(VENV)/.installed-* && touch $(STAMP)

setup: $(STAMP)

lint: setup
	$(VENV)/bin/ruff check uec_vlm data_zoo evals tests bench

test: setup lint
	$(VENV)/bin/pytest -q tests

demo: setup
	$(VENV)/bin/uec-vlm demo

bench: setup
	$(PY) -m pip install -q -e ".[dev,bench]"
	$(PY) bench/run_all.py

# The multi-seed study: GRPO vs DAPO vs UEC and UEC ablations, 3 seeds, CPU; report in runs/study/synthgeo/report/
# (the checked-in docs/study/ is regenerated with `uec-vlm study synthgeo report_dir=docs/study`).
study: setup
	$(VENV)/bin/uec-vlm study synthgeo

clean:
	rm -rf $(VENV) runs .pytest_cache
