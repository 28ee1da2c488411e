//! What the catalogs say, read back from each cluster (see [`super::inspect`]).

use std::collections::{BTreeMap, BTreeSet};

/// A column as `format_type` prints it; the same on both sides after IMPORT FOREIGN SCHEMA.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    pub data_type: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RoleState {
    pub can_login: bool,
    /// `rolconnlimit`: -1 for no limit.
    pub connection_limit: i32,
    /// The role's comment: fdw-bridge's marker when it made the role.
    pub comment: Option<String>,
    /// Privileges granted to the role (what removal must revoke).
    pub grants: RoleGrants,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RoleGrants {
    /// Databases it may CONNECT to (by grant, not through PUBLIC).
    pub databases: BTreeSet<String>,
    /// Schemas it has USAGE on.
    pub schemas: BTreeSet<String>,
    /// (schema, table) it has SELECT on.
    pub tables: BTreeSet<(String, String)>,
    /// Any other table privilege (INSERT, UPDATE, ...): least privilege says revoke.
    pub other_table_privileges: BTreeSet<(String, String, String)>,
}

/// The remote cluster, as the remote admin sees it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RemoteState {
    pub database: String,
    /// The FDW role, when it exists.
    pub fdw_role: Option<RoleState>,
    /// Its alternating-users clone, when it exists.
    pub clone_role: Option<RoleState>,
    /// Whether a login as the secret's user (the FDW role or its clone) with the secret's password works.
    pub fdw_password_works: bool,
    /// Schemas that exist among those asked for, with their tables and views.
    pub schemas: BTreeMap<String, BTreeMap<String, Vec<Column>>>,
    /// Connections ordinary roles may open on the remote cluster: max_connections
    /// less the slots reserved for superusers (and, from PostgreSQL 16, reserved_connections).
    pub connection_budget: u32,
    /// User-defined types the tables of those schemas use, with what they are made of.
    pub types: BTreeMap<TypeKey, UserType>,
    /// Columns whose type is (an array of) one of `types`.
    pub user_typed_columns: Vec<UserTypedColumn>,
    /// Tables of those schemas on which the remote admin may not grant SELECT, with their owner.
    pub ungrantable: BTreeMap<(String, String), String>,
    /// Live rows of those schemas' tables and materialized views (a partitioned
    /// table: its partitions'), from the statistics system; views have none.
    pub row_counts: BTreeMap<(String, String), i64>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerState {
    pub wrapper: String,
    pub options: BTreeMap<String, String>,
    pub comment: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ForeignTableState {
    pub server: String,
    pub columns: Vec<Column>,
    /// Roles holding SELECT on it (owner excluded).
    pub readers: BTreeSet<String>,
    /// Local views and materialized views that depend on it ("schema.view").
    pub dependents: Vec<String>,
    /// Rows counted by its last ANALYZE (`pg_class.reltuples`); None: never analyzed.
    pub analyzed_rows: Option<i64>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LocalSchemaState {
    pub comment: Option<String>,
    pub foreign_tables: BTreeMap<String, ForeignTableState>,
    /// Names of other relations in the schema (tables, views, ...).
    pub other_relations: BTreeSet<String>,
    /// Functions, types and other objects that would keep the schema from being dropped.
    pub other_objects: i64,
    /// Roles holding USAGE on the schema (owner excluded).
    pub usage: BTreeSet<String>,
    /// Whether PUBLIC holds USAGE (as on `public`): then the link grants none of its own.
    pub public_usage: bool,
}

/// The local cluster, as the local admin sees it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LocalState {
    pub current_user: String,
    pub extension_installed: bool,
    pub server: Option<ServerState>,
    /// Role name (or "public") to its user-mapping options, for this server.
    pub mappings: BTreeMap<String, BTreeMap<String, String>>,
    /// Roles whose mapping options the admin may not read (PostgreSQL shows a
    /// non-superuser only its own); fdw-bridge writes all mappings together, so
    /// the admin's own mapping stands for them.
    pub hidden_mappings: BTreeSet<String>,
    /// Local schemas asked for that exist.
    pub schemas: BTreeMap<String, LocalSchemaState>,
    /// Local roles asked for that do not exist.
    pub missing_roles: Vec<String>,
    /// Foreign tables on this server outside the link's local schemas ("schema.table").
    pub server_tables_elsewhere: Vec<String>,
    /// Types on this cluster named like the remote types the link needs, and
    /// every type carrying this link's marker.
    pub types: BTreeMap<TypeKey, UserType>,
    /// Schemas that hold (or would hold) those types: name to its comment and
    /// how many objects (relations, types, functions) are in it.
    pub type_schemas: BTreeMap<String, (Option<String>, i64)>,
    /// The report roles, when the link makes them.
    pub reports: ReportRolesState,
    /// The link registry (`fdw_bridge.links`), when it exists.
    pub registry: Option<RegistryState>,
    /// The query advice in the registry's schema, when it is installed.
    pub advice: Option<AdviceState>,
}

/// `fdw_bridge.advise` and who may call it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AdviceState {
    /// Its comment, which names the installed version.
    pub comment: Option<String>,
    /// Roles granted EXECUTE on it (its owner aside).
    pub callers: BTreeSet<String>,
    /// Those of `callers` with a user mapping on another server than this link's.
    pub mapped_elsewhere: BTreeSet<String>,
}

/// Schema `fdw_bridge` and its table `links`: one row per link on this database.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RegistryState {
    pub schema_comment: Option<String>,
    /// Objects in the schema besides the table `links` (its index and row type
    /// included there): when there are some, removal leaves the schema.
    pub other_objects: i64,
    /// By server name.
    pub links: BTreeMap<String, StoredLink>,
}

/// One stored link, as written by [`super::plan`]'s registration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredLink {
    pub server_name: String,
    pub link_id: String,
    pub stack_id: String,
    pub logical_resource_id: String,
    pub properties: serde_json::Value,
}

/// A user-defined type, named by (schema, name) as on the remote cluster; the
/// link makes the same type under the same names on the local cluster, because
/// IMPORT FOREIGN SCHEMA writes column types qualified with the remote schema.
pub type TypeKey = (String, String);

/// What a user-defined type is, as far as the link reproduces it. Read the same
/// way on both clusters, so that equal definitions compare equal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TypeDef {
    /// Labels in their sort order.
    Enum { labels: Vec<String> },
    /// Base type (as `format_type` prints it), NOT NULL, default, and CHECK
    /// constraints (name, `pg_get_constraintdef`) in name order.
    Domain {
        base: String,
        not_null: bool,
        default: Option<String>,
        checks: Vec<(String, String)>,
    },
    /// A standalone composite type's attributes.
    Composite { attributes: Vec<Column> },
    /// A range type's subtype.
    Range { subtype: String },
    /// A type that belongs to an extension: the extension must be installed on both clusters.
    Extension { extension: String },
    /// Anything else (a base type written in C, a table's row type): not reproducible.
    Other { what: String },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserType {
    pub def: TypeDef,
    /// User-defined types this one is made of (a domain's base, a range's subtype, ...).
    pub depends_on: Vec<TypeKey>,
    /// The type's comment (fdw-bridge's marker on the local types it made).
    pub comment: Option<String>,
}

/// A remote column whose type is (an array of) a user-defined type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserTypedColumn {
    pub schema: String,
    pub table: String,
    pub column: String,
    pub type_key: TypeKey,
}

/// A login role on the local cluster.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LocalRoleState {
    pub can_login: bool,
    pub comment: Option<String>,
    /// Whether the admin is a member (needed to give the role a schema, and to take it back).
    pub admin_is_member: bool,
}

/// Schema `fdw_reports`: made by the link, or by fdw-report itself when it ran
/// as the admin (before the link made report roles).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReportsSchemaState {
    pub owner: String,
    pub comment: Option<String>,
    /// Tables in it with their owners.
    pub tables: BTreeMap<String, String>,
}

/// The report reader and writer on the local cluster, and what they hold.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReportRolesState {
    /// By role name, the report roles that exist.
    pub roles: BTreeMap<String, LocalRoleState>,
    /// Report roles whose secret's password logs in (filled in by the caller, which alone can try).
    pub passwords_work: BTreeSet<String>,
    /// Schema `fdw_reports`, when it exists.
    pub schema: Option<ReportsSchemaState>,
    /// Of the tables the reports read: those that exist, and those the reader may already SELECT.
    pub read_tables_present: BTreeSet<(String, String)>,
    pub read_tables_granted: BTreeSet<(String, String)>,
    /// Schemas of those tables the reader has USAGE on.
    pub read_schemas_usable: BTreeSet<String>,
}
