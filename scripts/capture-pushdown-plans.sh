#!/usr/bin/env bash
# Captures the EXPLAIN (VERBOSE, FORMAT JSON) that fdw-report's pushdown check reads, for the
# shapes fdw_bridge.advise_plan classifies in fdw-report's pushdown_plans test (shared/report/src/pushdown_plans/), from the local stack's
# cluster A as it runs now: `FDW_STACK_DIR=... scripts/capture-pushdown-plans.sh` writes
# shared/report/src/pushdown_plans/pg<major>/<shape>.json for the stack's server major.
#
# The plans come through a foreign server made here with the link's defaults (fetch_size 10000,
# fdw_tuple_cost 0.2, async_capable, use_remote_estimate off; shared/bootstrap/src/properties.rs)
# and B's public tables imported and ANALYZEd, as fdw-bootstrap's link does; each shape is the
# report as the runner EXPLAINs it (wrapped in to_jsonb, a custom plan for the window's bounds),
# with the same SQL as functions/fdw-report/tests/integration/pushdown_advice.rs. Everything made
# here is dropped again.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
STACK="${FDW_STACK_DIR:-$repo/.stack}"
# shellcheck disable=SC1091
source "$STACK/env"
export PG_BIN
psql_a() { "$repo/stack/stack.sh" psql a -q -v ON_ERROR_STOP=1 -At "$@"; }

major="$(psql_a -c "SELECT current_setting('server_version_num')::int / 10000")"
out="$repo/shared/report/src/pushdown_plans/pg$major"
mkdir -p "$out"

cleanup() {
  psql_a -c "DROP SCHEMA IF EXISTS capture_remote CASCADE; DROP SERVER IF EXISTS capture_b CASCADE" >/dev/null 2>&1 || true
}
trap cleanup EXIT
cleanup

# B's admin logs in (the stack has no FDW role until a link makes one: plans do not depend on it);
# log_statement off: the user mapping carries its password.
psql_a -v host="$PG_B_HOST" -v port="$PG_B_PORT" -v ca="$FDW_CA_BUNDLE" \
  -v remote_user="$ORDERS_ADMIN_USER" -v remote_password="$ORDERS_ADMIN_PASSWORD" <<'SQL'
SET log_statement = 'none';
CREATE SERVER capture_b FOREIGN DATA WRAPPER postgres_fdw OPTIONS (
  host :'host', port :'port', dbname 'orders', sslmode 'verify-full', sslrootcert :'ca',
  fetch_size '10000', fdw_tuple_cost '0.2', async_capable 'true', use_remote_estimate 'false');
CREATE USER MAPPING FOR CURRENT_USER SERVER capture_b OPTIONS (user :'remote_user', password :'remote_password');
CREATE SCHEMA capture_remote;
IMPORT FOREIGN SCHEMA public LIMIT TO (orders, order_items) FROM SERVER capture_b INTO capture_remote;
ANALYZE capture_remote.orders, capture_remote.order_items;
SQL

# capture NAME SQL: the plan of one report shape ($1, $2: the window's bounds).
capture() {
  local name="$1" sql="$2"
  psql_a > "$out/$name.json" <<SQL
SET TimeZone = 'UTC';
PREPARE report AS SELECT to_jsonb(r)::text FROM (
$sql
) AS r;
EXPLAIN (VERBOSE, FORMAT JSON) EXECUTE report('2026-03-03 00:00:00+00', '2026-03-04 00:00:00+00');
SQL
  echo "captured $out/$name.json"
}

capture now_window "SELECT o.status, count(*) AS n FROM capture_remote.orders o
  WHERE o.created_at >= now() - interval '60 days' AND \$1::timestamptz < \$2::timestamptz
  GROUP BY o.status"
capture local_filter_join "SELECT u.id, count(*) AS n FROM public.users u JOIN capture_remote.orders o ON o.user_id = u.id
  WHERE u.segment = 'enterprise' AND u.signup_at < \$1 AND \$1::timestamptz < \$2::timestamptz GROUP BY u.id"
capture anti_join "SELECT count(*) AS n FROM public.users u
  WHERE NOT EXISTS (SELECT 1 FROM capture_remote.orders o WHERE o.user_id = u.id) AND \$1::timestamptz < \$2::timestamptz"
capture whole_history "SELECT u.country, sum(o.total_cents) AS revenue FROM public.users u
  JOIN capture_remote.orders o ON o.user_id = u.id WHERE \$1::timestamptz < \$2::timestamptz GROUP BY u.country"
capture remote_semi_join "SELECT o.status, count(*) AS n FROM capture_remote.orders o
  WHERE EXISTS (SELECT 1 FROM capture_remote.order_items i WHERE i.order_id = o.id AND i.quantity > 2)
    AND \$1::timestamptz < \$2::timestamptz GROUP BY o.status"
# NOT IN without the GROUP BY: a hashed SubPlan under the local scan, not a join.
capture not_in_subplan "SELECT count(*) AS n FROM public.users u
  WHERE u.id NOT IN (SELECT o.user_id FROM capture_remote.orders o) AND \$1::timestamptz < \$2::timestamptz"
# The same EXISTS with remote estimates: PostgreSQL 17 ships it as one remote semi-join.
psql_a -c "ALTER SERVER capture_b OPTIONS (SET use_remote_estimate 'true')"
capture remote_semi_join_estimated "SELECT o.status, count(*) AS n FROM capture_remote.orders o
  WHERE EXISTS (SELECT 1 FROM capture_remote.order_items i WHERE i.order_id = o.id AND i.quantity > 2)
    AND \$1::timestamptz < \$2::timestamptz GROUP BY o.status"
