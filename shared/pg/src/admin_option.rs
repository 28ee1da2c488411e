//! PostgreSQL 16 changed what a `CREATEROLE` role may do to other roles, and
//! Aurora's master user is one (NOSUPERUSER, CREATEROLE, member of
//! rds_superuser): it may alter, grant or drop only the roles it holds ADMIN
//! OPTION on, which it gets on the roles it creates itself. PostgreSQL 15 let it
//! touch any role that is not a superuser. So on 16 and later a role made by
//! another admin (a restored dump, a role made by hand, an admin secret that
//! changed) is refused with SQLSTATE 42501 and a detail naming the ADMIN
//! option; the advice says which GRANT gives the admin what it lacks.
//! (PostgreSQL 16 release notes, "Restrict the privileges of CREATEROLE";
//! https://www.postgresql.org/docs/16/sql-createrole.html)

use super::error::PgError;
use super::sql::ident;
use super::SqlState;

/// `err` with advice when it is PostgreSQL 16's refusal for a missing ADMIN
/// OPTION; `admin` is the role the statement ran as. Any other error is returned as it was.
pub fn with_admin_option_advice(err: PgError, admin: &str) -> PgError {
    if !err.is(&SqlState::INSUFFICIENT_PRIVILEGE) || !err.message_and_detail().contains("ADMIN option") {
        return err;
    }
    let role = refused_role(&err);
    let target = role.as_deref().map(ident).unwrap_or_else(|| "<the role>".into());
    let advice = format!(
        "{admin} lacks ADMIN OPTION on role {target}: since PostgreSQL 16 a CREATEROLE role (Aurora's master user \
         is one) may alter, grant or drop only the roles it holds ADMIN OPTION on, which it has on the roles it \
         created itself. As the role that created {target}, or a superuser, run \
         GRANT {target} TO {} WITH ADMIN OPTION, INHERIT FALSE, SET FALSE; then retry",
        ident(admin)
    );
    err.with_advice(advice)
}

/// The role the refusal is about: named in the server's detail (`... ADMIN
/// option on role "x" ...`), else the role of the statement (`ALTER ROLE "x" ...`).
fn refused_role(err: &PgError) -> Option<String> {
    let from_detail = err.detail.as_deref().and_then(|d| {
        let start = d.find("ADMIN option on role \"")? + "ADMIN option on role \"".len();
        let rest = &d[start..];
        // The server prints the name between plain quotes, unescaped: it ends at the last quote before the sentence goes on.
        let end = rest.rfind('"')?;
        Some(rest[..end].to_string())
    });
    from_detail.or_else(|| err.statement.as_deref().and_then(quoted_role))
}

/// The first identifier after `ROLE ` in statement text fdw-bridge built (always quoted by `ident`).
fn quoted_role(statement: &str) -> Option<String> {
    let start = statement.find("ROLE \"")? + "ROLE \"".len();
    let mut name = String::new();
    let mut chars = statement[start..].chars().peekable();
    while let Some(c) = chars.next() {
        if c == '"' {
            if chars.peek() == Some(&'"') {
                chars.next();
                name.push('"');
            } else {
                return Some(name);
            }
        } else {
            name.push(c);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(detail: &str, statement: Option<&str>) -> PgError {
        PgError {
            during: "running ALTER ROLE".into(),
            code: Some(SqlState::INSUFFICIENT_PRIVILEGE),
            message: "permission denied to alter role".into(),
            detail: Some(detail.into()),
            statement: statement.map(str::to_string),
            ..Default::default()
        }
    }

    #[test]
    fn the_role_named_in_the_detail_gets_the_grant_that_fixes_it() {
        // PostgreSQL 16.11's words for ALTER ROLE ... CONNECTION LIMIT.
        let err = refusal(
            "Only roles with the CREATEROLE attribute and the ADMIN option on role \"fdw_orders\" may alter this role.",
            Some("ALTER ROLE \"fdw_orders\" CONNECTION LIMIT 10"),
        );
        let advice = with_admin_option_advice(err, "orders_admin").advice.unwrap();
        assert!(
            advice.starts_with("orders_admin lacks ADMIN OPTION on role \"fdw_orders\""),
            "{advice}"
        );
        assert!(
            advice.contains("GRANT \"fdw_orders\" TO \"orders_admin\" WITH ADMIN OPTION, INHERIT FALSE, SET FALSE"),
            "{advice}"
        );
    }

    #[test]
    fn a_password_change_names_the_role_from_the_statement() {
        // The password refusal's detail names no role.
        let err = refusal(
            "To change another role's password, the current user must have the CREATEROLE attribute and the ADMIN option on the role.",
            Some("ALTER ROLE \"it\"\"s\" PASSWORD <redacted>"),
        );
        let advice = with_admin_option_advice(err, "admin").advice.unwrap();
        assert!(advice.contains("GRANT \"it\"\"s\" TO \"admin\""), "{advice}");
    }

    #[test]
    fn other_errors_pass_through_unchanged() {
        let mut other = refusal("something else", None);
        other.detail = Some("must be owner of table t".into());
        assert!(with_admin_option_advice(other, "admin").advice.is_none());
        let mut not_42501 = refusal(
            "Only roles with ... the ADMIN option on role \"x\" may drop this role.",
            None,
        );
        not_42501.code = Some(SqlState::UNDEFINED_OBJECT);
        assert!(with_admin_option_advice(not_42501, "admin").advice.is_none());
    }
}
