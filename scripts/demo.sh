#!/usr/bin/env bash
# The whole fdw-bootstrap lifecycle against the local stack, through the real
# Lambda runtime under `cargo lambda watch`: Create the link, query across the
# two clusters, run the reports (fdw-report), rotate the FDW password
# (fdw-rotate), Update one option, refresh after a change on cluster B, Delete
# the link. `make demo` runs this.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
export PATH="$repo/.venv/bin:$PATH"
STACK="${FDW_STACK_DIR:-$repo/.stack}"
# shellcheck disable=SC1091
source "$STACK/env"
export FDW_CA_BUNDLE USERS_ADMIN_PASSWORD ORDERS_ADMIN_PASSWORD FDW_ROLE_PASSWORD RUST_LOG=info
# fdw-report (served by the same cargo lambda watch): report_reader reads, users_admin writes fdw_reports.
export FDW_REPORT_READER_SECRET_ARN="$REPORT_READER_SECRET_ARN" FDW_REPORT_WRITER_SECRET_ARN="$USERS_ADMIN_SECRET_ARN"
work="$STACK/demo"; mkdir -p "$work"
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

# A free port for the runtime emulator, so two demos on one machine do not collide.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
step "building the functions and starting fdw-bootstrap under cargo lambda watch (port $port)"
# The three functions at once, with the features cargo lambda watch's own `cargo run --bin <fn>`
# resolves (the whole workspace): its runs then find them built. (`-p <fn>` resolved other
# features and compiled the tree twice more: about 2 min of a clean `make test`.)
cargo build -q --workspace --bins
cargo lambda watch --invoke-port "$port" --ignore-changes --timeout 120 >"$work/watch.log" 2>&1 &
watch_pid=$!
trap 'kill $watch_pid 2>/dev/null || true; wait $watch_pid 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  kill -0 $watch_pid 2>/dev/null || { cat "$work/watch.log"; echo "cargo lambda watch exited" >&2; exit 1; }
  sleep 0.5
done

invoke() {  # invoke <event-file> <response-name>: prints the function's answer and the stored response
  export REQUEST_ID="demo-$2-$(date +%s%N)" RESPONSE_NAME="demo-$2"
  scripts/render-event.py "events/$1" >"$work/$2.json"
  rm -f "$RESPONSES_DIR/$RESPONSE_NAME.json"
  cargo lambda invoke fdw-bootstrap --invoke-port "$port" --data-file "$work/$2.json" >"$work/$2.out"
  python3 - "$RESPONSES_DIR/$RESPONSE_NAME.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print(f"  CloudFormation got: {r['Status']}  PhysicalResourceId={r['PhysicalResourceId']}")
print(f"  Reason: {r['Reason']}")
if r.get("Data"): print(f"  Data: {json.dumps(r['Data'])}")
if r["Status"] != "SUCCESS": sys.exit(1)
PY
}

# The FDW role's secret, in the shape fdw-rotate needs: the link is made from it and later
# rotated, as template.yaml deploys it. Reset from the stack's credentials on every run.
scripts/render-event.py events/fdw-rotate-secret.json >"$work/rotate-secret.json"
FDW_ROLE_SECRET_ARN=$(.venv/bin/python scripts/start-rotation.py store fdw-bridge/demo-rotate "$work/rotate-secret.json")
export FDW_ROLE_SECRET_ARN ROTATE_SECRET_ARN="$FDW_ROLE_SECRET_ARN"

step "Create: fdw-bootstrap builds the link (events/fdw-bootstrap-create.json)"
invoke fdw-bootstrap-create.json create
export PHYSICAL_RESOURCE_ID
PHYSICAL_RESOURCE_ID=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["PhysicalResourceId"])' "$RESPONSES_DIR/demo-create.json")

step "a cross-database JOIN as report_reader on cluster A (users) through the foreign tables to cluster B (orders)"
PGPASSWORD="$REPORT_READER_PASSWORD" "$PG_BIN/psql" -X \
  "host=$PG_A_HOST port=$PG_A_PORT dbname=users user=report_reader sslmode=verify-full sslrootcert=$FDW_CA_BUNDLE" \
  -c "SELECT u.country, u.segment, count(*) AS paid_orders, round(sum(o.total_cents) / 100.0, 2) AS revenue
        FROM users u JOIN orders_remote.orders o ON o.user_id = u.id
       WHERE o.status = 'paid' AND o.created_at >= timestamptz '2026-01-01'
       GROUP BY 1, 2 ORDER BY revenue DESC LIMIT 8" \
  -c "EXPLAIN (VERBOSE, COSTS OFF) SELECT count(*) FROM orders_remote.orders WHERE status = 'paid'" | sed 's/^/  /'

step "fdw-report: every scheduled report through the link (events/fdw-report-scheduled-event.json), stored in fdw_reports"
export EVENT_ID="demo-report-$(date +%s%N)"
scripts/render-event.py events/fdw-report-scheduled-event.json >"$work/report.json"
cargo lambda invoke fdw-report --invoke-port "$port" --data-file "$work/report.json" >"$work/report.out"
scripts/show-reports.py "$work/report.out"   # the answer, then each stored result table

step "fdw-rotate: one whole rotation of the FDW role's password (events/fdw-rotate-*.json), then query across again"
ROTATE_TOKEN=$(.venv/bin/python scripts/start-rotation.py start "$ROTATE_SECRET_ARN")
export ROTATE_TOKEN
for s in create set test finish; do
  scripts/render-event.py "events/fdw-rotate-$s.json" >"$work/rotate-$s.json"
  cargo lambda invoke fdw-rotate --invoke-port "$port" --data-file "$work/rotate-$s.json" >"$work/rotate-$s.out"
  echo "  ${s}Secret: $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["Result"])' "$work/rotate-$s.out")"
done
PGPASSWORD="$REPORT_READER_PASSWORD" "$PG_BIN/psql" -X -At \
  "host=$PG_A_HOST port=$PG_A_PORT dbname=users user=report_reader sslmode=verify-full sslrootcert=$FDW_CA_BUNDLE" \
  -c "SELECT 'after the rotation: ' || count(*) || ' orders joined to their users'
        FROM users u JOIN orders_remote.orders o ON o.user_id = u.id" | sed 's/^/  /'
.venv/bin/python - "$work/watch.log" "$PG_A_LOG" "$PG_B_LOG" <<'PY'
import boto3, json, os, sys
new = json.loads(boto3.client("secretsmanager").get_secret_value(
    SecretId=os.environ["ROTATE_SECRET_ARN"], VersionStage="AWSCURRENT")["SecretString"])
print(f"  AWSCURRENT now logs in as {new['username']}; its new password in the logs:", end="")
for path in sys.argv[1:]:
    if new["password"] in open(path, encoding="utf-8", errors="replace").read():
        sys.exit(f" it appears in {path}")
print(" nowhere")
PY

step "Update: one changed option (FetchSize 10000 -> 5000) is one ALTER SERVER; the rotated mappings stay as they are"
invoke fdw-bootstrap-update.json update

refresh() {  # refresh <true|false> <name>: the scheduled refresh event, answered by the function itself
  export REFRESH_DRY_RUN="$1"
  scripts/render-event.py events/fdw-bootstrap-refresh.json >"$work/$2.json"
  cargo lambda invoke fdw-bootstrap --invoke-port "$port" --data-file "$work/$2.json" >"$work/$2.out"
  python3 - "$work/$2.out" <<'PY'
import json, sys
answer = json.load(open(sys.argv[1]))
for link in answer["Links"]:
    print(f"  {link['ServerName']}: drift {link['Drift']} statement(s), {link['Analyzed']} table(s) to analyze"
          f"{' (dry run: nothing applied)' if answer['DryRun'] else ''}, {link['DurationMs']} ms")
    for s in link["Statements"]:
        print(f"    {s}")
PY
}
on_b() { "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$PG_B_SOCKET_DIR" -p "$PG_B_PORT" -U postgres -d orders -c "$1"; }
orders_columns_on_a() {
  PGPASSWORD="$REPORT_READER_PASSWORD" "$PG_BIN/psql" -X -At \
    "host=$PG_A_HOST port=$PG_A_PORT dbname=users user=report_reader sslmode=verify-full sslrootcert=$FDW_CA_BUNDLE" \
    -c "SELECT 'orders_remote.orders on A: ' || string_agg(attname, ', ' ORDER BY attnum) FROM pg_attribute
          WHERE attrelid = 'orders_remote.orders'::regclass AND attnum > 0 AND NOT attisdropped" | sed 's/^/  /'
}

step "Refresh: a column added on cluster B reaches A with no stack update (events/fdw-bootstrap-refresh.json, hourly in template.yaml)"
on_b "ALTER TABLE public.orders ADD COLUMN gift_note text"
echo "  on B: ALTER TABLE public.orders ADD COLUMN gift_note text"
echo "  dry run:"; refresh true refresh-dry
orders_columns_on_a
echo "  refresh:"; refresh false refresh
orders_columns_on_a
on_b "ALTER TABLE public.orders DROP COLUMN gift_note"
echo "  on B: ALTER TABLE public.orders DROP COLUMN gift_note; refresh:"; refresh false refresh-back
orders_columns_on_a

step "Delete: the link is removed, and only what it made"
invoke fdw-bootstrap-delete.json delete
left=$("$PG_BIN/psql" -X -At -h "$PG_A_SOCKET_DIR" -p "$PG_A_PORT" -U postgres -d users \
  -c "SELECT count(*) FROM pg_foreign_server WHERE srvname = 'orders_link'")
echo "  foreign servers named orders_link left on cluster A: $left"
[[ $left == 0 ]]

step "no password in the function's log nor in either cluster's server log"
python3 - "$work/watch.log" "$PG_A_LOG" "$PG_B_LOG" <<'PY'
import os, sys
secrets = [os.environ[k] for k in ("USERS_ADMIN_PASSWORD", "ORDERS_ADMIN_PASSWORD", "FDW_ROLE_PASSWORD")]
for path in sys.argv[1:]:
    text = open(path, encoding="utf-8", errors="replace").read()
    if any(s in text for s in secrets):
        sys.exit(f"  a password appears in {path}")
    print(f"  clean: {path}")
PY

step "done: the function's log is in $work/watch.log; stop the stack with make stack-down"
