//! What a link needs from clusters it did not make, checked before the first
//! statement: on existing clusters (docs/deploy.md "Deploy to existing clusters") the
//! user owns the parameter groups and the admin roles, so a missing piece must
//! fail the Create with what to change, not a failing statement halfway.
//! [`unmet`] decides from facts (pure); [`check`] reads them from both clusters.

use super::resolve::ResolvedLink;
use fdw_bridge_pg::{ConnectError, ConnectTarget, Connector, PgError};
use tokio_postgres::Client;

/// The PostgreSQL majors fdw-bridge is tested with (make test-versions links
/// across each pair; docs/testing.md "PostgreSQL versions"), as server_version_num bounds.
pub const OLDEST_SUPPORTED: i32 = 150000;
pub const NEWEST_SUPPORTED_MAJOR: i32 = 17;

/// What the local cluster says about itself and its admin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalFacts {
    pub server_version_num: i32,
    pub fdw_installed: bool,
    /// USAGE on the postgres_fdw wrapper (CREATE SERVER needs it).
    pub fdw_usage: bool,
    /// postgres_fdw is in pg_available_extensions (the server ships it).
    pub fdw_available: bool,
    /// Superuser, or a member of rds_superuser (Aurora's master user):
    /// postgres_fdw is not a trusted extension.
    pub may_create_extension: bool,
    /// `rds.allowed_extensions` when the server has it (Aurora); `*` allows all.
    pub allowed_extensions: Option<String>,
    /// CREATE on the database (the local schemas).
    pub create_on_database: bool,
}

/// What the remote cluster says about itself and its admin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteFacts {
    pub server_version_num: i32,
    /// CREATEROLE (or superuser): the FDW role and its clone are made by it.
    pub createrole: bool,
}

/// Where a problem is and as whom it was seen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Side {
    /// "local cluster (LocalCluster, database users)".
    pub label: String,
    pub admin: String,
    pub database: String,
}

/// Each unmet prerequisite, one sentence: the cause, then what to change.
pub fn unmet(local_side: &Side, local: &LocalFacts, remote_side: &Side, remote: &RemoteFacts) -> Vec<String> {
    let mut problems = Vec::new();
    for (side, version) in [
        (local_side, local.server_version_num),
        (remote_side, remote.server_version_num),
    ] {
        if let Some(problem) = unsupported_version(side, version) {
            problems.push(problem);
        }
    }
    problems.extend(fdw_problem(local_side, local));
    if !local.create_on_database {
        problems.push(format!(
            "{}: {} lacks CREATE on database {} (the link makes its local schemas there): run GRANT CREATE ON \
             DATABASE {} TO {} as the master user, or give LocalCluster.AdminSecretArn the master user's secret",
            local_side.label,
            local_side.admin,
            local_side.database,
            fdw_bridge_pg::ident(&local_side.database),
            fdw_bridge_pg::ident(&local_side.admin),
        ));
    }
    if !remote.createrole {
        problems.push(format!(
            "{}: {} lacks CREATEROLE (the link makes its FDW role and that role's clone with it): give \
             RemoteCluster.AdminSecretArn the cluster's master user secret (Aurora's master user has CREATEROLE), \
             or run ALTER ROLE {} CREATEROLE as the master user",
            remote_side.label,
            remote_side.admin,
            fdw_bridge_pg::ident(&remote_side.admin),
        ));
    }
    problems
}

fn unsupported_version(side: &Side, version: i32) -> Option<String> {
    let major = version / 10000;
    if version >= OLDEST_SUPPORTED && major <= NEWEST_SUPPORTED_MAJOR {
        return None;
    }
    let what = if version < OLDEST_SUPPORTED {
        "older than"
    } else {
        "newer than"
    };
    Some(format!(
        "{}: PostgreSQL {} (server_version_num {version}) is {what} what fdw-bridge is tested with \
         ({}-{NEWEST_SUPPORTED_MAJOR}; Aurora PostgreSQL 16.x and 17.x in AWS): upgrade the cluster to a supported \
         major version, or link a cluster that runs one",
        side.label,
        major,
        OLDEST_SUPPORTED / 10000,
    ))
}

/// postgres_fdw: used when installed (with USAGE), else created by the link,
/// which needs the server to ship it, rds.allowed_extensions to allow it and
/// an admin that may create an untrusted extension.
fn fdw_problem(side: &Side, facts: &LocalFacts) -> Option<String> {
    let label = &side.label;
    let admin = &side.admin;
    let database = &side.database;
    if facts.fdw_installed {
        return (!facts.fdw_usage).then(|| {
            format!(
                "{label}: {admin} lacks USAGE on the foreign-data wrapper postgres_fdw in database {database}: run \
                 GRANT USAGE ON FOREIGN DATA WRAPPER postgres_fdw TO {} as the master user",
                fdw_bridge_pg::ident(admin)
            )
        });
    }
    if !facts.fdw_available {
        return Some(format!(
            "{label}: the extension postgres_fdw is not available on this server (not in pg_available_extensions): \
             link from an Aurora PostgreSQL cluster, or install the postgres_fdw (contrib) package"
        ));
    }
    if let Some(allowed) = &facts.allowed_extensions {
        if !extension_allowed(allowed, "postgres_fdw") {
            return Some(format!(
                "{label}: postgres_fdw is not installed in database {database} and rds.allowed_extensions ({allowed:?}) \
                 does not allow it: add postgres_fdw to rds.allowed_extensions in the cluster's DB cluster parameter \
                 group (a dynamic parameter: no reboot), or run CREATE EXTENSION postgres_fdw in {database} while it is allowed"
            ));
        }
    }
    (!facts.may_create_extension).then(|| {
        format!(
            "{label}: postgres_fdw is not installed in database {database} and {admin} may not create it (it is not a \
             trusted extension: on Aurora only rds_superuser members, such as the master user, may): run CREATE \
             EXTENSION postgres_fdw in {database} as the master user, or give LocalCluster.AdminSecretArn the master \
             user's secret"
        )
    })
}

/// `rds.allowed_extensions`: a comma-separated list, `*` for every extension.
fn extension_allowed(setting: &str, extension: &str) -> bool {
    setting
        .split(',')
        .map(str::trim)
        .any(|name| name == "*" || name == extension)
}

#[derive(Debug, thiserror::Error)]
pub enum PrerequisiteError {
    #[error(transparent)]
    Connect(#[from] ConnectError),
    #[error("{cluster}: {source}")]
    Read {
        cluster: &'static str,
        #[source]
        source: PgError,
    },
    #[error(
        "the clusters lack what the link needs ({}); nothing was changed on either cluster: change what is named, \
         then retry (an Update, or a new deploy)",
        .0.join("; ")
    )]
    Unmet(Vec<String>),
}

/// Reads both clusters' facts as the admins the link runs as, and fails with
/// every unmet prerequisite at once.
pub async fn check(connector: &Connector, link: &ResolvedLink) -> Result<(), PrerequisiteError> {
    let local = connector.connect(&link.local_admin).await?;
    let local_facts = read_local(&local).await.map_err(|source| PrerequisiteError::Read {
        cluster: "local cluster",
        source,
    })?;
    drop(local);
    let remote = connector.connect(&link.remote_admin).await?;
    let remote_facts = read_remote(&remote).await.map_err(|source| PrerequisiteError::Read {
        cluster: "remote cluster",
        source,
    })?;
    let problems = unmet(
        &side("local cluster (LocalCluster", &link.local_admin),
        &local_facts,
        &side("remote cluster (RemoteCluster", &link.remote_admin),
        &remote_facts,
    );
    if problems.is_empty() {
        Ok(())
    } else {
        Err(PrerequisiteError::Unmet(problems))
    }
}

fn side(label: &str, target: &ConnectTarget) -> Side {
    Side {
        label: format!("{label}, database {})", target.dbname),
        admin: target.user.clone(),
        database: target.dbname.clone(),
    }
}

const READ_LOCAL: &str = "
-- CASE, not AND: the functions fail on a name that does not exist, and AND may run them first.
SELECT current_setting('server_version_num')::int,
       EXISTS (SELECT FROM pg_extension WHERE extname = 'postgres_fdw'),
       CASE WHEN EXISTS (SELECT FROM pg_foreign_data_wrapper WHERE fdwname = 'postgres_fdw')
            THEN has_foreign_data_wrapper_privilege('postgres_fdw', 'USAGE') ELSE false END,
       EXISTS (SELECT FROM pg_available_extensions WHERE name = 'postgres_fdw'),
       (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
         OR CASE WHEN EXISTS (SELECT FROM pg_roles WHERE rolname = 'rds_superuser')
                 THEN pg_has_role(current_user, 'rds_superuser', 'MEMBER') ELSE false END,
       current_setting('rds.allowed_extensions', true),
       has_database_privilege(current_database(), 'CREATE')";

async fn read_local(client: &Client) -> Result<LocalFacts, PgError> {
    let during = "reading what the link needs from the local cluster";
    let row = client
        .query_one(READ_LOCAL, &[])
        .await
        .map_err(|e| PgError::new(during, &e))?;
    let allowed: Option<String> = row.get(5);
    Ok(LocalFacts {
        server_version_num: row.get(0),
        fdw_installed: row.get(1),
        fdw_usage: row.get(2),
        fdw_available: row.get(3),
        may_create_extension: row.get(4),
        // An empty placeholder (set nowhere) restricts nothing.
        allowed_extensions: allowed.filter(|s| !s.trim().is_empty()),
        create_on_database: row.get(6),
    })
}

const READ_REMOTE: &str = "
SELECT current_setting('server_version_num')::int,
       (SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user)";

async fn read_remote(client: &Client) -> Result<RemoteFacts, PgError> {
    let during = "reading what the link needs from the remote cluster";
    let row = client
        .query_one(READ_REMOTE, &[])
        .await
        .map_err(|e| PgError::new(during, &e))?;
    Ok(RemoteFacts {
        server_version_num: row.get(0),
        createrole: row.get(1),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sides() -> (Side, Side) {
        let s = |label: &str, admin: &str, db: &str| Side {
            label: label.into(),
            admin: admin.into(),
            database: db.into(),
        };
        (
            s("local cluster", "users_admin", "users"),
            s("remote cluster", "orders_admin", "orders"),
        )
    }

    fn aurora_master() -> (LocalFacts, RemoteFacts) {
        (
            LocalFacts {
                server_version_num: 160011,
                fdw_installed: false,
                fdw_usage: false,
                fdw_available: true,
                may_create_extension: true,
                allowed_extensions: Some("*".into()),
                create_on_database: true,
            },
            RemoteFacts {
                server_version_num: 170004,
                createrole: true,
            },
        )
    }

    #[test]
    fn aurora_master_users_on_16_and_17_meet_everything() {
        let (l, r) = aurora_master();
        let (ls, rs) = sides();
        assert_eq!(unmet(&ls, &l, &rs, &r), Vec::<String>::new());
    }

    #[test]
    fn versions_outside_the_tested_majors_are_named_per_cluster() {
        let (mut l, mut r) = aurora_master();
        let (ls, rs) = sides();
        l.server_version_num = 140012;
        r.server_version_num = 180001;
        let problems = unmet(&ls, &l, &rs, &r);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].starts_with("local cluster: PostgreSQL 14 (server_version_num 140012) is older than"));
        assert!(problems[1].starts_with("remote cluster: PostgreSQL 18 (server_version_num 180001) is newer than"));
        for ok in [150000, 159999, 170000, 179999] {
            l.server_version_num = ok;
            r.server_version_num = ok;
            assert!(unmet(&ls, &l, &rs, &r).is_empty(), "{ok}");
        }
    }

    #[test]
    fn an_installed_extension_needs_only_usage() {
        let (mut l, r) = aurora_master();
        let (ls, rs) = sides();
        l.fdw_installed = true;
        l.may_create_extension = false;
        l.allowed_extensions = Some("pg_stat_statements".into());
        l.fdw_usage = true;
        assert!(unmet(&ls, &l, &rs, &r).is_empty());
        l.fdw_usage = false;
        let problems = unmet(&ls, &l, &rs, &r);
        assert_eq!(problems.len(), 1);
        assert!(problems[0].contains("GRANT USAGE ON FOREIGN DATA WRAPPER postgres_fdw TO \"users_admin\""));
    }

    #[test]
    fn a_missing_extension_names_the_first_thing_in_its_way() {
        let (mut l, r) = aurora_master();
        let (ls, rs) = sides();
        l.allowed_extensions = Some("pg_stat_statements, pgcrypto".into());
        l.may_create_extension = false;
        let problems = unmet(&ls, &l, &rs, &r);
        assert!(problems[0].contains("rds.allowed_extensions"), "{problems:?}");
        l.allowed_extensions = Some("pgcrypto,postgres_fdw".into());
        let problems = unmet(&ls, &l, &rs, &r);
        assert!(problems[0].contains("may not create it"), "{problems:?}");
        l.fdw_available = false;
        let problems = unmet(&ls, &l, &rs, &r);
        assert!(problems[0].contains("not available on this server"), "{problems:?}");
    }

    #[test]
    fn admin_privileges_are_named_with_the_statement_that_grants_them() {
        let (mut l, mut r) = aurora_master();
        let (ls, rs) = sides();
        l.create_on_database = false;
        r.createrole = false;
        let problems = unmet(&ls, &l, &rs, &r);
        assert_eq!(problems.len(), 2);
        assert!(problems[0].contains("GRANT CREATE ON DATABASE \"users\" TO \"users_admin\""));
        assert!(problems[1].contains("orders_admin lacks CREATEROLE"));
        assert!(problems[1].contains("ALTER ROLE \"orders_admin\" CREATEROLE"));
    }

    #[test]
    fn allowed_extensions_is_a_list_or_a_star() {
        assert!(extension_allowed("*", "postgres_fdw"));
        assert!(extension_allowed("a, postgres_fdw ,b", "postgres_fdw"));
        assert!(!extension_allowed("postgres_fdw2,dblink", "postgres_fdw"));
    }
}
