# fdw-bridge developer entry points. Every target installs what it needs the
# first time (Debian packages, .venv with cargo-lambda, zig, SAM CLI, cfn-lint,
# moto) and is fast the second time.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c

# Both clusters' PostgreSQL major (PG_MAJOR_A / PG_MAJOR_B for one of them): 15, 16 or 17.
# The default is the major template.yaml deploys by default (scripts/check_template.py holds them equal).
export PG_MAJOR ?= 16

# e.g. make stack-up STACK_ARGS="--users 100000 --orders 1000000"
STACK_ARGS ?=
# fdw-bench's own stack (reloaded at each scale); `FDW_STACK_DIR=$(BENCH_STACK) stack/stack.sh down` stops it.
BENCH_STACK ?= /tmp/fdw-bench-stack
VENV_BIN := $(CURDIR)/.venv/bin
export PATH := $(VENV_BIN):$(PATH)

.PHONY: bench-versions test-versions docs-check render-event-test tools stack-up stack-down stack-status demo test lint unit integration bench bench-font template-check build

tools:
	scripts/install-tools.sh

stack-up: tools
	stack/stack.sh up $(STACK_ARGS)

stack-down:
	stack/stack.sh down

stack-status:
	stack/stack.sh status

## The whole lifecycle against the local stack, through cargo lambda watch/invoke.
demo: stack-up
	scripts/demo.sh

## Every test: formatting, lints, no OpenSSL, the template checks, the event renderer,
## unit tests, integration tests against the local stack (started here, PostgreSQL $(PG_MAJOR)),
## links across majors (test-versions), and the demo as a smoke test.
test: lint template-check render-event-test unit integration test-versions
	scripts/demo.sh

## Links across PostgreSQL majors: A 15 -> B 17, 17 -> 15, 16 -> 17, 17 -> 16, each on a stack
## of its own (.stack-versions/), the `versions` tests of fdw-report and fdw-bootstrap.
test-versions: tools
	scripts/test-versions.sh

## The library's and the functions' own tests (and doc tests): no stack, no AWS.
## Inline unit tests (--lib --bins) and each crate's stackless `tests/unit/` binary.
unit:
	cargo test --workspace --lib --bins --test unit
	cargo test --workspace --doc

## One integration binary per function crate (tests/integration/main.rs), against
## the local stack (started here, with its opt-in third cluster C for the A->B,C links tests:
## fdw-bootstrap's three_clusters, fdw-report's across_links, and B's streaming replica for the link that reads B's readers:
## fdw-bootstrap's b_readers). The template agreement test runs here too, without the stack.
integration: tools
	stack/stack.sh up --with-c --with-b-replica $(STACK_ARGS)
	cargo test --workspace --test integration

lint: docs-check
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings
	@if cargo tree --workspace -e normal,build -i openssl-sys >/dev/null 2>&1; then \
	  echo "openssl-sys is in the dependency tree: fdw-bridge uses rustls only" >&2; exit 1; \
	else echo "no OpenSSL in the dependency tree"; fi
	scripts/check-unused-deps.sh

## README.md under 500 lines (a guide; details in docs/), and every relative link and #anchor in
## README.md, ARCHITECTURE.md, stack/README.md and docs/ resolving; each rule first fails on a broken copy.
docs-check:
	python3 scripts/check_docs.py --self-test

## scripts/render-event.py keeps every `$` that is not a ${NAME} placeholder.
render-event-test:
	python3 scripts/render-event-test.py

## template.yaml: cfn-lint (no errors, no warnings), sam validate --lint, cfn-guard rules,
## each rule failing on its broken copy. (The template/code agreement test runs in cargo test.)
template-check: tools
	scripts/check-template.sh

## sam build: an arm64 bootstrap per function (cargo-lambda, release) plus the RDS CA layer.
## Needs build/rds-ca/global-bundle.pem: run scripts/fetch-rds-ca.sh once (needs the internet).
build: tools
	scripts/fetch-rds-ca.sh --check
	SAM_CLI_TELEMETRY=0 sam build
	scripts/check-build.sh

## Figures, not pass/fail: Create/Delete and rotation times on the shared stack, then
## fdw-bench (docs/benchmarks.md): every report and query shape co-located, through a
## how-to link and through fdw-bridge's link, at 10k x 100k and 100k x 1M users x orders
## (FDW_BENCH_LARGE=1 adds 1M x 10M), loopback and +0.5 ms each way, on a stack of its own.
## Then the functions' release binaries (this host's) under a Lambda Runtime API emulator:
## cold start, a warm fdw-report beside its SQL, peak memory.
## Writes docs/bench/ (results.csv, results.md, functions.csv, loopback.png, delayed.png, advice-loopback.png, advice-delayed.png).
bench: stack-up bench-font
	cargo bench -p fdw-bootstrap --bench create_link
	cargo bench -p fdw-rotate --bench rotation
	cargo build --release -p fdw-bootstrap -p fdw-report -p fdw-rotate
	FDW_STACK_DIR=$(BENCH_STACK) cargo run -p fdw-bench -- $(BENCH_ARGS)

## Which postgres_fdw options pay as the link's defaults: the as-written shapes with one option
## changed at a time, at 100k x 1M (docs/bench/options.md, docs/fdw-link.md's figures).
bench-options: stack-up
	FDW_STACK_DIR=$(BENCH_STACK) cargo run -p fdw-bench -- --options --scales 100000x1000000 --runs 3 $(BENCH_ARGS)

## The bench's queries at 100k x 1M on PostgreSQL 15 and on 17 (each on a stack of its own), for
## the side-by-side table in docs/benchmarks.md: docs/bench/pg15/, docs/bench/pg17/.
bench-versions: tools bench-font
	for major in 15 17; do \
	  FDW_STACK_DIR=/tmp/fdw-bench-pg$$major PG_MAJOR=$$major cargo run -p fdw-bench -- --scales 100000x1000000 \
	    --no-delay --no-latency --no-functions --runs 5 --out docs/bench/pg$$major; \
	  FDW_STACK_DIR=/tmp/fdw-bench-pg$$major stack/stack.sh down; \
	done

# The chart's font (plotters draws text with ab_glyph from a TTF file).
bench-font:
	@test -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf || \
	  (apt-get update -qq && apt-get install -y -qq fonts-dejavu-core)
