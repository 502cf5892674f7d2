# servebench — run `make help` for the targets.
GO        ?= go
BIN       := bin
TESTFLAGS ?=
SIM_IMAGE ?= servebench/vllm-sim:dev
# Scenario benchmarks run a whole load pattern per iteration and report their
# figures with b.ReportMetric; micro-benchmarks measure one operation.
SCENARIO_BENCH := Constant2000|SleeperAlone|Truth500|ScaleStreams|AddedTTFT500|ChunksPerCPUSecond|ChunkCPU|Scrape20k|ScrapeUnderLoad|CompareLargeLevel|BootstrapP99Diff|MannWhitney100k
MICRO_BENCH    := Read|Observe|TokenChunk|Count|Parse|TrackerWrite
IMAGE     ?= servebench/servebench:dev
# What --version, servebench_build_info and run manifests report.
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
COMMIT    ?= $(shell git describe --always --dirty --abbrev=40 --match=no-tag-matches 2>/dev/null)
LDFLAGS   := -X github.com/servebench/servebench/internal/buildinfo.version=$(VERSION) -X github.com/servebench/servebench/internal/buildinfo.commit=$(COMMIT)
# Image architecture: this machine's by default (ARCH=arm64 cross-builds);
# the multi-arch targets build every one of ARCHS with buildx.
HOSTARCH  := $(shell $(GO) env GOARCH)
ARCH      ?= $(HOSTARCH)
ARCHS     ?= amd64 arm64
comma     := ,
PLATFORMS := $(subst $(eval) ,$(comma),$(foreach a,$(ARCHS),linux/$(a)))
# A foreign ARCH needs BuildKit to label the image with its platform.
PLATFORM_FLAG = $(if $(filter $(ARCH),$(HOSTARCH)),,--platform linux/$(ARCH))
# Where buildx puts a multi-arch image: a registry by default.
BUILDX_OUTPUT ?= --push

.DEFAULT_GOAL := help

.PHONY: help
help: ## Show the targets and what they do
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_-]+:.*## / {printf "  %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: run
run: ## Run the smoke suite on the built-in engine simulator (no vLLM, no Docker)
	$(GO) run ./cmd/runner start --suite smoke

.PHONY: build
build: ## Build every binary into bin/ (static, CGO off)
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/ ./cmd/...

.PHONY: deps
deps: ## Install and start what the tests need (Prometheus, Alertmanager, VictoriaMetrics, dockerd, Chromium)
	./deploy/scripts/test-deps.sh

.PHONY: test
test: deps ## Install test dependencies, then run unit and end-to-end tests and check generated files
	$(GO) vet ./...
	GOARCH=arm64 $(GO) build ./...
	$(GO) test -count=1 -timeout 30m $(TESTFLAGS) ./...

.PHONY: unit
unit: ## Unit tests only (end-to-end tests skip without their tools)
	$(GO) test -short -count=1 ./...

.PHONY: e2e
e2e: deps ## End-to-end tests only (real Prometheus, Alertmanager, VictoriaMetrics, dockerd)
	$(GO) test -count=1 -timeout 30m -run 'E2E' ./...

.PHONY: calibrate
calibrate: ## Measure runner compare's false-regression rate and power on modelled simulator runs: the tables of docs/analysis.md (COMPARISONS=300 per row; 10-15 min per host model on 2 busy cores)
	$(GO) test -count=1 -timeout 6h -run 'TestModelMatchesTheSimulator|TestCalibrationTable' -v ./runner/compare/calibrate -args -comparisons $(or $(COMPARISONS),300)
	$(GO) test -count=1 -timeout 6h -run 'TestCalibrationTable' -v ./runner/compare/calibrate -args -comparisons $(or $(COMPARISONS),300) -quiet

.PHONY: calibrate-simulator
calibrate-simulator: build ## Measure the real simulator RUNS times (default 8, about 6 min) into SIMRUNS (default calibrate-runs) and print its run-to-run spread beside the host models of make calibrate
	BIN=$(BIN) sh runner/compare/calibrate/simruns.sh $(or $(SIMRUNS),calibrate-runs) $(or $(RUNS),8)
	$(GO) test -count=1 -run TestModelsBesideSimulatorRuns -v ./runner/compare/calibrate -args -simulator-runs $(abspath $(or $(SIMRUNS),calibrate-runs))

.PHONY: bench
bench: ## Run the speed benchmarks and print their figures (scenarios once each, micro-benchmarks for 1s)
	$(GO) test -run '^$$' -bench '$(SCENARIO_BENCH)' -benchtime 1x -count 1 ./... 2>&1 | grep -E '^(Benchmark|FAIL|---)' || true
	$(GO) test -run '^$$' -bench '$(MICRO_BENCH)' -benchtime 1s -benchmem -count 1 ./... 2>&1 | grep -E '^(Benchmark|FAIL|---)' || true

.PHONY: generate
generate: ## Regenerate boards, rules, Alertmanager config and docs/metrics.md
	$(GO) run ./cmd/obsgen
	$(MAKE) generate-deploy

.PHONY: lint
lint: ## gofmt and go vet
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...

.PHONY: sim-image
sim-image: ## Build the engine simulator image ($(SIM_IMAGE)) FROM scratch for ARCH (default: this machine's), offline
	CGO_ENABLED=0 GOOS=linux GOARCH=$(ARCH) $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o deploy/vllm-sim/linux_$(ARCH)/vllm-sim ./cmd/vllm-sim
	docker build $(PLATFORM_FLAG) --build-arg TARGETARCH=$(ARCH) -t $(SIM_IMAGE) deploy/vllm-sim

.PHONY: sim-image-multiarch
sim-image-multiarch: ## Build the simulator image for every one of ARCHS (linux/amd64, linux/arm64) with buildx and push it (BUILDX_OUTPUT)
	for a in $(ARCHS); do CGO_ENABLED=0 GOOS=linux GOARCH=$$a $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o deploy/vllm-sim/linux_$$a/vllm-sim ./cmd/vllm-sim || exit 1; done
	docker buildx build --platform $(PLATFORMS) -t $(SIM_IMAGE) $(BUILDX_OUTPUT) deploy/vllm-sim

.PHONY: image
image: ## Build the runner + exporter image ($(IMAGE)) from source, multi-stage (pulls golang: needs the network)
	docker build --build-arg VERSION=$(VERSION) --build-arg COMMIT=$(COMMIT) -f deploy/docker/Dockerfile -t $(IMAGE) .

.PHONY: image-scratch
image-scratch: ## Build the runner + exporter image ($(IMAGE)) FROM scratch from local static binaries for ARCH, offline
	VERSION=$(VERSION) COMMIT=$(COMMIT) ./deploy/docker/scratch-context.sh deploy/docker/bin $(ARCH)
	docker build $(PLATFORM_FLAG) --build-arg TARGETARCH=$(ARCH) -f deploy/docker/Dockerfile.scratch -t $(IMAGE) deploy/docker/bin

.PHONY: image-multiarch
image-multiarch: ## Build the runner + exporter image for every one of ARCHS with buildx from cross-built binaries and push it (BUILDX_OUTPUT)
	VERSION=$(VERSION) COMMIT=$(COMMIT) ./deploy/docker/scratch-context.sh deploy/docker/bin $(ARCHS)
	docker buildx build --platform $(PLATFORMS) -f deploy/docker/Dockerfile.scratch -t $(IMAGE) $(BUILDX_OUTPUT) deploy/docker/bin

.PHONY: generate-deploy
generate-deploy: ## Copy the generated rules and boards into the Kubernetes tree (deploy/kubernetes/base/monitoring)
	$(GO) test -count=1 -run 'TestKubernetesMonitoringInSync' ./deploy/deploytest -update

.PHONY: up
up: sim-image image-scratch ## Start the compose stack with the simulator profile
	docker compose --profile sim up -d

.PHONY: down
down: ## Stop the compose stack
	docker compose --profile sim down

.PHONY: clean
clean: ## Remove built binaries
	rm -rf $(BIN) deploy/vllm-sim/vllm-sim deploy/vllm-sim/linux_*
	rm -rf deploy/docker/bin
