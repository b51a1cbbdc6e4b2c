# One entry point for people and CI: `make run` and `make test` set up a fresh Debian machine
# (system packages, virtualenv, project) and then serve the app or run the whole test suite.

RUN_PACKAGES := tesseract-ocr tesseract-ocr-eng fonts-ocr-b fonts-dejavu-core
# Only the tests need these: chromium for the real-browser test (Playwright drives Debian's
# build), with a CJK font so the Japanese and Chinese pages are drawn and measured as a phone
# draws them (DejaVu has no CJK glyphs), and postgresql and redis-server for the scale-out path
# (tests start throwaway servers).
TEST_PACKAGES := chromium fonts-droid-fallback postgresql redis-server
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
HOST ?= 127.0.0.1
PORT ?= 8000
# The links `make run` prints must reach this server; set it to the address phones will use.
IDFLOW_BASE_URL ?= http://$(if $(filter 0.0.0.0,$(HOST)),127.0.0.1,$(HOST)):$(PORT)
LINTED := processing webapp idflow_signature bench tests scripts
BENCH_DIR ?= out/bench-samples
BENCH_COUNT ?= 100

.PHONY: run test test-fast lint bench samples models system test-system clean translations

# Without the YuNet download (no network) the selfie check falls back to dlib's HOG detector.
run: export IDFLOW_BASE_URL := $(IDFLOW_BASE_URL)
run: $(STAMP)
	@$(MAKE) --no-print-directory models \
		|| echo "YuNet face detector not installed: face detection uses dlib's HOG detector"
	$(BIN)/idflow demo
	$(BIN)/idflow serve --host $(HOST) --port $(PORT)

test: $(STAMP) test-system lint
	$(BIN)/pytest

# Everything but tests/e2e and the PostgreSQL and S3 cases elsewhere (no browser, no servers to start),
# one test file per worker on every core.
test-fast: $(STAMP) lint
	$(BIN)/pytest -n auto --dist loadfile -m "not slow and not browser and not postgres and not redis and not s3"

lint: $(STAMP)
	$(BIN)/ruff check $(LINTED)
	$(BIN)/ruff format --check $(LINTED)
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/idflow samples $(BENCH_DIR)/clean --count $(BENCH_COUNT) --seed 1 --variant clean
	$(BIN)/idflow samples $(BENCH_DIR)/photographed --count $(BENCH_COUNT) --seed 2 --variant photographed
	$(BIN)/idflow bench $(BENCH_DIR)/clean --compare passporteye
	$(BIN)/idflow bench $(BENCH_DIR)/photographed --compare passporteye
	@if [ -d ../shared/samples/specimens ]; then \
		$(BIN)/idflow bench ../shared/samples/specimens --compare passporteye; fi

samples: $(STAMP)
	$(BIN)/idflow samples out/samples --count 20 --seed 1

# The YuNet face detector for the portrait step: copied from ../shared when present, else fetched
# from the OpenCV model zoo; checked against its published sha256 either way.
YUNET := models/face_detection_yunet_2023mar.onnx
YUNET_URL := https://github.com/opencv/opencv_zoo/raw/main/models/face_detection_yunet/face_detection_yunet_2023mar.onnx
YUNET_SHA256 := 8f2383e4dd3cfbb4553ea8718107fc0423210dc964f9f4280604804ed2552fa4

models: $(YUNET)

$(YUNET):
	mkdir -p models
	if [ -f ../shared/models/$(notdir $@) ]; then cp ../shared/models/$(notdir $@) $@.tmp; \
	else curl -fsSL -o $@.tmp $(YUNET_URL); fi
	echo "$(YUNET_SHA256)  $@.tmp" | sha256sum -c - && mv $@.tmp $@

# The pages' languages: extract the catalog's messages, merge them into every language's .po
# (new ones empty, changed ones fuzzy: translate those) and compile the .mo files the app reads.
# The .mo files are committed, so installing and serving need no step; tests/webapp/test_i18n.py
# fails when a catalog is stale, untranslated or not compiled.
CATALOG := webapp/translations
translations: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg --no-location --sort-output --omit-header \
		-k _l -k lazy_gettext -o $(CATALOG)/messages.pot .
	$(BIN)/pybabel update -i $(CATALOG)/messages.pot -d $(CATALOG) --ignore-obsolete -w 100
	rm $(CATALOG)/messages.pot
	$(BIN)/pybabel compile -d $(CATALOG) --statistics

# Installs only what is missing, so a prepared machine pays nothing.
system: PACKAGES = $(RUN_PACKAGES)
test-system: PACKAGES = $(RUN_PACKAGES) $(TEST_PACKAGES)
system test-system:
	@missing=""; \
	for pkg in $(PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$pkg 2>/dev/null | grep -q "install ok installed" \
			|| missing="$$missing $$pkg"; \
	done; \
	$(PYTHON) -c 'import venv, ensurepip' 2>/dev/null || missing="$$missing python3-venv"; \
	if [ -n "$$missing" ]; then \
		echo "Installing system packages:$$missing"; \
		$(SUDO) apt-get update && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing; \
	fi

# dev brings the bench extra (PassportEye) too: the tests run the benchmarks, `make bench` needs it.
$(STAMP): pyproject.toml | system
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

clean:
	rm -rf $(VENV) out test-output .pytest_cache .mypy_cache .ruff_cache *.egg-info
