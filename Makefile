# vigil: make run (the whole pipeline with demo traffic) and make test (every test, real servers).
SHELL := /bin/bash
MODULES := pkg services loadtest
GO ?= go
BIN := bin

.PHONY: run test test-faults fuzz build bench bench-e2e screenshot vet tidy-check fmt-check schemas schemas-check clean

## run: start a local ClickHouse if needed, then vigil dev --demo (Ctrl-C stops everything)
run:
	@deploy/clickhouse/local.sh start
	@cd services && $(GO) build -o ../$(BIN)/vigil ./vigil
	@trap "deploy/clickhouse/local.sh stop" EXIT; $(BIN)/vigil dev --demo

## test: every test of every module, race detector on, against real NATS and ClickHouse
test: schemas-check
	@set -e; for m in $(MODULES); do echo "== test $$m"; (cd $$m && $(GO) test -race -count=1 -timeout 10m ./...); done

## test-faults: the fault drills alone (make test runs them too), printing the drill table
test-faults:
	cd loadtest && $(GO) test -count=1 -v -timeout 10m ./faults | grep -v '^=== '

## fuzz: every fuzz target of every module for FUZZTIME each (default 20s)
FUZZTIME ?= 20s
fuzz:
	@set -e; for m in $(MODULES); do \
	  for p in $$(cd $$m && $(GO) list ./...); do \
	    for f in $$(cd $$m && $(GO) test -list '^Fuzz' $$p | grep '^Fuzz' || true); do \
	      echo "== fuzz $$p $$f ($(FUZZTIME))"; (cd $$m && $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 5s $$p); \
	    done; \
	  done; \
	done

## build: the service binaries, and a nats-server for bench-e2e -services, into bin/
build:
	@mkdir -p $(BIN)
	cd services && $(GO) build -o ../$(BIN)/ ./scorer ./drift ./writer ./notifier ./ingest ./judge ./vigil
	cd pkg && $(GO) build -o ../$(BIN)/nats-server github.com/nats-io/nats-server/v2

## bench: micro-benchmarks of the hot paths
bench:
	@set -e; for m in pkg loadtest; do (cd $$m && $(GO) test -run '^$$' -bench . -benchmem ./...); done

## bench-e2e: the whole pipeline (vigil dev) under load, against raw JetStream and raw ClickHouse
##   measured just before on this machine; BENCH_FLAGS="-nats URL -dsn DSN" measures running services
bench-e2e: build
	$(GO) run ./loadtest/cmd/bench-e2e -vigil $(BIN)/vigil $(BENCH_FLAGS)

## screenshot: regenerate the eval report picture the README shows (needs chromium)
screenshot:
	cd pkg && $(GO) test -count=1 -run TestReportRendersInChromium ./evalreport -screenshot=../../deploy/docs/eval-report.png

## vet: go vet and gofmt on every module
vet: fmt-check
	@set -e; for m in $(MODULES); do (cd $$m && $(GO) vet ./...); done

fmt-check:
	@out=$$(gofmt -l $(MODULES)); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

## tidy-check: go.mod and go.sum of every module are tidy
tidy-check:
	@set -e; for m in $(MODULES) schemas/clients/go; do (cd $$m && GOWORK=off $(GO) mod tidy -diff) || { echo "go mod tidy needed in $$m"; exit 1; }; done

## schemas: copy schemas/clickhouse into the store package that embeds them
schemas:
	cd pkg && $(GO) generate ./store

schemas-check:
	@diff -r schemas/clickhouse pkg/store/migrations >/dev/null || { echo "pkg/store/migrations differs from schemas/clickhouse: run make schemas"; exit 1; }

clean:
	rm -rf $(BIN) .vigil
