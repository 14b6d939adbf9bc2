# Task runner. `make help` lists the targets.
SHELL := /usr/bin/env bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

SOLUTION := apps/Shortener.slnx
APPHOST  := apps/src/Shortener.AppHost
GIT_SHA  := $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
export DOTNET_CLI_TELEMETRY_OPTOUT := 1
export DOTNET_NOLOGO := 1

.PHONY: help
help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: prerequisites
prerequisites: ## Install (as root on Debian/Ubuntu) or name what run/test need
	@scripts/prerequisites.sh

.PHONY: build
build: ## Build the solution
	dotnet build $(SOLUTION) -p:GIT_SHA=$(GIT_SHA)

.PHONY: run
run: prerequisites ## Run PostgreSQL, Redis, migrator, API and worker locally (Ctrl-C stops everything)
	@scripts/run-local.sh

.PHONY: test
test: ## Build and run every test against real PostgreSQL and Redis processes
	@scripts/prerequisites.sh test
	@scripts/test.sh

.PHONY: resilience
resilience: ## Only the resilience tests under load (PostgreSQL/Redis stopped, SIGTERM, SIGKILL, slow PostgreSQL); part of `make test` too
	@scripts/prerequisites.sh test
	dotnet build $(SOLUTION) -nologo -v quiet -p:GIT_SHA=$(GIT_SHA)
	dotnet test apps/tests/Shortener.Tests --no-build --filter Category=Resilience --logger "console;verbosity=normal"

.PHONY: bench
bench: ## Benchmarks with same-run baselines (isolated Release build, fresh PostgreSQL/Redis): make bench ARGS=--quick
	@scripts/bench.sh $(ARGS)

.PHONY: image-test
image-test: ## Build apps/Dockerfile with podman on local base images, then run and check the images (root)
	@scripts/prerequisites.sh image-test
	@scripts/image-test.sh

.PHONY: chaos
chaos: ## Inject a fault on every API replica: make chaos FAULT=errors RATE=0.3 FOR=5m [ROUTE=/{code}] (latency: MS=500; cpu; clear)
	@case "$(FAULT)" in \
	  errors)  scripts/chaos.sh errors "$(RATE)" "$(or $(FOR),5m)" "$(ROUTE)" ;; \
	  latency) scripts/chaos.sh latency "$(MS)" "$(or $(FOR),5m)" "$(ROUTE)" ;; \
	  cpu)     scripts/chaos.sh cpu "$(or $(FOR),60)" ;; \
	  clear|"") scripts/chaos.sh clear ;; \
	  *) echo "FAULT must be errors, latency, cpu or clear" >&2; exit 2 ;; \
	esac

.PHONY: docs-check
docs-check: ## Render every Mermaid diagram in README.md and docs/ in Debian's Chromium (not in `make test`)
	@scripts/check-mermaid.sh

.PHONY: clean
clean: ## Remove build output
	dotnet clean $(SOLUTION) >/dev/null
	find apps -type d \( -name bin -o -name obj \) -prune -exec rm -rf {} +

.PHONY: clean-data
clean-data: ## Delete the local PostgreSQL/Redis data of `make run` (.data/)
	rm -rf .data
