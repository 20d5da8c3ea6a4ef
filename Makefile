# Two commands for a fresh machine: `make run` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 5000
export FLASK_APP := wsgi:app
# The model ships inside a package; the hub must never be asked for it.
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
TEST_DATABASE_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
# Tests go to whichever worker is free (worksteal): with whole files per worker, the file holding the four
# schemathesis walks alone kept one worker busy for five minutes while the other idled. A module's
# fixtures (its browser, its live server) may then start once in each worker.
PYTEST_ARGS ?= -n 2 --dist worksteal --durations=40

.PHONY: install run serve test lint system-deps db seed bench clean screenshots catalogues

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is required (set PYTHON=/path/to/python3.11)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# torch first and pinned: anything unpinned would fetch a multi-GB CUDA build.
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

# The query encoder runs the model exported to ONNX (3x faster than PyTorch, same vectors);
# exported here from the bundled weights, once per environment.
ONNX_BUILT := $(VENV)/share/coknow/all-MiniLM-L6-v2-onnx/build_info.json
$(ONNX_BUILT): $(STAMP)
	$(BIN)/python -W ignore -m knowledge_index.onnx_model build
	touch $@

# The message-kind classifier (question / feature request / bug report / other) is trained on the data
# that ships in bot/data/, once per environment and again whenever that data changes.
KINDS_BUILT := $(VENV)/share/coknow/message-kinds/.built
$(KINDS_BUILT): $(ONNX_BUILT) bot/data/message_kinds.jsonl bot/kinds.py
	$(BIN)/python -W ignore -m bot.kinds build
	touch $@

# The shipped off-topic pool's vectors (part of each small help center's own confidence curve, bot/calibration.py).
OFF_TOPIC_BUILT := $(VENV)/share/coknow/off-topic/.built
$(OFF_TOPIC_BUILT): $(ONNX_BUILT) bot/data/off_topic.jsonl
	$(BIN)/python -W ignore -m bot.calibration build
	touch $@

# The interface catalogues: .po files are checked in, the .mo files Flask-Babel reads are built here.
MO_FILES := $(patsubst %.po,%.mo,$(wildcard community/translations/*/LC_MESSAGES/messages.po))
%.mo: %.po $(STAMP)
	$(BIN)/pybabel compile -i $< -o $@

install: $(STAMP) $(ONNX_BUILT) $(KINDS_BUILT) $(OFF_TOPIC_BUILT) $(MO_FILES)

# After marking new strings: extract them and merge them into every catalogue, then translate what
# `pytest tests/community/test_i18n.py` names (it fails while the Chinese catalogue lacks a message).
catalogues: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext --no-location --sort-output -w 100 -o instance/messages.pot .
	$(BIN)/pybabel update -i instance/messages.pot -d community/translations --no-fuzzy-matching --ignore-obsolete -w 100

instance:
	mkdir -p instance

db: install instance
	$(BIN)/flask db upgrade heads

seed: db
	$(BIN)/flask coknow seed --if-empty

run: seed
	$(BIN)/flask coknow serve --host $(HOST) --port $(PORT)

# Programs the tests drive, from Debian's packages (command:package): chromium for the browser tests
# (browsers cannot be downloaded here), nginx for the production tests and the scaling benchmark, and a
# Chinese font so that screenshots of the Chinese interface show its text.
# Installed as root when missing; otherwise named, and the tests that need them are skipped.
SYSTEM_DEPS := chromium:chromium nginx:nginx fonts-wqy-zenhei:fonts-wqy-zenhei
system-deps:
	@missing=""; for dep in $(SYSTEM_DEPS); do \
		command -v "$${dep%%:*}" >/dev/null || dpkg-query -W -f='$${Status}' "$${dep#*:}" 2>/dev/null | grep -q "ok installed" || missing="$$missing $${dep#*:}"; \
	done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; \
		else echo "missing:$$missing; install these Debian packages (as root: make system-deps) to run the tests that need them"; fi; \
	fi

# The hygiene gate runs first and fails the build: style and security rules, types, layers.
lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

test: lint system-deps
	TEST_DATABASE_URL=$(TEST_DATABASE_URL) $(BIN)/python -m pytest $(PYTEST_ARGS)

# Production mode: PROCESSES single-worker gunicorn processes from PORT up and a job worker, on
# DATABASE_URL (PostgreSQL) and SOCKETIO_MESSAGE_QUEUE (Redis); nginx in front (deploy/nginx.conf).
PROCESSES ?= 2
serve: install
	PROCESSES=$(PROCESSES) PORT=$(PORT) BIN=$(BIN) deploy/serve.sh

# Every page at 1280 and 390 px from a throw-away demo site: make screenshots OUT=folder
OUT ?= screenshots
screenshots: install system-deps
	$(BIN)/python tools/screenshots.py $(OUT)

bench: install
	$(BIN)/python bench/index_bench.py
	$(BIN)/python bench/bot_bench.py

clean:
	rm -rf $(VENV) instance
