# porthygiene — see README.md. Every target works from a clean clone.
GO        ?= go
FUNCTIONS := $(notdir $(wildcard functions/*))
DIST      := dist
LDFLAGS   := -s -w
FUZZTIME  ?= 30s

.PHONY: all build cli test vet fuzz bench demo clean

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

## vet + race tests: the README's test command.
test: vet
	$(GO) test -race -count=1 -timeout 20m ./...

vet:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...

## fuzz: each fuzz target for FUZZTIME (default 30s).
fuzz:
	@for pkg in $$($(GO) list ./...); do \
		for target in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
			echo "fuzz $$pkg $$target"; \
			$(GO) test -run '^$$' -fuzz "^$$target$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
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
