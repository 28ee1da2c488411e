//! Pure planning of setSecret's SQL: the password on the remote cluster (and the clone
//! when alternating users), and the switch of every user mapping on the local cluster.
//! Every name and literal is quoted; password statements are [`Statement::secret`].

use super::secret::Strategy;
use fdw_bridge_pg::role::RolePair;
use fdw_bridge_pg::role::{
    allow_login, comment_on_role, create_login_role, create_user_mapping, grant_connect, grant_membership,
    set_connection_limit, set_password,
};
use fdw_bridge_pg::sql::{ident, Statement};

/// What the remote cluster's catalog says about the role the pending version logs in as.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PendingRole {
    pub can_login: bool,
    /// Alternating users: the clone is a member of the base role (so it has its grants).
    pub member_of_base: bool,
    /// CONNECT on the database granted to the role itself.
    pub has_connect: bool,
    pub is_superuser_or_admin: bool,
}

/// Facts read from the remote cluster before planning.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RemoteFacts {
    pub database: String,
    /// None: the role does not exist yet.
    pub pending: Option<PendingRole>,
    /// The base role's comment (fdw-bootstrap's marker), copied onto a new clone
    /// so that the link's Delete removes the clone too.
    pub base_comment: Option<String>,
    pub base_exists: bool,
    /// The base role's CONNECTION LIMIT (None: unlimited), given to a new clone
    /// so that the link's connection budget holds whichever role logs in.
    pub base_connection_limit: Option<u32>,
    /// Connections ordinary roles may open on cluster B now (0: not read).
    pub ordinary_slots: u32,
}

/// What setSecret says when the FDW role's CONNECTION LIMIT no longer fits
/// cluster B: more than the default share (a third) of the connections B holds
/// for ordinary roles now, as after B restarted smaller. Rotation does not
/// change it (an explicit FdwConnectionLimit is the link's to keep): the
/// refresh re-derives a default budget. Pure.
pub fn budget_warning(facts: &RemoteFacts) -> Option<String> {
    let limit = facts.base_connection_limit?;
    let share = fdw_bridge_pg::role::default_connection_limit(facts.ordinary_slots);
    (facts.ordinary_slots > 0 && limit > share).then(|| {
        format!(
            "the FDW role's CONNECTION LIMIT ({limit}) is more than a third ({share}) of the {} connections cluster B \
             holds for ordinary roles now (B restarted smaller since the link's budget was set?); during a rotation \
             the role and its clone may each use it. Run fdw-bootstrap's refresh, which re-derives a default budget, \
             or lower FdwConnectionLimit",
            facts.ordinary_slots
        )
    })
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RotationPlanError {
    #[error("role {role} does not exist on cluster B: create the link with fdw-bootstrap first (it makes the FDW role), or fix username in the secret")]
    RoleMissing { role: String },
    #[error("role {role} on cluster B is a superuser or can create roles or databases: fdw-rotate only sets passwords of the least-privilege FDW role and its clone")]
    Privileged { role: String },
    #[error("the pending version logs in as {pending}, which is neither {} nor {}: fdw-rotate rotates only the FDW role and its clone", pair.base, pair.clone)]
    NotOurUser { pending: String, pair: RolePair },
    #[error("the pending version logs in as {pending} but the current one as {current}: with strategy single both must be the same role")]
    SingleChangesUser { pending: String, current: String },
}

/// Checks that the pending username is one the rotation may touch (the
/// reference functions refuse any other user).
pub fn check_pending_user(strategy: Strategy, current: &str, pending: &str) -> Result<(), RotationPlanError> {
    match strategy {
        Strategy::Single if pending != current => Err(RotationPlanError::SingleChangesUser {
            pending: pending.to_string(),
            current: current.to_string(),
        }),
        Strategy::Single => Ok(()),
        Strategy::Alternating => {
            let pair = RolePair::of(current);
            if pair.contains(pending) {
                Ok(())
            } else {
                Err(RotationPlanError::NotOurUser {
                    pending: pending.to_string(),
                    pair,
                })
            }
        }
    }
}

/// Statements for the remote cluster (run as the master user): the pending role gets
/// the pending password; a missing clone is created as a member of the base role.
pub fn plan_pending_role(
    pair: &RolePair,
    pending_user: &str,
    password: &str,
    facts: &RemoteFacts,
) -> Result<Vec<Statement>, RotationPlanError> {
    let is_clone = pending_user == pair.clone && pending_user != pair.base;
    let mut out = Vec::new();
    match &facts.pending {
        None if !is_clone || !facts.base_exists => {
            return Err(RotationPlanError::RoleMissing {
                role: if is_clone {
                    pair.base.clone()
                } else {
                    pending_user.to_string()
                },
            })
        }
        None => {
            out.push(create_login_role(pending_user, Some(password)));
            if let Some(comment) = &facts.base_comment {
                out.push(comment_on_role(pending_user, comment));
            }
            if let Some(limit) = facts.base_connection_limit {
                out.push(set_connection_limit(pending_user, limit));
            }
            out.push(grant_membership(&pair.base, pending_user));
            out.push(grant_connect(&facts.database, pending_user));
        }
        Some(state) if state.is_superuser_or_admin => {
            return Err(RotationPlanError::Privileged {
                role: pending_user.to_string(),
            })
        }
        Some(state) => {
            if is_clone && !state.member_of_base {
                out.push(grant_membership(&pair.base, pending_user));
            }
            if is_clone && !state.has_connect {
                out.push(grant_connect(&facts.database, pending_user));
            }
            if !state.can_login {
                out.push(allow_login(pending_user));
            }
            out.push(set_password(pending_user, password));
        }
    }
    Ok(out)
}

/// Who a user mapping is for.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum MappedRole {
    Public,
    Role(String),
}

impl MappedRole {
    fn sql(&self) -> String {
        match self {
            Self::Public => "PUBLIC".into(),
            Self::Role(r) => ident(r),
        }
    }
}

/// Statements for the local cluster (run as the local admin, in one transaction):
/// every user mapping of `server` now logs in as `user` with `password`.
/// A non-superuser cannot read other roles' mapping options, so each mapping
/// is written anew; running this twice gives the same mappings.
pub fn plan_mappings(server: &str, mapped: &[MappedRole], user: &str, password: &str) -> Vec<Statement> {
    let server = ident(server);
    let mut out = Vec::new();
    for role in mapped {
        let who = role.sql();
        out.push(Statement::plain(format!(
            "DROP USER MAPPING IF EXISTS FOR {who} SERVER {server}"
        )));
        out.push(create_user_mapping(&who, &server, user, password));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair() -> RolePair {
        RolePair::of("fdw_orders")
    }

    #[test]
    fn a_limit_over_a_third_of_what_b_holds_now_is_said_not_changed() {
        let facts = |limit, slots| RemoteFacts {
            base_connection_limit: limit,
            ordinary_slots: slots,
            ..Default::default()
        };
        // Created at max_connections 200 (197 ordinary: 65), B restarted at 50 (47: 15).
        let said = budget_warning(&facts(Some(65), 47)).expect("65 > 15");
        assert!(
            said.contains("(65)") && said.contains("(15)") && said.contains("47") && said.contains("refresh"),
            "{said}"
        );
        assert_eq!(budget_warning(&facts(Some(65), 197)), None);
        assert_eq!(budget_warning(&facts(Some(15), 47)), None);
        assert_eq!(budget_warning(&facts(None, 47)), None, "no limit: nothing to compare");
        assert_eq!(budget_warning(&facts(Some(65), 0)), None, "B's capacity not read");
    }

    #[test]
    fn a_missing_clone_is_created_as_member_with_the_base_comment_and_connection_limit() {
        let facts = RemoteFacts {
            database: "orders".into(),
            pending: None,
            base_comment: Some("managed by fdw-bridge: stack=s resource=r link=l".into()),
            base_exists: true,
            base_connection_limit: Some(30),
            ordinary_slots: 197,
        };
        let plan = plan_pending_role(&pair(), "fdw_orders_clone", "p'w", &facts).unwrap();
        let shown: Vec<String> = plan.iter().map(|s| s.shown().to_string()).collect();
        assert_eq!(
            shown,
            [
                "CREATE ROLE \"fdw_orders_clone\" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION PASSWORD '********'",
                "COMMENT ON ROLE \"fdw_orders_clone\" IS 'managed by fdw-bridge: stack=s resource=r link=l'",
                "ALTER ROLE \"fdw_orders_clone\" CONNECTION LIMIT 30",
                "GRANT \"fdw_orders\" TO \"fdw_orders_clone\"",
                "GRANT CONNECT ON DATABASE \"orders\" TO \"fdw_orders_clone\"",
            ]
        );
        assert!(plan[0].sql().contains("PASSWORD 'p''w'"));
    }

    #[test]
    fn an_existing_role_only_gets_its_password() {
        let facts = RemoteFacts {
            database: "orders".into(),
            pending: Some(PendingRole {
                can_login: true,
                member_of_base: true,
                has_connect: true,
                is_superuser_or_admin: false,
            }),
            base_comment: None,
            base_exists: true,
            base_connection_limit: None,
            ordinary_slots: 197,
        };
        for user in ["fdw_orders", "fdw_orders_clone"] {
            let plan = plan_pending_role(&pair(), user, r"a\b", &facts).unwrap();
            assert_eq!(plan.len(), 1);
            assert_eq!(plan[0].shown(), format!("ALTER ROLE \"{user}\" PASSWORD '********'"));
            assert!(plan[0].sql().contains(r" E'a\\b'"));
        }
    }

    #[test]
    fn a_clone_that_lost_its_grants_gets_them_back() {
        let facts = RemoteFacts {
            database: "orders".into(),
            pending: Some(PendingRole::default()),
            base_comment: None,
            base_exists: true,
            base_connection_limit: None,
            ordinary_slots: 197,
        };
        let plan = plan_pending_role(&pair(), "fdw_orders_clone", "p", &facts).unwrap();
        let shown: Vec<&str> = plan.iter().map(|s| s.shown()).collect();
        assert_eq!(shown.len(), 4, "{shown:?}");
        assert!(shown[0].starts_with("GRANT \"fdw_orders\" TO"));
        assert!(shown[2].ends_with("LOGIN"));
    }

    #[test]
    fn refusals() {
        let missing = RemoteFacts {
            database: "orders".into(),
            ..Default::default()
        };
        assert_eq!(
            plan_pending_role(&pair(), "fdw_orders", "p", &missing),
            Err(RotationPlanError::RoleMissing {
                role: "fdw_orders".into()
            })
        );
        assert_eq!(
            plan_pending_role(&pair(), "fdw_orders_clone", "p", &missing),
            Err(RotationPlanError::RoleMissing {
                role: "fdw_orders".into()
            })
        );
        let admin = RemoteFacts {
            pending: Some(PendingRole {
                is_superuser_or_admin: true,
                ..Default::default()
            }),
            ..missing
        };
        assert!(matches!(
            plan_pending_role(&pair(), "fdw_orders", "p", &admin),
            Err(RotationPlanError::Privileged { .. })
        ));
        assert!(check_pending_user(Strategy::Alternating, "fdw_orders", "fdw_orders_clone").is_ok());
        assert!(check_pending_user(Strategy::Alternating, "fdw_orders_clone", "fdw_orders").is_ok());
        assert!(check_pending_user(Strategy::Alternating, "fdw_orders", "orders_admin").is_err());
        assert!(check_pending_user(Strategy::Single, "fdw_orders", "fdw_orders").is_ok());
        assert!(check_pending_user(Strategy::Single, "fdw_orders", "fdw_orders_clone").is_err());
    }

    #[test]
    fn every_mapping_is_rewritten_quoted_and_redacted() {
        let plan = plan_mappings(
            "orders link",
            &[
                MappedRole::Role("users_admin".into()),
                MappedRole::Public,
                MappedRole::Role("we\"ird".into()),
            ],
            "fdw_orders_clone",
            "s3'cr\\et ü",
        );
        assert_eq!(plan.len(), 6);
        assert_eq!(
            plan[2].shown(),
            "DROP USER MAPPING IF EXISTS FOR PUBLIC SERVER \"orders link\""
        );
        assert_eq!(
            plan[5].shown(),
            "CREATE USER MAPPING FOR \"we\"\"ird\" SERVER \"orders link\" OPTIONS (user 'fdw_orders_clone', password '********')"
        );
        assert!(plan[5].sql().contains(r"password  E's3''cr\\et ü'"));
        assert!(plan.iter().all(|s| !s.shown().contains("s3")));
    }
}
