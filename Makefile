# porthygiene — see README.md. Every target works from a clean clone.
GO        ?= go
FUNCTIONS := $(notdir $(wildcard functions/*))
DIST      := dist
LDFLAGS   := -s -w
FUZZTIME  ?= 30s
# staticcheck, pinned: a release that supports this module's Go version.
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: all build cli test vet lint fuzz bench demo clean

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

## fuzz: each fuzz target for FUZZTIME (default 30s).
fuzz:
	@for pkg in $$($(GO) list ./...); do \
		for target in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
			echo "fuzz $$pkg $$target"; \
			$(GO) test -run '^$$' -fuzz "^$$target$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 5s $$pkg || exit 1; \
		done; \
	done

## bench: the speed and memory targets of the issues.
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

## demo: the main job on localcloud with the real binaries.
demo: build
	./bin/porthygiene demo

clean:
	rm -rf $(DIST) bin
