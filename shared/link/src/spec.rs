//! The desired state of one FDW link.

use std::collections::BTreeMap;
use std::fmt;

/// Everything the link should be, on both clusters.
#[derive(Clone, PartialEq)]
pub struct LinkSpec {
    /// Name of the foreign server on the local cluster.
    pub server_name: String,
    /// Comment put on what this link creates (starts with [`super::MANAGED_MARKER`]).
    pub marker: String,
    /// This link's identity (the custom resource's PhysicalResourceId). The remote
    /// role may be shared by an old and a new identity during a replacement, so its
    /// comment also says which link holds it now.
    pub link_id: String,
    /// How the local cluster reaches the remote one (server options host, port, dbname).
    pub remote_host: String,
    pub remote_port: u16,
    pub remote_database: String,
    /// postgres_fdw server options besides host, port and dbname.
    pub server_options: BTreeMap<String, String>,
    /// The least-privilege role on the remote cluster that holds the grants.
    pub fdw_user: String,
    /// Who the user mappings log in as: `fdw_user`, or its clone once
    /// alternating-users rotation has switched to it (the secret names the current one).
    pub login_user: String,
    /// The password of `login_user`.
    pub fdw_password: Password,
    /// `CONNECTION LIMIT` for the FDW role and its clone; None: a share of the
    /// remote cluster's connections ([`super::plan`]'s default).
    pub fdw_connection_limit: Option<u32>,
    /// The remote admin, which must never end up in a user mapping.
    pub remote_admin_user: String,
    /// The local admin: owns the server and foreign tables, and needs a mapping
    /// of its own for IMPORT FOREIGN SCHEMA and ANALYZE.
    pub local_admin_user: String,
    /// Local roles that may query the foreign tables (the report reader among them).
    pub local_roles: Vec<String>,
    pub imports: Vec<ImportSpec>,
    /// Remote tables the remote admin may not grant SELECT on: left out (and
    /// reported) when true, refused when false (`OnUngrantable`).
    pub skip_ungrantable: bool,
    /// The report roles the link makes on the local cluster, when asked to.
    pub report_roles: Option<ReportRolesSpec>,
    /// What the link stores about itself on the local cluster (in
    /// [`super::registry`]'s table) so that a refresh can converge it again
    /// without CloudFormation; None: nothing is stored (the planner's tests).
    pub registration: Option<Registration>,
}

/// One row of the local cluster's link registry: the resource's identity and
/// its properties as CloudFormation sent them (secret ARNs, never secrets).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Registration {
    pub stack_id: String,
    pub logical_resource_id: String,
    /// ResourceProperties without ServiceToken and ServiceTimeout (they belong to CloudFormation).
    pub properties: serde_json::Value,
}

/// A login role on the local cluster that the link makes and keeps.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoginRole {
    pub name: String,
    pub password: Password,
}

/// fdw-report's roles: the reader (a mapped local role, SELECT on the foreign
/// tables and `read_tables`) and the writer (owner of schema `fdw_reports`, nothing else).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportRolesSpec {
    pub reader: LoginRole,
    pub writer: LoginRole,
    /// `(schema, table)` on the local cluster the reports read.
    pub read_tables: Vec<(String, String)>,
}

impl ReportRolesSpec {
    pub fn roles(&self) -> [&LoginRole; 2] {
        [&self.reader, &self.writer]
    }
}

impl LinkSpec {
    /// Roles that get a user mapping: the admin first, then the local roles, once each.
    pub fn mapped_roles(&self) -> Vec<String> {
        let mut roles = vec![self.local_admin_user.clone()];
        for r in &self.local_roles {
            if !roles.contains(r) {
                roles.push(r.clone());
            }
        }
        roles
    }

    /// Distinct local schemas, in order of appearance.
    pub fn local_schemas(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for i in &self.imports {
            if !out.contains(&i.local_schema) {
                out.push(i.local_schema.clone());
            }
        }
        out
    }

    /// Distinct remote schemas, in order of appearance.
    pub fn remote_schemas(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for i in &self.imports {
            if !out.contains(&i.remote_schema) {
                out.push(i.remote_schema.clone());
            }
        }
        out
    }

    /// Whether an object with this comment was made by this link (or, for the
    /// remote role, by an earlier identity of the same resource).
    pub fn owns(&self, comment: Option<&String>) -> bool {
        comment.is_some_and(|c| {
            c == &self.marker
                || c.strip_prefix(self.marker.as_str())
                    .is_some_and(|rest| rest.starts_with(" link="))
        })
    }

    /// The comment on the remote FDW role and the local types: the marker and the
    /// link that holds them now (a replacement hands them over, so that the old
    /// identity's Delete leaves them to the new one).
    pub fn role_comment(&self) -> String {
        format!("{} link={}", self.marker, self.link_id)
    }

    /// Whether the mappings log in as the clone rather than the base role.
    pub fn logs_in_as_clone(&self) -> bool {
        self.login_user != self.fdw_user
    }

    /// All server options, including the connection ones.
    pub fn all_server_options(&self) -> BTreeMap<String, String> {
        let mut all = self.server_options.clone();
        all.insert("host".into(), self.remote_host.clone());
        all.insert("port".into(), self.remote_port.to_string());
        all.insert("dbname".into(), self.remote_database.clone());
        all
    }
}

impl fmt::Debug for LinkSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LinkSpec")
            .field("server_name", &self.server_name)
            .field(
                "remote",
                &format_args!("{}:{}/{}", self.remote_host, self.remote_port, self.remote_database),
            )
            .field("server_options", &self.server_options)
            .field("fdw_user", &self.fdw_user)
            .field("login_user", &self.login_user)
            .field("fdw_connection_limit", &self.fdw_connection_limit)
            .field("local_roles", &self.local_roles)
            .field("imports", &self.imports)
            .field("report_roles", &self.report_roles)
            .field("skip_ungrantable", &self.skip_ungrantable)
            .field("registration", &self.registration)
            .finish_non_exhaustive()
    }
}

/// One remote schema imported into one local schema.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportSpec {
    pub remote_schema: String,
    pub local_schema: String,
    /// When not empty, only these tables.
    pub include: Vec<String>,
    /// Never these tables.
    pub exclude: Vec<String>,
}

impl ImportSpec {
    pub fn exposes(&self, table: &str) -> bool {
        (self.include.is_empty() || self.include.iter().any(|t| t == table)) && !self.exclude.iter().any(|t| t == table)
    }
}

/// A password that never prints.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(pub String);

impl Password {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("********")
    }
}
