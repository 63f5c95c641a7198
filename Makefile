# Beacon's build. `make run` and `make test` install what they need by themselves.
SHELL := /bin/bash
GO ?= go
export GOFLAGS := -buildvcs=false
export GONOSUMDB := github.com/bluenviron/gortmplib
CACHE := $(CURDIR)/.cache

# Pinned code generators (make generate).
PROTOC_GEN_GO_VERSION := v1.36.12
PROTOC_GEN_GO_GRPC_VERSION := v1.6.0
GRPC_GATEWAY_VERSION := v2.33.0
STATICCHECK_VERSION := v0.8.2

# Area fragments add prerequisites and targets here (for example the
# onnxruntime library to RUN_PREREQS and TEST_PREREQS).
RUN_PREREQS :=
TEST_PREREQS :=
-include mk/*.mk

.PHONY: all build run test bench generate lint deps engines-start engines-stop clean check-generated

all: build

deps:
	@bash scripts/deps.sh

build:
	$(GO) build -o bin/ ./cmd/...

run: deps $(RUN_PREREQS) build
	./bin/beacon -target=all -demo

test: deps $(TEST_PREREQS)
	bash scripts/test.sh

bench: deps $(TEST_PREREQS) build
	bash scripts/bench.sh

generate:
	bash scripts/generate.sh

check-generated: generate
	@git diff --exit-code -- api/gen || { echo "generated code is stale: run make generate and commit"; exit 1; }

lint:
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...

engines-start:
	bash scripts/engines.sh start

engines-stop:
	bash scripts/engines.sh stop

clean:
	rm -rf bin data
