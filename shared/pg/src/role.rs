//! The FDW role and its clone, and the SQL that makes, changes and maps them.
//! The link (fdw-bootstrap) and rotation (fdw-rotate) both build these
//! statements: they must agree to the letter, so they are built here once.

use super::sql::{ident, literal, Statement, REDACTED};

/// Suffix of the alternating-users clone, as in AWS's reference rotation functions.
const CLONE_SUFFIX: &str = "_clone";

/// PostgreSQL truncates names to 63 bytes.
const MAX_NAME_BYTES: usize = 63;

/// The FDW role and its clone: rotation's alternating users log in as either,
/// and a username ending in `_clone` is the clone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RolePair {
    pub base: String,
    pub clone: String,
}

impl RolePair {
    /// The pair a login name belongs to (the base role or its clone).
    pub fn of(username: &str) -> Self {
        match username.strip_suffix(CLONE_SUFFIX) {
            Some(base) if !base.is_empty() => Self {
                base: base.to_string(),
                clone: username.to_string(),
            },
            _ => Self {
                base: username.to_string(),
                clone: clone_role_name(username),
            },
        }
    }

    /// The other one of the pair.
    pub fn other(&self, user: &str) -> String {
        if user == self.base {
            self.clone.clone()
        } else {
            self.base.clone()
        }
    }

    pub fn contains(&self, user: &str) -> bool {
        user == self.base || user == self.clone
    }
}

/// The clone of `role`, cut to fit PostgreSQL's 63 bytes on a character boundary.
pub fn clone_role_name(role: &str) -> String {
    let mut base = role.to_string();
    while base.len() + CLONE_SUFFIX.len() > MAX_NAME_BYTES {
        base.pop();
    }
    base + CLONE_SUFFIX
}

/// `CREATE ROLE` for a least-privilege login role, with its password when it carries one.
pub fn create_login_role(name: &str, password: Option<&str>) -> Statement {
    let create = |pw: Option<&str>| {
        let mut sql = format!(
            "CREATE ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION",
            ident(name)
        );
        if let Some(pw) = pw {
            sql.push_str(&format!(" PASSWORD {pw}"));
        }
        sql
    };
    match password {
        Some(pw) => Statement::secret(create(Some(&literal(pw))), create(Some(REDACTED))),
        None => Statement::plain(create(None)),
    }
}

/// `ALTER ROLE ... PASSWORD`, shown redacted (no bind parameters here: the literal is quoted).
pub fn set_password(name: &str, password: &str) -> Statement {
    let alter = |pw: &str| format!("ALTER ROLE {} PASSWORD {pw}", ident(name));
    Statement::secret(alter(&literal(password)), alter(REDACTED))
}

/// Connections ordinary roles may open on a server. `reserved_connections`
/// exists from PostgreSQL 16 only: read with `missing_ok`, so 15 counts 0.
pub const ORDINARY_SLOTS_SQL: &str = "current_setting('max_connections')::int
                  - current_setting('superuser_reserved_connections')::int
                  - coalesce(current_setting('reserved_connections', true)::int, 0)";

/// The FDW role's default `CONNECTION LIMIT`: a third of the connections ordinary
/// roles may open on the remote cluster. Every session on the local cluster that
/// touches a foreign table holds one of them until it ends; during a rotation the
/// role and its clone may both hold sessions, so together they stay within two
/// thirds and the remote cluster's own applications keep at least a third.
pub fn default_connection_limit(budget: u32) -> u32 {
    (budget / 3).max(1)
}

/// `ALTER ROLE ... CONNECTION LIMIT`: how many sessions the role may hold at once.
pub fn set_connection_limit(name: &str, limit: u32) -> Statement {
    Statement::plain(format!("ALTER ROLE {} CONNECTION LIMIT {limit}", ident(name)))
}

pub fn allow_login(name: &str) -> Statement {
    Statement::plain(format!("ALTER ROLE {} LOGIN", ident(name)))
}

pub fn comment_on_role(name: &str, comment: &str) -> Statement {
    Statement::plain(format!("COMMENT ON ROLE {} IS {}", ident(name), literal(comment)))
}

/// The clone is a member of the base role, so it reads what the base role may.
pub fn grant_membership(base: &str, clone: &str) -> Statement {
    Statement::plain(format!("GRANT {} TO {}", ident(base), ident(clone)))
}

pub fn grant_connect(database: &str, role: &str) -> Statement {
    Statement::plain(format!(
        "GRANT CONNECT ON DATABASE {} TO {}",
        ident(database),
        ident(role)
    ))
}

/// `CREATE USER MAPPING` for `who` (already quoted: a role or PUBLIC) on
/// `server` (quoted), logging in as `user` with `password`; shown redacted.
pub fn create_user_mapping(who: &str, server: &str, user: &str, password: &str) -> Statement {
    let create = |pw: &str| {
        format!(
            "CREATE USER MAPPING FOR {who} SERVER {server} OPTIONS (user {}, password {pw})",
            literal(user)
        )
    };
    Statement::secret(create(&literal(password)), create(REDACTED))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clone_name_fits_in_63_bytes() {
        assert_eq!(clone_role_name("fdw_orders"), "fdw_orders_clone");
        let long = "é".repeat(40);
        let clone = clone_role_name(&long);
        assert!(clone.len() <= 63 && clone.ends_with("_clone"));
    }

    #[test]
    fn role_pair_from_either_name() {
        assert_eq!(
            RolePair::of("r"),
            RolePair {
                base: "r".into(),
                clone: "r_clone".into()
            }
        );
        assert_eq!(
            RolePair::of("r_clone"),
            RolePair {
                base: "r".into(),
                clone: "r_clone".into()
            }
        );
        assert_eq!(RolePair::of("_clone").clone, "_clone_clone");
        assert!(RolePair::of("r").contains("r_clone") && !RolePair::of("r").contains("s"));
        assert_eq!(RolePair::of("r").other("r"), "r_clone");
    }

    #[test]
    fn passwords_are_quoted_and_shown_redacted() {
        let s = create_login_role("we\"ird", Some("p'w"));
        assert_eq!(
            s.shown(),
            "CREATE ROLE \"we\"\"ird\" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION PASSWORD '********'"
        );
        assert!(s.sql().ends_with("PASSWORD 'p''w'"));
        let s = set_password("r", r"a\b");
        assert_eq!(s.shown(), "ALTER ROLE \"r\" PASSWORD '********'");
        assert!(s.sql().contains(r" E'a\\b'"));
        assert!(!create_login_role("r", None).carries_secret());
    }
}
