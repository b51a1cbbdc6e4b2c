# One entry point for people and CI: `make run` and `make test` set up a fresh Debian machine
# (system packages, virtualenv, project) and then serve the app or run the whole test suite.

SYSTEM_PACKAGES := tesseract-ocr tesseract-ocr-eng fonts-ocr-b fonts-dejavu-core
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
HOST ?= 127.0.0.1
PORT ?= 8000
BENCH_DIR ?= out/bench-samples
BENCH_COUNT ?= 100

.PHONY: run test bench lint samples system clean

run: $(STAMP)
	$(BIN)/idflow serve --host $(HOST) --port $(PORT)

test: $(STAMP)
	$(BIN)/ruff check processing webapp tests
	$(BIN)/mypy
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/idflow samples $(BENCH_DIR)/clean --count $(BENCH_COUNT) --seed 1 --variant clean
	$(BIN)/idflow samples $(BENCH_DIR)/photographed --count $(BENCH_COUNT) --seed 2 --variant photographed
	$(BIN)/idflow bench $(BENCH_DIR)/clean --compare passporteye
	$(BIN)/idflow bench $(BENCH_DIR)/photographed --compare passporteye
	@if [ -d ../shared/samples/specimens ]; then \
		$(BIN)/idflow bench ../shared/samples/specimens --compare passporteye; fi

lint: $(STAMP)
	$(BIN)/ruff check processing webapp tests
	$(BIN)/ruff format --check processing webapp tests
	$(BIN)/mypy

samples: $(STAMP)
	$(BIN)/idflow samples out/samples --count 20 --seed 1

# Installs only what is missing, so a prepared machine pays nothing.
system:
	@missing=""; \
	for pkg in $(SYSTEM_PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$pkg 2>/dev/null | grep -q "install ok installed" \
			|| missing="$$missing $$pkg"; \
	done; \
	$(PYTHON) -c 'import venv, ensurepip' 2>/dev/null || missing="$$missing python3-venv"; \
	if [ -n "$$missing" ]; then \
		echo "Installing system packages:$$missing"; \
		$(SUDO) apt-get update && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing; \
	fi

$(STAMP): pyproject.toml | system
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

clean:
	rm -rf $(VENV) out test-output .pytest_cache .mypy_cache .ruff_cache *.egg-info
