# Everything a developer or CI needs, from a fresh clone: `make run`, `make test`.
# The virtualenv is (re)built when pyproject.toml or requirements.lock change.

PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install jars run test test-unit bench bench-install lint typecheck-tree check-observability check-deploy \
	check-helm check-workflows format schemas clean images runtime-lock bench-lock compose-up compose-down

$(STAMP): pyproject.toml requirements.lock
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found; install Python 3.11 or run 'make PYTHON=/path/to/python3.11 ...'" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	@touch $(STAMP)

install: $(STAMP)  ## the .venv with the locked packages and opsassist itself

jars: install  ## resolve the Kafka jars from Maven Central into the cache (once)
	$(BIN)/opsassist infra jars

run: jars  ## start Kafka and PostgreSQL (unless configured), the worker and the API, load demo data
	$(BIN)/opsassist run

# pytest exits 5 when a selection collects no test; that is not a failure here.
test: jars  ## every test: unit, and integration on a real Kafka broker and PostgreSQL server
	$(BIN)/pytest $(PYTEST_ARGS); rc=$$?; if [ $$rc -eq 5 ]; then exit 0; fi; exit $$rc

test-unit: install  ## the unit tests only (no services)
	$(BIN)/pytest tests/unit $(PYTEST_ARGS); rc=$$?; if [ $$rc -eq 5 ]; then exit 0; fi; exit $$rc

BENCHES ?= pipeline webhooks privacy templates incidents triage changelog llm history schema_evolution graphql cli

bench: jars  ## every benchmark (or BENCHES="..."); figures go to docs/benchmarks.md
	@for b in $(BENCHES); do echo "== bench.$$b"; $(BIN)/python -m bench.$$b || exit 1; done

bench-install: install  ## add the benchmarks' third-party references (Presidio, spaCy, drain3, ...) to .venv
	$(BIN)/pip install --quiet -r requirements-bench.lock

# mypy cannot follow setuptools' package-dir (cli/ is opsassist.cli, streams/ opsassist.streams, ...),
# so it reads a tree of links that lays the folders out under their import names.
LAYERS := cli api streams store bus llm infra schemas migrations
typecheck-tree:
	@rm -rf build/typecheck && mkdir -p build/typecheck/opsassist
	@for entry in opsassist/*; do case $${entry##*/} in __pycache__) ;; \
		*) ln -s ../../../$$entry build/typecheck/opsassist/;; esac; done
	@for layer in $(LAYERS); do ln -s ../../../$$layer build/typecheck/opsassist/$$layer; done

lint: install typecheck-tree  ## ruff (lint and format) and mypy, as CI runs them
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# promtool and amtool come with Debian's prometheus and prometheus-alertmanager packages.
check-observability:  ## validate the Prometheus config, rules and their unit tests, and Alertmanager
	promtool check config --syntax-only observability/prometheus/prometheus.yml
	promtool check rules observability/prometheus/rules/*.yml
	promtool test rules observability/prometheus/tests/*.yml
	amtool check-config observability/alertmanager/alertmanager.yml

# -- containers (docs/containers.md)

images: install  ## the base images (stand-ins built where missing) and the opsassist image
	deploy/images/build-local.sh
	deploy/build-image.sh

compose-up: images  ## the compose stack, up and healthy (docker compose up -d --wait)
	docker compose up -d --wait

compose-down:  ## stop the compose stack (its volumes stay; `docker compose down -v` drops them)
	docker compose down

UV ?= uv
runtime-lock:  ## requirements-runtime.lock: the runtime dependencies with hashes, pinned as in requirements.lock
	$(UV) pip compile pyproject.toml -o requirements-runtime.lock --generate-hashes \
		--python-version 3.11 --python-platform x86_64-manylinux_2_28 \
		--constraint requirements.lock --custom-compile-command "make runtime-lock"

bench-lock:  ## requirements-bench.lock: the runtime and the bench extra, pinned as in requirements.lock
	$(UV) pip compile pyproject.toml --extra bench -o requirements-bench.lock \
		--python-version 3.11 --python-platform x86_64-manylinux_2_28 \
		--constraint requirements.lock --custom-compile-command "make bench-lock"

check-deploy:  ## validate docker-compose.yml (docker compose, or Debian's docker-compose)
	@if docker compose version >/dev/null 2>&1; then docker compose config -q; \
	else docker-compose config -q; fi

# -- Kubernetes and GitHub Actions (docs/kubernetes.md). .ci/run builds helm and actionlint from
# their Go modules into ~/.cache/opsassist/bin; `HELM=... ACTIONLINT=...` to use others.
HELM       ?= helm
ACTIONLINT ?= actionlint
CHART      := helm/opsassist
KUBE_VERSION ?= 1.30.0

check-helm:  ## helm lint --strict and helm template of the chart, default and production-like values
	$(HELM) lint --strict $(CHART) --kube-version $(KUBE_VERSION)
	$(HELM) lint --strict $(CHART) --kube-version $(KUBE_VERSION) -f $(CHART)/values-prod.yaml
	$(HELM) template opsassist $(CHART) --kube-version $(KUBE_VERSION) >/dev/null
	$(HELM) template opsassist $(CHART) --kube-version $(KUBE_VERSION) -f $(CHART)/values-prod.yaml >/dev/null

check-workflows:  ## actionlint on every GitHub Actions workflow
	$(ACTIONLINT) -no-color .github/workflows/*.yml

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

schemas: install  ## re-export the events' JSON Schema into schemas/json/
	$(BIN)/opsassist schemas export

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
