# porthygiene — see README.md. Every target works from a clean clone.
GO        ?= go
FUNCTIONS := $(notdir $(wildcard functions/*))
DIST      := dist
LDFLAGS   := -s -w
FUZZTIME  ?= 30s
# staticcheck, pinned: a release that supports this module's Go version.
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: all build cli test vet lint fuzz bench chaos demo contract clean

all: build

## build: static linux/amd64 binaries, one per function, where s.yaml points (dist/<fn>/main),
## each code package with its policy file; plus the operator CLI in bin/.
build: cli
	@for fn in $(FUNCTIONS); do \
		echo "build functions/$$fn -> $(DIST)/$$fn/main"; \
		mkdir -p $(DIST)/$$fn && \
		CGO_ENABLED=0 GOOS=linux GOARCH=amd64 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(DIST)/$$fn/main ./functions/$$fn || exit 1; \
		cp policy.yaml $(DIST)/$$fn/policy.yaml || exit 1; \
	done

cli:
	CGO_ENABLED=0 $(GO) build -trimpath -o bin/porthygiene ./cmd/porthygiene

## vet + lint + race tests: the README's test command. deps first: the s.yaml check
## (internal/deploytest) runs the Serverless Devs CLI and ajv from node_modules.
test: vet lint deps
	$(GO) test -race -count=1 -timeout 20m ./...

vet:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...

## lint: staticcheck over every package. go run downloads the pinned version
## once through the module proxy, then builds it from the module cache (it
## still asks the proxy whether the module is deprecated; with no network at
## all, point GOPROXY at the cache: GOPROXY=file://$(go env GOMODCACHE)/cache/download).
lint:
	$(GO) run $(STATICCHECK) ./...

## deps: the Node.js tools of the offline s.yaml check (@serverless-devs/s, ajv),
## exactly as package-lock.json pins them; reinstalled when either file changes.
## Without npm it only warns: the check then skips, except in CI (CI=true) where it fails.
.PHONY: deps
deps: node_modules/.package-lock.json

node_modules/.package-lock.json: package.json package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		echo "npm ci (s.yaml check tools)"; \
		npm ci --no-audit --no-fund && touch $@; \
	else \
		echo "npm not found: the s.yaml check (internal/deploytest) will be skipped; install Node.js >= 18 and npm"; \
	fi

## fuzz: each fuzz target for FUZZTIME (default 30s). The inputs the fuzzer
## found interesting (its cache) are copied into the package's
## testdata/fuzz/<Target>/, where `go test` replays them as seeds from then on;
## a failing input lands there too, as go test writes it.
fuzz:
	@cache=$$($(GO) env GOCACHE)/fuzz; \
	for pkg in $$($(GO) list ./...); do \
		dir=$$($(GO) list -f '{{.Dir}}' $$pkg); \
		for target in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
			echo "fuzz $$pkg $$target"; \
			$(GO) test -run '^$$' -fuzz "^$$target$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 5s $$pkg || exit 1; \
			if [ -d "$$cache/$$pkg/$$target" ]; then \
				mkdir -p "$$dir/testdata/fuzz/$$target" && cp -n "$$cache/$$pkg/$$target"/* "$$dir/testdata/fuzz/$$target/" 2>/dev/null; \
				echo "  corpus: $$(ls "$$dir/testdata/fuzz/$$target" | wc -l) inputs in $${dir#$$(pwd)/}/testdata/fuzz/$$target"; \
			fi; \
		done; \
	done

## bench: the speed and memory targets of the issues, as one generated table
## (BENCHMARKS.md, with the machine and the date). BENCH_MAKETEST=false skips
## timing `make test` on a fresh clone (about 3 minutes).
BENCH_MAKETEST ?= true
bench:
	$(GO) run ./internal/benchtable -o BENCHMARKS.md -maketest=$(BENCH_MAKETEST)

## contract: the ECS, SLS and FC contract suites against a real account, with
## credentials from the environment (never part of `make test`). It creates and
## deletes security groups, prefix lists and logstores named porthygiene-*,
## and invokes PORTHYGIENE_IT_FC_FUNCTION (if set) once; see each suite's doc
## (localcloud/ecs/ecs_test.go, localcloud/sls/README.md, shared/fcapi/contract_test.go).
CONTRACT_VARS := ALIBABA_CLOUD_ACCESS_KEY_ID ALIBABA_CLOUD_ACCESS_KEY_SECRET \
	PORTHYGIENE_IT_REGION PORTHYGIENE_IT_VPC_ID PORTHYGIENE_IT_ACCOUNT_ID \
	PORTHYGIENE_IT_SLS_ENDPOINT PORTHYGIENE_IT_SLS_PROJECT
CONTRACT_OPTIONAL := ALIBABA_CLOUD_SECURITY_TOKEN PORTHYGIENE_IT_INSTANCE_ID \
	PORTHYGIENE_IT_SECONDARY_ENI_ID PORTHYGIENE_IT_PREFIX_LIST_ID PORTHYGIENE_IT_FC_FUNCTION
CONTRACT_TIMEOUT ?= 30m
contract:
	@missing=""; for v in $(CONTRACT_VARS); do \
		[ -n "$$(printenv $$v)" ] || missing="$$missing $$v"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "make contract: not set:$$missing" >&2; \
		echo "  needs: ALIBABA_CLOUD_ACCESS_KEY_ID, ALIBABA_CLOUD_ACCESS_KEY_SECRET (a sandbox account's key)," >&2; \
		echo "         PORTHYGIENE_IT_REGION (e.g. cn-hangzhou), PORTHYGIENE_IT_VPC_ID (a VPC there, for the ECS suite)," >&2; \
		echo "         PORTHYGIENE_IT_ACCOUNT_ID (the account id, for the FC endpoint)," >&2; \
		echo "         PORTHYGIENE_IT_SLS_ENDPOINT (e.g. https://cn-hangzhou.log.aliyuncs.com), PORTHYGIENE_IT_SLS_PROJECT (an existing project)" >&2; \
		echo "  optional: $(CONTRACT_OPTIONAL)" >&2; \
		exit 2; \
	fi; \
	for v in $(CONTRACT_VARS) $(CONTRACT_OPTIONAL); do \
		if [ -n "$$(printenv $$v)" ]; then echo "  $$v is set"; else echo "  $$v is not set"; fi; \
	done
	$(GO) test -count=1 -timeout $(CONTRACT_TIMEOUT) -run 'TestContract' -v ./localcloud/ecs/ -integration
	$(GO) test -count=1 -timeout $(CONTRACT_TIMEOUT) -run 'TestContract' -v ./localcloud/sls/ -integration
	$(GO) test -count=1 -timeout $(CONTRACT_TIMEOUT) -run 'TestContract' -v ./shared/fcapi/ -integration

## chaos: the chaos run (internal/chaos): a virtual day of 500 rule changes by
## several principals under injected faults, the invariants checked and
## printed as a table (also written to CHAOS.md). CHAOS_SEED=N replays a run.
CHAOS_SEED ?= 0
chaos:
	$(GO) test -count=1 -run '^TestChaos$$' -timeout 90m ./internal/chaos/ \
		-chaos.duration=24h -chaos.changes=500 -chaos.jitter=10s -chaos.kill -chaos.seed=$(CHAOS_SEED) -chaos.report=$(CURDIR)/CHAOS.md; \
		status=$$?; cat CHAOS.md 2>/dev/null; exit $$status

## demo: the main job on localcloud with the real binaries.
demo: build
	./bin/porthygiene demo

clean:
	rm -rf $(DIST) bin
