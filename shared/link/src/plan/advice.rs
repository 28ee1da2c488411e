//! The query advice on the local cluster: `fdw_bridge.advise(query)` and the
//! functions it calls (`advice.sql`), installed with the registry, in its
//! schema, by every link's Create and Update, and EXECUTE granted to the
//! roles that have a user mapping; removed with the last link. A new version
//! of the SQL (another comment) replaces them all.

use crate::registry::REGISTRY_SCHEMA;
use crate::spec::LinkSpec;
use crate::state::{AdviceState, LocalState};
use fdw_bridge_pg::sql::{ident, literal, qualified, Statement};
use std::collections::BTreeSet;

/// The functions' source: one statement per `-- statement` line.
const ADVICE_SQL: &str = include_str!("advice.sql");

/// The function users call; its comment carries the installed version.
const ADVISE: (&str, &str) = ("advise", "text, boolean, bigint");

/// Every function `advice.sql` creates (name, argument types), in its order:
/// grants and drops name them all.
const ADVICE_FUNCTIONS: [(&str, &str); 4] = [
    ("advise_close", "text, integer"),
    ("advise_wrap_clock", "text"),
    ("advise_plan", "jsonb, text, boolean, bigint"),
    ADVISE,
];

/// `fdw_bridge.name(args)`, quoted.
fn signature((name, args): (&str, &str)) -> String {
    format!("{}({args})", qualified(REGISTRY_SCHEMA, name))
}

/// The CREATE statements of `advice.sql`, each without the comment lines above it.
fn creates() -> impl Iterator<Item = String> {
    ADVICE_SQL.split("\n-- statement\n").map(|s| {
        s.lines()
            .skip_while(|l| l.starts_with("--") || l.trim().is_empty())
            .collect::<Vec<_>>()
            .join("\n")
    })
}

/// `fdw_bridge.advise(text, boolean, bigint)`, quoted (for to_regprocedure).
pub fn advise_signature() -> String {
    signature(ADVISE)
}

/// The functions' names: they belong to the registry's schema, not "something else" in it.
pub fn advice_function_names() -> Vec<String> {
    ADVICE_FUNCTIONS.iter().map(|(name, _)| name.to_string()).collect()
}

/// Every function's signature, comma-separated (for one GRANT, REVOKE or DROP).
pub fn all_signatures() -> String {
    ADVICE_FUNCTIONS
        .iter()
        .map(|f| signature(*f))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The advice's version: raised with every change of `advice.sql` (a test holds
/// it to the source's hash). A link installs its version over an older one and
/// leaves a newer one alone, so two fdw-bridge releases on one cluster A do not
/// replace each other's at every run.
const ADVICE_VERSION: u32 = 3;

/// FNV-1a of `advice.sql`: tells two builds of one version apart.
fn source_hash() -> String {
    let hash = ADVICE_SQL.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    format!("{hash:016x}")
}

/// The comment on `fdw_bridge.advise`: what it is, its version and its source's hash.
pub fn advice_comment() -> String {
    format!(
        "managed by fdw-bridge: why a cross-database query is slow and what to write instead, SELECT * FROM fdw_bridge.advise($$...$$) (version {ADVICE_VERSION}, source {})",
        source_hash()
    )
}

/// The version an installed comment names; None when it names none (not ours, or older than versions).
fn installed_version(comment: &str) -> Option<u32> {
    let rest = comment.split("(version ").nth(1)?;
    rest.split([',', ')']).next()?.trim().parse().ok()
}

/// Whether this link installs its advice over `installed` (the comment found, if any).
fn installs_over(installed: Option<&str>) -> bool {
    let Some(comment) = installed else {
        return true;
    };
    match installed_version(comment) {
        Some(v) if v > ADVICE_VERSION => false,
        Some(v) if v == ADVICE_VERSION => comment != advice_comment(),
        _ => true,
    }
}

/// The local roles that may call the advice: every mapped role but the admin (its owner).
fn wanted_callers(spec: &LinkSpec) -> BTreeSet<String> {
    spec.mapped_roles()
        .into_iter()
        .filter(|r| r != &spec.local_admin_user && r != "public")
        .collect()
}

fn grant(role: &str) -> [Statement; 2] {
    let who = ident(role);
    [
        Statement::plain(format!("GRANT USAGE ON SCHEMA {} TO {who}", ident(REGISTRY_SCHEMA))),
        Statement::plain(format!("GRANT EXECUTE ON FUNCTION {} TO {who}", all_signatures())),
    ]
}

fn revoke(role: &str) -> [Statement; 2] {
    let who = ident(role);
    [
        Statement::plain(format!("REVOKE EXECUTE ON FUNCTION {} FROM {who}", all_signatures())),
        Statement::plain(format!("REVOKE USAGE ON SCHEMA {} FROM {who}", ident(REGISTRY_SCHEMA))),
    ]
}

/// Installs (or replaces) the functions when their version differs, and grants
/// them to this link's callers; callers it no longer maps lose them unless
/// another server maps them. Nothing when the link stores no registry.
pub(super) fn plan_advice(spec: &LinkSpec, local: &LocalState) -> Vec<Statement> {
    if spec.registration.is_none() {
        return Vec::new();
    }
    let none = AdviceState::default();
    let current = local.advice.as_ref().unwrap_or(&none);
    let wanted = wanted_callers(spec);
    let comment = advice_comment();
    let mut out = Vec::new();
    let fresh = installs_over(current.comment.as_deref());
    // Callers that keep it: this link's, and those another server still maps.
    let keep: BTreeSet<String> = current
        .callers
        .iter()
        .filter(|r| current.mapped_elsewhere.contains(*r))
        .cloned()
        .chain(wanted.iter().cloned())
        .collect();
    if fresh {
        // DROP, not CREATE OR REPLACE: a new version may change a result type.
        out.push(Statement::plain(format!(
            "DROP FUNCTION IF EXISTS {}",
            all_signatures()
        )));
        out.extend(creates().map(Statement::plain));
        out.push(Statement::plain(format!(
            "REVOKE ALL ON FUNCTION {} FROM PUBLIC",
            all_signatures()
        )));
        out.push(Statement::plain(format!(
            "COMMENT ON FUNCTION {} IS {}",
            signature(ADVISE),
            literal(&comment)
        )));
        for role in &keep {
            out.extend(grant(role));
        }
        for role in current.callers.difference(&keep) {
            out.push(Statement::plain(format!(
                "REVOKE USAGE ON SCHEMA {} FROM {}",
                ident(REGISTRY_SCHEMA),
                ident(role)
            )));
        }
        return out;
    }
    for role in wanted.difference(&current.callers) {
        out.extend(grant(role));
    }
    for role in current.callers.difference(&keep) {
        out.extend(revoke(role));
    }
    out
}

/// On Delete: the callers this link mapped that no other server maps lose
/// the advice (before their roles may be dropped); the functions go with the
/// registry's last row ([`super::registry`]).
pub(super) fn plan_advice_removal(spec: &LinkSpec, local: &LocalState) -> Vec<Statement> {
    let Some(current) = &local.advice else {
        return Vec::new();
    };
    wanted_callers(spec)
        .iter()
        .filter(|r| current.callers.contains(*r) && !current.mapped_elsewhere.contains(*r))
        .flat_map(|r| revoke(r))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::fixtures::{local_converged, spec};
    use crate::spec::Registration;

    fn registered() -> LinkSpec {
        let mut s = spec();
        s.local_roles.push("analyst".into());
        s.registration = Some(Registration {
            stack_id: "arn:stack/one".into(),
            logical_resource_id: "FdwLink".into(),
            properties: serde_json::json!({}),
        });
        s
    }

    fn sql(plan: &[Statement]) -> Vec<String> {
        plan.iter().map(|s| s.sql().to_string()).collect()
    }

    fn installed(callers: &[&str], elsewhere: &[&str]) -> AdviceState {
        AdviceState {
            comment: Some(advice_comment()),
            callers: callers.iter().map(|s| s.to_string()).collect(),
            mapped_elsewhere: elsewhere.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn the_source_creates_exactly_the_functions_it_grants() {
        let statements: Vec<String> = creates().collect();
        let created: Vec<&str> = statements
            .iter()
            .filter_map(|s| s.strip_prefix("CREATE FUNCTION fdw_bridge."))
            .filter_map(|rest| rest.split('(').next())
            .collect();
        let names: Vec<&str> = ADVICE_FUNCTIONS.iter().map(|(n, _)| *n).collect();
        assert_eq!(created, names);
        // SECURITY INVOKER each: the plan is read with the caller's privileges.
        assert!(statements
            .iter()
            .all(|s| s.contains("\nLANGUAGE") && s.contains("SECURITY INVOKER")));
        assert!(!ADVICE_SQL.contains("SECURITY DEFINER"));
    }

    #[test]
    fn first_run_installs_and_grants_to_the_mapped_roles_but_the_admin() {
        let s = registered();
        let plan = sql(&plan_advice(&s, &local_converged()));
        assert!(plan[0].starts_with("DROP FUNCTION IF EXISTS \"fdw_bridge\".\"advise_close\"(text, integer)"));
        assert_eq!(plan.iter().filter(|s| s.starts_with("CREATE FUNCTION")).count(), 4);
        assert!(plan
            .iter()
            .any(|s| s.starts_with("REVOKE ALL ON FUNCTION") && s.ends_with("FROM PUBLIC")));
        assert!(plan
            .iter()
            .any(|s| s.starts_with("COMMENT ON FUNCTION \"fdw_bridge\".\"advise\"(text, boolean, bigint)")));
        for role in wanted_callers(&s) {
            assert!(plan
                .iter()
                .any(|s| s.starts_with("GRANT EXECUTE") && s.ends_with(&format!("TO {}", ident(&role)))));
        }
        let admin = format!("TO {}", ident(&s.local_admin_user));
        assert!(!plan.iter().any(|sql| sql.contains(&admin)), "{plan:#?}");
    }

    #[test]
    fn the_version_follows_the_source() {
        // advice.sql changed: raise ADVICE_VERSION, then put the new hash here.
        assert_eq!((ADVICE_VERSION, source_hash().as_str()), (3, "00cb89d2c8106801"));
    }

    #[test]
    fn a_newer_version_stays_an_older_one_is_replaced() {
        let ours = advice_comment();
        assert!(!installs_over(Some(&ours)));
        assert!(installs_over(None));
        assert!(installs_over(Some("managed by fdw-bridge: ... (version 1, source 00)")));
        assert!(installs_over(Some("managed by fdw-bridge: ... (version 0123abcd)")));
        assert!(installs_over(Some(&ours.replace(&source_hash(), "0000"))));
        let newer = ours.replace(
            &format!("version {ADVICE_VERSION},"),
            &format!("version {},", ADVICE_VERSION + 1),
        );
        assert!(!installs_over(Some(&newer)));
        assert_eq!(installed_version(&newer), Some(ADVICE_VERSION + 1));
    }

    #[test]
    fn installed_and_granted_plans_nothing_and_no_registry_plans_nothing() {
        let s = registered();
        let mut local = local_converged();
        let callers: Vec<String> = wanted_callers(&s).into_iter().collect();
        let refs: Vec<&str> = callers.iter().map(String::as_str).collect();
        local.advice = Some(installed(&refs, &[]));
        assert!(plan_advice(&s, &local).is_empty());
        assert!(plan_advice(&spec(), &local_converged()).is_empty());
    }

    #[test]
    fn a_role_no_longer_mapped_loses_it_unless_another_server_maps_it() {
        let s = registered();
        let mut local = local_converged();
        let mut callers: Vec<String> = wanted_callers(&s).into_iter().collect();
        callers.push("gone".into());
        callers.push("other_links_role".into());
        let refs: Vec<&str> = callers.iter().map(String::as_str).collect();
        local.advice = Some(installed(&refs, &["other_links_role"]));
        let plan = sql(&plan_advice(&s, &local));
        assert_eq!(plan.len(), 2, "{plan:#?}");
        assert!(plan.iter().all(|s| s.ends_with("FROM \"gone\"")), "{plan:#?}");
    }

    #[test]
    fn a_new_version_is_installed_again_and_keeps_other_links_callers() {
        let s = registered();
        let mut local = local_converged();
        let mut old = installed(&["other_links_role", "gone"], &["other_links_role"]);
        old.comment = Some("managed by fdw-bridge: ... (version 0)".into());
        local.advice = Some(old);
        let plan = sql(&plan_advice(&s, &local));
        assert!(plan
            .iter()
            .any(|s| s.starts_with("GRANT EXECUTE") && s.ends_with("TO \"other_links_role\"")));
        assert!(plan
            .iter()
            .any(|s| s == "REVOKE USAGE ON SCHEMA \"fdw_bridge\" FROM \"gone\""));
        assert!(!plan.iter().any(|s| s.starts_with("GRANT") && s.ends_with("\"gone\"")));
    }

    #[test]
    fn removal_revokes_only_what_no_other_server_needs() {
        let s = registered();
        let mut local = local_converged();
        assert!(plan_advice_removal(&s, &local).is_empty());
        let callers: Vec<String> = wanted_callers(&s).into_iter().collect();
        let refs: Vec<&str> = callers.iter().map(String::as_str).collect();
        local.advice = Some(installed(&refs, &refs[..1]));
        let plan = sql(&plan_advice_removal(&s, &local));
        assert_eq!(plan.len(), 2 * (callers.len() - 1), "{plan:#?}");
        assert!(!plan.iter().any(|s| s.ends_with(&format!("FROM {}", ident(refs[0])))));
    }
}
