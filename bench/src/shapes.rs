//! What the bench runs: each shipped report (with its window at a fixed time
//! inside the sample data) and the query shapes analysts write against the
//! foreign tables, as they would write them. `{r}` is the schema of the remote
//! tables: `public` co-located, the imported schema through a link.

use chrono::{DateTime, Utc};
use fdw_bridge::report::{params, Catalog, LinkRef, Report, Window};
use tokio_postgres::types::ToSql;

/// A schedule time inside the sample data (orders span 2025-01-01 .. 2026-11-01).
pub const SCHEDULED: &str = "2026-03-04T06:00:00Z";

pub struct Case {
    pub name: String,
    /// "report" (shipped) or "shape" (user-written).
    pub kind: &'static str,
    template: String,
    report: Option<(Report, Window)>,
}

impl Case {
    pub fn sql(&self, remote_schema: &str) -> String {
        match &self.report {
            Some((report, _)) => report.sql(remote_schema),
            None => self.template.replace("{r}", remote_schema),
        }
    }

    pub fn params(&self) -> Vec<&(dyn ToSql + Sync)> {
        match &self.report {
            Some((report, window)) => params(report, window),
            None => Vec::new(),
        }
    }
}

pub fn shape(name: &str, sql: &str) -> Case {
    Case {
        name: name.into(),
        kind: "shape",
        template: sql.into(),
        report: None,
    }
}

/// The user-written shapes, one per thing analysts ask.
pub fn user_shapes() -> Vec<Case> {
    vec![
        // Whole history: every order crosses unless the aggregate is shipped.
        shape(
            "whole_history_by_country",
            "SELECT u.country, count(*) AS orders, sum(o.total_cents) AS revenue_cents
               FROM public.users u JOIN {r}.orders o ON o.user_id = u.id
              GROUP BY u.country ORDER BY u.country",
        ),
        // now() is not immutable: postgres_fdw never ships it, so the filter runs on A.
        // Whole days, so that the shape and its pattern (run seconds apart) see the same window.
        shape(
            "window_now_60d",
            "SELECT o.status, count(*) AS orders, sum(o.total_cents) AS revenue_cents
               FROM {r}.orders o
              WHERE o.created_at >= date_trunc('day', now()) - interval '60 days'
              GROUP BY o.status ORDER BY o.status",
        ),
        shape(
            "window_literal_30d",
            "SELECT o.status, count(*) AS orders, sum(o.total_cents) AS revenue_cents
               FROM {r}.orders o
              WHERE o.created_at >= timestamptz '2026-02-01 00:00:00+00'
                AND o.created_at <  timestamptz '2026-03-03 00:00:00+00'
              GROUP BY o.status ORDER BY o.status",
        ),
        shape(
            "anti_join_never_ordered",
            "SELECT count(*) AS users_without_orders
               FROM public.users u
              WHERE NOT EXISTS (SELECT 1 FROM {r}.orders o WHERE o.user_id = u.id)",
        ),
        // The selective filter is on A (a few hundred users at 100k), then their
        // orders and their order items, both on B.
        shape(
            "local_filter_two_remote",
            "SELECT u.id, count(DISTINCT o.id) AS orders, sum(i.quantity) AS items
               FROM public.users u
               JOIN {r}.orders o ON o.user_id = u.id
               JOIN {r}.order_items i ON i.order_id = o.id
              WHERE u.segment = 'enterprise' AND u.signup_at < timestamptz '2025-04-01 00:00:00+00'
              GROUP BY u.id ORDER BY u.id",
        ),
        shape(
            "top10_spenders",
            "SELECT u.id, u.email, sum(o.total_cents) AS spend_cents
               FROM public.users u JOIN {r}.orders o ON o.user_id = u.id
              GROUP BY u.id, u.email ORDER BY spend_cents DESC, u.id LIMIT 10",
        ),
        shape(
            "top20_latest_orders",
            "SELECT o.id, o.user_id, o.total_cents, o.created_at
               FROM {r}.orders o ORDER BY o.created_at DESC, o.id LIMIT 20",
        ),
        // The window as analysts write it: now() keeps the filter, and the join, on A.
        shape(
            "window_now_120d_by_segment",
            "SELECT u.country, u.segment, count(*) AS orders, sum(o.total_cents) AS revenue_cents
               FROM public.users u JOIN {r}.orders o ON o.user_id = u.id
              WHERE o.created_at >= date_trunc('day', now()) - interval '120 days'
              GROUP BY 1, 2 ORDER BY 1, 2",
        ),
        // An anti-join with a remote filter: the paid orders of a month cross whole.
        shape(
            "enterprise_without_paid_month",
            "SELECT u.id FROM public.users u
              WHERE u.segment = 'enterprise'
                AND NOT EXISTS (SELECT 1 FROM {r}.orders o WHERE o.user_id = u.id AND o.status = 'paid'
                                   AND o.created_at >= timestamptz '2026-02-01 00:00:00+00'
                                   AND o.created_at < timestamptz '2026-03-01 00:00:00+00')
              ORDER BY u.id",
        ),
        // A local filter before one remote join.
        shape(
            "local_filter_orders",
            "SELECT u.id, count(*) AS orders, sum(o.total_cents) AS spend_cents
               FROM public.users u JOIN {r}.orders o ON o.user_id = u.id
              WHERE u.segment = 'enterprise' AND u.country = 'DE'
              GROUP BY u.id ORDER BY u.id",
        ),
        // EXISTS between two remote tables: a semi-join PostgreSQL 15/16 run on A.
        shape(
            "orders_with_big_items",
            "SELECT o.status, count(*) AS orders
               FROM {r}.orders o
              WHERE EXISTS (SELECT 1 FROM {r}.order_items i WHERE i.order_id = o.id AND i.quantity > 2)
              GROUP BY o.status ORDER BY o.status",
        ),
        // Shipped whole (GROUP BY on B): nothing to change.
        shape(
            "remote_status_counts",
            "SELECT o.status, count(*) AS orders FROM {r}.orders o GROUP BY o.status ORDER BY o.status",
        ),
        shape(
            "point_lookup_user_orders",
            "SELECT o.id, o.status, o.total_cents
               FROM public.users u JOIN {r}.orders o ON o.user_id = u.id
              WHERE u.id = 4242 ORDER BY o.id",
        ),
    ]
}

/// The same questions written the documented way (docs/query-patterns.md: "Writing
/// fast cross-database queries"): `<shape>.<pattern>` answers exactly what `<shape>` does.
pub fn documented_patterns() -> Vec<Case> {
    vec![
        // Aggregate per user on B (GROUP BY is shipped): one row per customer crosses, not one
        // per order; with ORDER_TOTALS_INDEX on B it streams from an index-only scan.
        shape(
            "whole_history_by_country.preaggregate",
            "WITH per_user AS (
               SELECT user_id, count(*) AS orders, sum(total_cents) AS revenue_cents
                 FROM {r}.orders GROUP BY user_id)
             SELECT u.country, sum(p.orders)::bigint AS orders, sum(p.revenue_cents) AS revenue_cents
               FROM per_user p JOIN public.users u ON u.id = p.user_id
              GROUP BY u.country ORDER BY u.country",
        ),
        // An uncorrelated scalar subquery is an InitPlan parameter: postgres_fdw ships it as $1.
        shape(
            "window_now_60d.initplan",
            "SELECT o.status, count(*) AS orders, sum(o.total_cents) AS revenue_cents
               FROM {r}.orders o
              WHERE o.created_at >= (SELECT date_trunc('day', now()) - interval '60 days')
              GROUP BY o.status ORDER BY o.status",
        ),
        // Every customer's totals from a view on B (USER_ORDER_TOTALS_VIEW): B plans the
        // GROUP BY as a whole query with room to hash it, not as postgres_fdw's cursor.
        shape(
            "whole_history_by_country.remote_view",
            "SELECT u.country, sum(t.orders)::bigint AS orders, sum(t.revenue_cents) AS revenue_cents
               FROM {r}.user_order_totals t JOIN public.users u ON u.id = t.user_id
              GROUP BY u.country ORDER BY u.country",
        ),
        // The distinct customers with an order, computed on B.
        shape(
            "anti_join_never_ordered.preaggregate",
            "SELECT count(*) AS users_without_orders
               FROM public.users u
              WHERE u.id NOT IN (SELECT o.user_id FROM {r}.orders o GROUP BY o.user_id)",
        ),
        // The local ids as one array parameter, and a view on B that joins orders to their
        // items (see ORDER_LINES_VIEW): one remote query, planned on B with the ids' values.
        // (The cast makes ANY take the array, not the subquery's rows.)
        shape(
            "local_filter_two_remote.view_array",
            "SELECT l.user_id AS id, count(DISTINCT l.order_id) AS orders, sum(l.quantity) AS items
               FROM {r}.order_lines l
              WHERE l.user_id = ANY ((SELECT array_agg(u.id) FROM public.users u
                                       WHERE u.segment = 'enterprise'
                                         AND u.signup_at < timestamptz '2025-04-01 00:00:00+00')::bigint[])
              GROUP BY l.user_id ORDER BY l.user_id",
        ),
        // Rank on B (GROUP BY, ORDER BY and LIMIT are shipped): ten rows cross.
        shape(
            "top10_spenders.preaggregate",
            "SELECT u.id, u.email, t.spend_cents
               FROM (SELECT user_id, sum(total_cents) AS spend_cents FROM {r}.orders
                      GROUP BY user_id ORDER BY spend_cents DESC, user_id LIMIT 10) t
               JOIN public.users u ON u.id = t.user_id
              ORDER BY t.spend_cents DESC, u.id",
        ),
    ]
}

/// The view a database engineer creates on B for the join pattern (and, co-located, beside the tables).
pub const ORDER_LINES_VIEW: &str = "DROP VIEW IF EXISTS public.order_lines;
CREATE VIEW public.order_lines AS
  SELECT o.user_id, o.id AS order_id, i.line_no, i.sku, i.quantity, i.price_cents
    FROM public.orders o JOIN public.order_items i ON i.order_id = o.id";

/// The index of the whole-history pattern, on B (and co-located, so that the floor
/// has it too): the per-customer GROUP BY then streams from an index-only scan in
/// user_id order (0.12 s at 1M orders, against 0.2 s hashed and 0.86 s through the
/// heap), which is also the first-rows plan B picks for postgres_fdw's cursor. An
/// index-only scan reads the heap for pages not yet all-visible: VACUUM after a load.
pub const ORDER_TOTALS_INDEX: &str =
    "CREATE INDEX IF NOT EXISTS orders_user_id_total_idx ON public.orders (user_id) INCLUDE (total_cents)";

/// The view of the whole-history pattern without that index, on B (and co-located). postgres_fdw reads
/// through a cursor, and B plans a cursor's query for its first rows
/// (cursor_tuple_fraction 0.1) with 4 MB of work_mem: the per-customer GROUP BY
/// becomes an index scan in user_id order (0.86 s at 1M orders) instead of a
/// hash aggregate (0.22 s). A SQL function is planned as a whole query, and its
/// SET gives the hash table room (about 220 bytes per customer: 64 MB is
/// enough for ~250k customers; size it to yours).
pub const USER_ORDER_TOTALS_VIEW: &str = "DROP VIEW IF EXISTS public.user_order_totals;
DROP FUNCTION IF EXISTS public.user_order_totals();
CREATE FUNCTION public.user_order_totals()
  RETURNS TABLE (user_id bigint, orders bigint, revenue_cents numeric)
  LANGUAGE sql STABLE SET work_mem = '64MB'
  AS $$ SELECT o.user_id, count(*), sum(o.total_cents) FROM public.orders o GROUP BY o.user_id $$;
CREATE VIEW public.user_order_totals AS SELECT * FROM public.user_order_totals()";

/// Every shipped report of one link (the bench's stack has clusters A and B
/// only; a report across a second link, `{{remote:<name>}}`, is left out),
/// windowed before [`SCHEDULED`].
pub fn reports() -> Vec<Case> {
    let at: DateTime<Utc> = DateTime::parse_from_rfc3339(SCHEDULED)
        .expect("SCHEDULED is RFC 3339")
        .with_timezone(&Utc);
    let catalog = Catalog::shipped().expect("the shipped report catalog parses");
    catalog
        .reports()
        .iter()
        .filter(|report| report.links() == [LinkRef::Default])
        .map(|report| Case {
            name: report.name.clone(),
            kind: "report",
            template: String::new(),
            report: Some((report.clone(), report.window.before(at))),
        })
        .collect()
}
