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
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_-]+:.*## / {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

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

.PHONY: restore-drill
restore-drill: ## Backup and point-in-time restore drill (pgBackRest, real PostgreSQL, API and worker); prints RPO/RTO; part of `make test` too
	@scripts/prerequisites.sh test
	dotnet build $(SOLUTION) -nologo -v quiet -p:GIT_SHA=$(GIT_SHA)
	dotnet test apps/tests/Shortener.Tests --no-build --filter Category=RestoreDrill --logger "console;verbosity=normal"

.PHONY: restore-bench
restore-bench: ## Restore time at two database sizes (default 1M and 10M links; RESTORE_BENCH_SIZES=...), written to bench/results; minutes
	@scripts/prerequisites.sh test
	dotnet build $(SOLUTION) -nologo -v quiet -p:GIT_SHA=$(GIT_SHA)
	dotnet test apps/tests/Shortener.Tests --no-build --filter Category=Benchmark --logger "console;verbosity=normal"

.PHONY: backup
backup: ## pgBackRest backup of the `make run` PostgreSQL into .data/pgbackrest: make backup [TYPE=full|diff|incr]
	@scripts/backup.sh backup $(or $(TYPE),incr)

.PHONY: restore
restore: ## Restore the `make run` PostgreSQL (stop make run first): newest backup, or make restore TARGET='2026-12-02 07:30:00+00'
	@scripts/backup.sh restore "$(TARGET)"

.PHONY: screenshots
screenshots: ## Regenerate the README's pictures (docs/images: console pages, a redirect's trace in the Aspire dashboard) with the browser tests
	@scripts/prerequisites.sh test
	dotnet build $(SOLUTION) -nologo -v quiet -p:GIT_SHA=$(GIT_SHA)
	SCREENSHOTS_DIR=$(CURDIR)/docs/images dotnet test apps/tests/Shortener.EndToEndTests --no-build --filter "FullyQualifiedName~ConsoleBrowserTests"

.PHONY: bench
bench: ## Benchmarks with same-run baselines (isolated Release build, fresh PostgreSQL/Redis): make bench ARGS=--quick
	@scripts/bench.sh $(ARGS)

.PHONY: image-test
image-test: ## Build apps/Dockerfile with podman on local base images, then run and check the images (root)
	@scripts/prerequisites.sh image-test
	@scripts/image-test.sh

.PHONY: infra-check
infra-check: ## Offline Terraform checks: fmt, provider schemas, policy, cloud-init (part of `make test`)
	@scripts/check-infra.sh

.PHONY: infra-boot-test
infra-boot-test: ## Apply the cloud-init user-data to a Debian 13 rootfs (root; minutes the first time) and check users, sshd, disk, firewall
	@scripts/infra-boot-test.sh

.PHONY: deploy-test
deploy-test: ## Only the deploy tool's tests: rollout and automatic rollback under load on local processes, secrets, migration safety; part of `make test` too
	@scripts/prerequisites.sh test
	dotnet build $(SOLUTION) -nologo -v quiet -p:GIT_SHA=$(GIT_SHA)
	dotnet test apps/tests/Shortener.Tests --no-build --filter "FullyQualifiedName~Shortener.Tests.Deploy" --logger "console;verbosity=normal"

.PHONY: delivery-check
delivery-check: ## Only the workflow checks: actionlint, shellcheck of run: blocks, policy tests (part of `make test` too)
	@scripts/check-delivery.sh

.PHONY: chaos
chaos: ## Inject a fault on every API replica: make chaos FAULT=errors RATE=0.3 FOR=5m [ROUTE=/{code}] (latency: MS=500; cpu; clear)
	@case "$(FAULT)" in \
	  errors)  scripts/chaos.sh errors "$(RATE)" "$(or $(FOR),5m)" "$(ROUTE)" ;; \
	  latency) scripts/chaos.sh latency "$(MS)" "$(or $(FOR),5m)" "$(ROUTE)" ;; \
	  cpu)     scripts/chaos.sh cpu "$(or $(FOR),60)" ;; \
	  clear|"") scripts/chaos.sh clear ;; \
	  *) echo "FAULT must be errors, latency, cpu or clear" >&2; exit 2 ;; \
	esac

.PHONY: audit
audit: ## Fail on known-vulnerable NuGet packages (direct and transitive; needs nuget.org's audit data, so CI)
	dotnet restore $(SOLUTION) --force-evaluate -p:NuGetAudit=true -p:NuGetAuditMode=all -p:NuGetAuditGate=true

.PHONY: docs-check
docs-check: ## Render every Mermaid diagram in README.md and docs/ in Debian's Chromium (not in `make test`)
	@scripts/check-mermaid.sh

.PHONY: clean
clean: ## Remove build output
	dotnet clean $(SOLUTION) >/dev/null
	find apps -type d \( -name bin -o -name obj \) -prune -exec rm -rf {} +

.PHONY: clean-data
clean-data: ## Delete the local PostgreSQL/Redis data of `make run` (.data/, and the cluster it links to when the clone is private)
	@if [ -L .data/postgres ]; then rm -rf "$$(dirname "$$(readlink -f .data/postgres)")"; fi
	rm -rf .data

# --- Kubernetes (deploy/k8s) ---------------------------------------------------------------------
CAPACITY_BENCH ?= $(shell ls bench/results/*.json | grep -v -- '-quick' | grep -v -- '-dirty' | sort | tail -n 1)

.PHONY: capacity
capacity: ## docs/capacity.md from the newest full `make bench` result (or CAPACITY_BENCH=bench/results/X.json)
	dotnet run --project apps/tools/Shortener.Kubernetes -- capacity $(CAPACITY_BENCH) --repo . --out docs/capacity.md

.PHONY: k8s-monitoring
k8s-monitoring: ## deploy/k8s/base/monitoring: PrometheusRule and dashboard ConfigMaps from observability/ (one source for every mode)
	dotnet run --project apps/tools/Shortener.Kubernetes -- monitoring --repo .

.PHONY: k8s-check
k8s-check: ## Only the deploy/k8s checks: overlays rendered, schemas, policy, bad fixtures, scaling simulation (all part of `make test`)
	@[ -d deploy/tests/node_modules ] || npm ci --prefix deploy/tests --no-audit --no-fund --loglevel=error
	node --test deploy/tests/k8s.test.mjs
	dotnet test apps/tests/Shortener.Kubernetes.Tests
