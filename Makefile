# make demo: set everything up and render the lecture kit into outputs/.
# make test: set everything up and run the whole test suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup demo test bench graphviz clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

# Graphviz's dot program comes from the system package manager, not from pip.
graphviz:
	@if command -v dot >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing Graphviz (apt-get install graphviz)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq graphviz >/dev/null; \
	else \
		echo "convgraph needs Graphviz's 'dot' program. Install it with one of:" >&2; \
		echo "  sudo apt-get install graphviz   (Debian, Ubuntu)" >&2; \
		echo "  brew install graphviz           (macOS)" >&2; \
		echo "  conda install -c conda-forge graphviz" >&2; \
		exit 1; \
	fi

setup: $(STAMP) graphviz

demo: setup
	$(BIN)/convgraph demo --out outputs

test: setup
	$(BIN)/python -m pytest

bench: setup
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python benchmarks/bench_tracer.py
	$(BIN)/python benchmarks/bench_render.py
	$(BIN)/python benchmarks/bench_animate.py

clean:
	rm -rf $(VENV) outputs .pytest_cache .hypothesis
