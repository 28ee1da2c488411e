# fdw-bridge developer entry points. Add targets below; keep recipes bash.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c

# e.g. make stack-up STACK_ARGS="--users 100000 --orders 1000000"
STACK_ARGS ?=

.PHONY: tools stack-up stack-down stack-status

tools:
	scripts/install-tools.sh

stack-up: tools
	stack/stack.sh up $(STACK_ARGS)

stack-down:
	stack/stack.sh down

stack-status:
	stack/stack.sh status
