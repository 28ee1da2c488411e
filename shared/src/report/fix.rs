//! Which pattern of the README's "Writing fast cross-database queries" fixes a
//! foreign scan that fetches a whole remote table, from where the scan sits in
//! the plan: the node types above it and what the other side of its join (or
//! the node its SubPlan tests) reads. Read by relationship, not by one major's
//! text: PostgreSQL 16 may hash the local side of an anti-join and call it a
//! "Right Anti" join with the foreign scan on the outer side, and PostgreSQL 17
//! ships a semi-join between foreign tables of one server when it can cost it.

use serde_json::Value;

/// The first major whose postgres_fdw ships EXISTS / IN between foreign tables
/// of one server as a remote semi-join (PostgreSQL 17 release notes).
pub const SEMI_JOIN_PUSHDOWN_MAJOR: u32 = 17;

/// The patterns, chosen from where the scan sits in the plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fix {
    /// A local filter with now() or another non-immutable function.
    InitPlanBound,
    /// The selective filter is on the local side of a join.
    ArrayOfLocalIds,
    /// An anti- or semi-join (or a NOT IN / IN SubPlan) of local rows against the remote table.
    RemoteKeys,
    /// An EXISTS / IN between foreign tables, joined on this cluster.
    RemoteSemiJoin,
    /// An aggregate above the scan (whole history, top-N).
    AggregateRemotely,
    /// None of the above: filter on remote columns with shippable expressions.
    ShippableFilter,
}

impl Fix {
    /// What to write instead, for a local cluster of PostgreSQL `server_major`.
    pub fn advice(self, server_major: u32) -> &'static str {
        match self {
            Fix::InitPlanBound => "the filter uses now() (or another non-immutable function), which postgres_fdw never ships: write the bound as a scalar subquery, `created_at >= (SELECT now() - interval '7 days')` (an InitPlan parameter, shipped as $1), or bind the window as a parameter",
            Fix::ArrayOfLocalIds => "the selective filter is on the local side of the join: ship the local ids as one array, `remote.user_id = ANY ((SELECT array_agg(id) FROM local_table WHERE ...)::bigint[])`; for two remote tables, join them in a view on the remote cluster and import the view",
            Fix::RemoteKeys => "the anti- or semi-join needs only the remote keys: `local.id NOT IN (SELECT user_id FROM remote GROUP BY user_id)` ships the GROUP BY, so one row per key crosses",
            Fix::RemoteSemiJoin if server_major >= SEMI_JOIN_PUSHDOWN_MAJOR => "the EXISTS / IN between two foreign tables is joined on this cluster: PostgreSQL 17 ships it to the remote cluster as one semi-join when both tables are on one server and the planner can cost it, so turn on the link's UseRemoteEstimate (every query's planning then asks the remote cluster for estimates), or join the two tables in a view on the remote cluster and import the view",
            Fix::RemoteSemiJoin => "the EXISTS / IN between two foreign tables is joined on this cluster, and before PostgreSQL 17 postgres_fdw never ships a semi-join: join the two tables in a view on the remote cluster and import the view (PostgreSQL 17 ships it itself, with the link's UseRemoteEstimate)",
            Fix::AggregateRemotely => "aggregate on the remote cluster first: GROUP BY the join key in a subquery (shipped, with its ORDER BY and LIMIT for a top-N), then join the local table to its rows; when every key is aggregated (a whole history), give the remote table an index on the join key that INCLUDEs the aggregated columns (the GROUP BY then streams from an index-only scan, the first-rows plan the remote cluster picks for postgres_fdw's cursor), or put that GROUP BY in a SQL function with `SET work_mem` behind a view on the remote cluster and import the view",
            Fix::ShippableFilter => "bind the window as a parameter instead of now()/volatile expressions and filter on remote columns",
        }
    }
}

/// Where a scan sits in the plan, as seen from its ancestors (the nearest join wins).
#[derive(Clone, Copy, Debug, Default)]
pub struct Position {
    aggregate_above: bool,
    /// Inside a join (or a SubPlan) whose other side reads a local table.
    local_join: Option<LocalJoin>,
    /// Inside a semi-join whose other side reads foreign tables only.
    semi_join_of_foreign_tables: bool,
}

#[derive(Clone, Copy, Debug)]
struct LocalJoin {
    /// Anti- or semi-join, or a SubPlan test: the local rows need only the remote keys.
    keys_only: bool,
    /// The local side reads its table with a filter or an index condition.
    local_filtered: bool,
}

/// postgres_fdw ships only immutable functions; these are the usual ones that are not.
const NOT_SHIPPED: [&str; 6] = [
    "now()",
    "current_timestamp",
    "current_date",
    "localtimestamp",
    "statement_timestamp()",
    "clock_timestamp()",
];

/// The fix for a foreign scan `node` at `position`.
pub fn fix_for(node: &Value, position: Position) -> Fix {
    let filter = text(node, "Filter").to_ascii_lowercase();
    if NOT_SHIPPED.iter().any(|f| filter.contains(f)) {
        return Fix::InitPlanBound;
    }
    match position.local_join {
        Some(LocalJoin { keys_only: true, .. }) => Fix::RemoteKeys,
        Some(LocalJoin {
            local_filtered: true, ..
        }) => Fix::ArrayOfLocalIds,
        _ if position.semi_join_of_foreign_tables => Fix::RemoteSemiJoin,
        _ if position.aggregate_above => Fix::AggregateRemotely,
        _ => Fix::ShippableFilter,
    }
}

impl Position {
    /// The position of `node`'s child number `index`, given this one for `node`.
    pub fn below(self, node: &Value, index: usize) -> Position {
        let mut inner = self;
        let kind = text(node, "Node Type");
        if matches!(kind, "Aggregate" | "Group" | "Limit") {
            inner.aggregate_above = true;
        }
        let children = children(node);
        let Some(child) = children.get(index) else {
            return inner;
        };
        match text(child, "Parent Relationship") {
            // A SubPlan (NOT IN / IN, hashed or not) tests each row of the node it hangs under.
            "SubPlan" => {
                if let Some(local_filtered) = local_read_here(node, children) {
                    inner.local_join = Some(LocalJoin {
                        keys_only: true,
                        local_filtered,
                    });
                    inner.semi_join_of_foreign_tables = false;
                }
                return inner;
            }
            // An InitPlan runs once, before its parent: no side of a join.
            "InitPlan" => return inner,
            _ => {}
        }
        let Some(join_type) = node.get("Join Type").and_then(Value::as_str) else {
            return inner;
        };
        // "Anti", "Right Anti" (PostgreSQL 16+), "Semi", "Right Semi" (PostgreSQL 18): the
        // side named is the one hashed or scanned first, not where the foreign table is.
        let anti = join_type.ends_with("Anti");
        let semi = join_type.ends_with("Semi");
        let other_sides = || {
            children
                .iter()
                .enumerate()
                .filter(move |(i, c)| *i != index && !is_subplan(c))
                .map(|(_, c)| c)
        };
        if let Some(local_filtered) = other_sides().filter_map(local_read).reduce(|a, b| a || b) {
            inner.local_join = Some(LocalJoin {
                keys_only: anti || semi,
                local_filtered,
            });
            inner.semi_join_of_foreign_tables = false;
        } else if semi && other_sides().any(reads_foreign) {
            inner.local_join = None;
            inner.semi_join_of_foreign_tables = true;
        }
        inner
    }
}

fn text<'a>(node: &'a Value, key: &str) -> &'a str {
    node.get(key).and_then(Value::as_str).unwrap_or("")
}

pub fn children(node: &Value) -> &[Value] {
    node.get("Plans")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// A child evaluated per row or once for its parent (a SubPlan or an InitPlan), not a side of it.
fn is_subplan(node: &Value) -> bool {
    matches!(text(node, "Parent Relationship"), "SubPlan" | "InitPlan")
}

/// A scan of a local table (any scan node that names a relation, but a foreign scan).
fn reads_local_table(node: &Value) -> bool {
    text(node, "Node Type") != "Foreign Scan" && node.get("Relation Name").is_some()
}

/// Whether a subtree reads a local table, and whether with a filter or index condition.
fn local_read(node: &Value) -> Option<bool> {
    local_read_here(node, children(node))
}

/// [`local_read`] of `node` itself or its sides (`children`), its SubPlans and InitPlans aside.
fn local_read_here(node: &Value, children: &[Value]) -> Option<bool> {
    if reads_local_table(node) {
        return Some(node.get("Filter").is_some() || node.get("Index Cond").is_some());
    }
    children
        .iter()
        .filter(|c| !is_subplan(c))
        .filter_map(local_read)
        .reduce(|a, b| a || b)
}

/// Whether a subtree (its SubPlans and InitPlans aside) scans a foreign table.
fn reads_foreign(node: &Value) -> bool {
    text(node, "Node Type") == "Foreign Scan" || children(node).iter().filter(|c| !is_subplan(c)).any(reads_foreign)
}
