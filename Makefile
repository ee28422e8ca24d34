# The two commands: `make run` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
export DATABASE_URL ?= sqlite://data/forum.sqlite3

.PHONY: run test install install-dev assets migrate seed audit bench clean

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed pyproject.toml
	$(PIP) install --quiet -e ".[dev]"
	touch $@

install: $(VENV)/.installed assets
install-dev: $(VENV)/.installed-dev assets

node_modules/.package-lock.json: package.json package-lock.json
	# --include=dev: the tests run a real OpenID provider (oidc-provider) from node_modules.
	npm ci --include=dev --no-audit --no-fund --loglevel=error

# Third-party front-end files are copied from node_modules, never committed.
static/vendor/htmx.min.js: node_modules/.package-lock.json
	mkdir -p static/vendor
	cp node_modules/htmx.org/dist/htmx.min.js static/vendor/htmx.min.js

assets: static/vendor/htmx.min.js

migrate: install
	$(VENV)/bin/forum migrate

seed: migrate
	$(VENV)/bin/forum seed-demo

run: seed
	$(VENV)/bin/forum serve --host 127.0.0.1 --port 8000

# Fails on any known vulnerability. Where no vulnerability service is reachable
# (offline machines), pip-audit can check nothing: say so loudly instead of passing quietly.
audit: install-dev
	@out=$$($(VENV)/bin/pip-audit --progress-spinner off --skip-editable 2>&1); status=$$?; \
	echo "$$out" | grep -v "could not be audited"; \
	skipped=$$(echo "$$out" | grep -c "could not be audited"); \
	if [ "$$skipped" -gt 0 ]; then echo "NOTICE: pip-audit could not reach a vulnerability service for $$skipped packages: they were NOT audited here."; fi; \
	exit $$status

test: install-dev
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS)
	$(MAKE) --no-print-directory audit

# Benchmarks (never part of `make test`): every suite (pages, search, latency, write) by
# default; e.g. make bench BENCH_ARGS="--only pages --database postgres" (see the README).
# The closed-loop load generator is wrk from Debian's packages.
bench: install-dev
	@command -v wrk >/dev/null 2>&1 || { echo "--- installing wrk (Debian package)"; \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null || \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }; }
	$(PY) -m bench.run $(BENCH_ARGS)

clean:
	rm -rf $(VENV) node_modules static/vendor
