#!/usr/bin/env bash
# Links across PostgreSQL majors: for each pair (cluster A's major, cluster B's) a stack of its own
# under .stack-versions/, the tests of the `versions` modules (fdw-report: a link's whole life;
# fdw-bootstrap: what each major changes) against it, then that stack stops. `make test` runs it.
#   scripts/test-versions.sh            the pairs below
#   scripts/test-versions.sh 15:17      one pair
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
pairs=("$@")
((${#pairs[@]})) || pairs=(15:17 17:15 16:17 17:16)
for pair in "${pairs[@]}"; do
  [[ "$pair" =~ ^(1[5-7]):(1[5-7])$ ]] || { echo "[versions] not a pair of majors: $pair (e.g. 15:17)" >&2; exit 2; }
  a="${BASH_REMATCH[1]}" b="${BASH_REMATCH[2]}"
  export FDW_STACK_DIR="$REPO/.stack-versions/a$a-b$b"
  started=$SECONDS
  echo "[versions] cluster A on PostgreSQL $a, cluster B on PostgreSQL $b ($FDW_STACK_DIR)"
  PG_MAJOR_A="$a" PG_MAJOR_B="$b" stack/stack.sh up >/dev/null
  status=0
  # --workspace, as `make integration` builds them: `-p` alone unifies features differently
  # and rebuilt the whole tree (1 min 52 s of a clean `make test`).
  cargo test --workspace --test integration versions:: || status=$?
  stack/stack.sh down >/dev/null
  ((status == 0)) || { echo "[versions] FAILED on A $a -> B $b" >&2; exit "$status"; }
  echo "[versions] A $a -> B $b: passed in $((SECONDS - started)) s"
done
