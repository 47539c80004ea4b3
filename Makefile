# Conveyor — the two commands that matter on a fresh machine are `make demo`
# and `make test`; everything else here serves them.

GO        ?= go
BIN       := bin/conveyor
PKGS      := ./...
STATICCHECK_VERSION := v0.8.2

.PHONY: all build test test-deps demo bench lint fuzz clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/conveyor

# test-deps installs what the tests need from the machine's package manager
# (PostgreSQL 15 for the store's replica-backed tests) when it is missing.
test-deps:
	@if ! command -v initdb >/dev/null 2>&1 && [ ! -x /usr/lib/postgresql/15/bin/initdb ]; then \
		echo "installing PostgreSQL 15 for the store tests"; \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15 >/dev/null; \
		else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15 >/dev/null; fi; \
	fi

test: test-deps
	$(GO) vet $(PKGS)
	$(GO) test -count=1 -timeout 9m $(PKGS)

demo: build
	./$(BIN) demo

# bench runs every benchmark once at its natural size; each reports its own
# targets as ratios against a baseline measured in the same run.
bench:
	$(GO) test -run '^$$' -bench . -benchtime 1x -timeout 20m $(PKGS)

lint:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet $(PKGS)
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) $(PKGS)

# fuzz gives every fuzz target a short run (go test runs their seeds already).
fuzz:
	@for pkg in $$($(GO) list $(PKGS)); do \
		for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
			$(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime 20s $$pkg || exit 1; \
		done; \
	done

clean:
	rm -rf bin data
