# Two commands do everything on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
WHEELS := .cache/wheels
LLAMA_VERSION := 0.3.36
LLAMA_WHEEL := $(WHEELS)/.llama-cpp-python-$(LLAMA_VERSION)
# llama.cpp's AMX kernels segfault on this CPU family: build without them, and never reuse
# pip's wheel cache (it ignores CMAKE_ARGS). See docs/local-models.md.
LLAMA_CMAKE_ARGS := -DLLAVA_BUILD=OFF "-DCMAKE_C_FLAGS=-mno-amx-tile -mno-amx-int8 -mno-amx-bf16" "-DCMAKE_CXX_FLAGS=-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"

.PHONY: run test setup browser clean

# The offline quickstart: run the embedded model on the headline cells, judge, report.
run: $(STAMP)
	$(BIN)/insider run configs/quickstart.yaml
	$(BIN)/insider report logs/quickstart --out reports/quickstart --compare-paper
	@echo "insider is in $(BIN), not on your PATH: run 'source $(BIN)/activate' to type insider, or call $(BIN)/insider"

test: $(STAMP) browser
	$(BIN)/python -m pytest

setup: $(STAMP)

$(LLAMA_WHEEL):
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	mkdir -p $(WHEELS)
	CMAKE_ARGS='$(LLAMA_CMAKE_ARGS)' $(BIN)/pip wheel --no-cache-dir --no-deps \
		llama-cpp-python==$(LLAMA_VERSION) -w $(WHEELS)
	touch $@

$(STAMP): pyproject.toml $(LLAMA_WHEEL)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --only-binary llama-cpp-python --find-links $(WHEELS) -e ".[dev,providers,ray]"
	touch $@

# Debian's Chromium for the report's browser test (Playwright drives it; no browser download).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium >/dev/null; }

clean:
	rm -rf $(VENV) .cache .pytest_cache
