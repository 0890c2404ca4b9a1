# make demo: set everything up and render the lecture kit into outputs/.
# make test: set everything up and run the whole test suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TORCH := 2.13.0

.PHONY: setup demo test bench graphviz torch notebook pictures clean

$(STAMP): pyproject.toml
	@echo "setup 1/3: a Python environment in $(VENV)/"
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "setup 2/3: pip"
	@$(BIN)/python -m pip install --quiet --upgrade pip
	@echo "setup 3/3: convgraph and what it needs (numpy, networkx, graphviz, matplotlib, imageio, Pillow, tqdm)"
	@echo "           and the test tools; about a minute the first time"
	@$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $@

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
	@echo "rendering the lecture kit into outputs/ (about 5 s on 2 cores)"
	@$(BIN)/convgraph demo --out outputs
	@echo "run convgraph as $(BIN)/convgraph and Python as $(BIN)/python, or first: source $(BIN)/activate"

test: setup
	$(BIN)/python -m pytest

# PyTorch for exercise 3, `convgraph check` and the tests' cross-checks: the release the tests use.
# (On a machine whose PyPI wheel is the multi-GB CUDA build, add
#  --index-url https://download.pytorch.org/whl/cpu for the CPU build.)
torch: setup
	@echo "installing PyTorch $(TORCH)"
	@$(BIN)/python -m pip install --quiet torch==$(TORCH)

# The lesson notebook in Jupyter (installs the notebook extra the first time).
notebook: setup
	@$(BIN)/python -m pip install --quiet -e '.[notebook]'
	$(BIN)/jupyter notebook examples/day17_lesson.ipynb

# The README's pictures of the lecture kit, under docs/.
pictures: setup
	$(BIN)/python docs/pictures.py

bench: setup
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python benchmarks/bench_tracer.py
	$(BIN)/python benchmarks/bench_render.py
	$(BIN)/python benchmarks/bench_animate.py
	$(BIN)/python benchmarks/bench_kit.py

clean:
	rm -rf $(VENV) outputs .pytest_cache .hypothesis
