//! The link registry: schema `fdw_bridge` on the local cluster with one row per
//! link in table `links` (its identity and its properties as CloudFormation sent
//! them). CloudFormation sends an Update only when a property changes; the
//! scheduled refresh reads this table to converge each link again when the
//! remote schema changed (see `bootstrap::refresh`).

use fdw_bridge_pg::sql::qualified;

pub const REGISTRY_SCHEMA: &str = "fdw_bridge";
pub const REGISTRY_TABLE: &str = "links";

/// `fdw_bridge.links`, quoted.
pub fn registry_table() -> String {
    qualified(REGISTRY_SCHEMA, REGISTRY_TABLE)
}

/// The comment on the schema and the table: shared by every link on the
/// database, so it names no stack (each row does).
pub const REGISTRY_COMMENT: &str =
    "managed by fdw-bridge: the desired state of each link on this database, read by the scheduled refresh";
