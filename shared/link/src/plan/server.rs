//! The local cluster's foreign server: the extension, the server and its
//! options (one ALTER holding only what differs).

use super::{option_changes, owner_of, LinkPlanError};
use crate::spec::LinkSpec;
use crate::state::LocalState;
use fdw_bridge_pg::sql::{ident, literal, Statement};

pub(super) fn plan_server(spec: &LinkSpec, local: &LocalState) -> Result<Vec<Statement>, LinkPlanError> {
    let server = ident(&spec.server_name);
    let mut out = Vec::new();
    if !local.extension_installed {
        out.push(Statement::plain("CREATE EXTENSION IF NOT EXISTS postgres_fdw"));
    }
    let wanted_options = spec.all_server_options();
    match &local.server {
        None => {
            let options: Vec<String> = wanted_options
                .iter()
                .map(|(k, v)| format!("{} {}", ident(k), literal(v)))
                .collect();
            out.push(Statement::plain(format!(
                "CREATE SERVER {server} FOREIGN DATA WRAPPER postgres_fdw OPTIONS ({})",
                options.join(", ")
            )));
            out.push(Statement::plain(format!(
                "COMMENT ON SERVER {server} IS {}",
                literal(&spec.marker)
            )));
        }
        Some(s) if !spec.owns(s.comment.as_ref()) => {
            return Err(LinkPlanError::ServerNotOurs {
                server: spec.server_name.clone(),
                owner: owner_of(s.comment.as_deref()),
            })
        }
        Some(s) if s.wrapper != "postgres_fdw" => {
            return Err(LinkPlanError::WrongWrapper {
                server: spec.server_name.clone(),
                wrapper: s.wrapper.clone(),
            })
        }
        Some(s) => {
            let changes = option_changes(&s.options, &wanted_options, None);
            if !changes.is_empty() {
                out.push(Statement::plain(format!(
                    "ALTER SERVER {server} OPTIONS ({})",
                    changes.join(", ")
                )));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{local_converged, shown, spec};
    use super::*;

    #[test]
    fn fresh_cluster_gets_extension_server_and_marker() {
        let plan = shown(&plan_server(&spec(), &LocalState::default()).unwrap());
        assert_eq!(plan[0], "CREATE EXTENSION IF NOT EXISTS postgres_fdw");
        assert!(plan[1].starts_with("CREATE SERVER \"orders_link\" FOREIGN DATA WRAPPER postgres_fdw OPTIONS ("));
        assert!(plan[1].contains("\"host\" 'db-b'") && plan[1].contains("\"fetch_size\" '10000'"));
        assert_eq!(
            plan[2],
            "COMMENT ON SERVER \"orders_link\" IS 'managed by fdw-bridge: test'"
        );
    }

    #[test]
    fn only_changed_options_are_altered() {
        let mut s = spec();
        assert!(plan_server(&s, &local_converged()).unwrap().is_empty());
        s.server_options.insert("fetch_size".into(), "500".into());
        s.server_options.insert("async_capable".into(), "true".into());
        assert_eq!(
            shown(&plan_server(&s, &local_converged()).unwrap()),
            ["ALTER SERVER \"orders_link\" OPTIONS (ADD \"async_capable\" 'true', SET \"fetch_size\" '500')"]
        );
    }

    #[test]
    fn a_server_someone_else_made_is_refused() {
        let mut local = local_converged();
        if let Some(server) = local.server.as_mut() {
            server.comment = None;
        }
        assert!(matches!(
            plan_server(&spec(), &local),
            Err(LinkPlanError::ServerNotOurs { .. })
        ));
    }
}
