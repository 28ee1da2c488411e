#!/usr/bin/env bash
# Checks template.yaml, then template-existing.yaml, without an AWS account: cfn-lint (no errors, no warnings),
# sam validate --lint, the cfn-guard rules in guard/rules, and that every guard rule
# fails on its deliberately broken copy (guard/check-broken.py); then scripts/check_template.py:
# what a first `sam deploy` needs (issue 12: defaults-inlined cfn-lint, deletion order from the
# dependency graph, rollback, Data API, names, observability, checkov with its baseline), each
# check passing on template.yaml and failing on guard/fixtures/template-before-issue12.yaml (the reader
# scaling of issue 24: on template-before-issue24.yaml). The Rust test
# functions/fdw-bootstrap/tests/integration/template.rs (run by make integration) checks that template
# and code agree. cfn-guard is installed from crates.io into <repo>/.tools once
# (about 4 minutes on 2 cores), then reused.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
VENV_BIN="$REPO/.venv/bin"
GUARD_VERSION="${CFN_GUARD_VERSION:-3.2.1}"
GUARD="$REPO/.tools/bin/cfn-guard"
export SAM_CLI_TELEMETRY=0 PATH="$VENV_BIN:$PATH"

say() { echo "[template] $*"; }

for tool in cfn-lint sam; do
  [[ -x "$VENV_BIN/$tool" ]] || { echo "[template] $VENV_BIN/$tool is missing: run make tools" >&2; exit 1; }
done
if [[ ! -x "$GUARD" ]] || [[ "$("$GUARD" --version 2>/dev/null)" != "cfn-guard $GUARD_VERSION" ]]; then
  # A debug build: validating one template needs no optimiser, and it builds in
  # about 1.5 minutes on 2 cores instead of 4.
  say "installing cfn-guard $GUARD_VERSION into .tools (once; about 1.5 minutes on 2 cores)"
  cargo install cfn-guard --version "$GUARD_VERSION" --locked --debug --root "$REPO/.tools" --quiet
fi

say "cfn-lint template.yaml"
cfn-lint template.yaml          # any error or warning is a non-zero exit

say "sam validate --lint"
out="$(sam validate --lint --region us-east-1 --template-file template.yaml 2>&1)" || { echo "$out" >&2; exit 1; }
grep -q "is a valid SAM Template" <<<"$out" || { echo "$out" >&2; exit 1; }

say "cfn-guard validate (guard/rules)"
"$GUARD" validate --rules guard/rules --data template.yaml --show-summary fail

say "each guard rule fails on its broken copy"
"$VENV_BIN/python" guard/check-broken.py "$GUARD"

say "first-deploy checks (scripts/check_template.py): pass on template.yaml, fail on their fixtures (pre-issue-12, pre-issue-24)"
[[ -x "$REPO/.venv-checkov/bin/checkov" ]] || { echo "[template] .venv-checkov/bin/checkov is missing: run make tools" >&2; exit 1; }
"$VENV_BIN/python" scripts/check_template.py
say "template.yaml: all checks passed"

# template-existing.yaml: the deploy on clusters that already exist (docs/deploy.md "Deploy to
# existing clusters"). The same lint, validation and guard rules, then what it makes and what it must not,
# and checkov with its own baseline (guard/checkov-baseline-existing.yaml), as template.yaml's
# (scripts/check_template_existing.py: each check passes on it and fails on template.yaml, the
# template before reports across links (guard/fixtures/) or a broken copy).
say "cfn-lint template-existing.yaml"
cfn-lint template-existing.yaml
say "sam validate --lint template-existing.yaml"
out="$(sam validate --lint --region us-east-1 --template-file template-existing.yaml 2>&1)" || { echo "$out" >&2; exit 1; }
grep -q "is a valid SAM Template" <<<"$out" || { echo "$out" >&2; exit 1; }
say "cfn-guard validate template-existing.yaml (guard/rules)"
"$GUARD" validate --rules guard/rules --data template-existing.yaml --show-summary fail
say "existing-cluster checks and checkov (scripts/check_template_existing.py)"
"$VENV_BIN/python" scripts/check_template_existing.py
say "template-existing.yaml: all checks passed"
