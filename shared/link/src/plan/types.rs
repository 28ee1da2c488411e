//! User-defined types on the local cluster. IMPORT FOREIGN SCHEMA writes each
//! column's type as the remote cluster names it (`shop.status`, `shop.status[]`),
//! so the link makes the same types under the same schema and name on the local
//! cluster, marked as its own, before it imports: enum labels in order, domain
//! base, NOT NULL, default and CHECKs, composite attributes, range subtype.
//! Labels added to a remote enum are added locally; any other change, or a type
//! it cannot reproduce, is refused naming the table, column and type.

use super::{ExposedTable, LinkPlanError};
use crate::spec::LinkSpec;
use crate::state::{LocalState, RemoteState, TypeDef, TypeKey, UserType};
use fdw_bridge_pg::sql::{ident, literal, qualified, Statement};
use std::collections::{BTreeMap, BTreeSet};

/// What the types piece decided.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct TypePlan {
    /// Before the imports: schemas and types to make, enum labels to add.
    pub before: Vec<Statement>,
    /// After the imports (once no foreign table uses them): types and type schemas to drop.
    pub after: Vec<Statement>,
    /// Schemas this plan creates (a LocalSchema among them need not be created again).
    pub created_schemas: Vec<String>,
    /// The types the exposed tables need.
    pub needed: BTreeSet<TypeKey>,
}

pub(super) fn plan_types(
    spec: &LinkSpec,
    remote: &RemoteState,
    local: &LocalState,
    exposed: &[ExposedTable],
) -> Result<TypePlan, LinkPlanError> {
    let mut plan = TypePlan {
        needed: needed_types(remote, local, exposed)?,
        ..Default::default()
    };
    for key in &dependency_order(&plan.needed, &remote.types) {
        let Some(wanted) = remote.types.get(key) else { continue };
        if matches!(wanted.def, TypeDef::Extension { .. }) {
            continue;
        }
        plan_type(spec, local, key, wanted, &mut plan)?;
    }
    // Types this link made that nothing exposed needs any more, dependants first.
    let stale: BTreeSet<TypeKey> = local
        .types
        .iter()
        .filter(|(k, t)| t.comment.as_deref() == Some(spec.role_comment().as_str()) && !plan.needed.contains(*k))
        .map(|(k, _)| k.clone())
        .collect();
    let mut stale_order = dependency_order(&stale, &local.types);
    stale_order.reverse();
    for key in &stale_order {
        plan.after
            .push(Statement::plain(format!("DROP TYPE {}", qualified(&key.0, &key.1))));
    }
    let drop_schemas = drop_emptied_type_schemas(spec, local, &stale_order, &plan.needed);
    plan.after.extend(drop_schemas);
    Ok(plan)
}

/// Every type the exposed columns use, with what it is made of; refuses what cannot be made.
fn needed_types(
    remote: &RemoteState,
    local: &LocalState,
    exposed: &[ExposedTable],
) -> Result<BTreeSet<TypeKey>, LinkPlanError> {
    let mut needed = BTreeSet::new();
    let is_exposed = |schema: &str, table: &str| exposed.iter().any(|t| t.remote_schema == schema && t.name == table);
    for column in remote
        .user_typed_columns
        .iter()
        .filter(|c| is_exposed(&c.schema, &c.table))
    {
        let mut stack = vec![column.type_key.clone()];
        while let Some(key) = stack.pop() {
            if !needed.insert(key.clone()) {
                continue;
            }
            let Some(t) = remote.types.get(&key) else { continue };
            let refuse = |why: String| LinkPlanError::TypeNotReproducible {
                table: format!("{}.{}", column.schema, column.table),
                column: column.column.clone(),
                type_name: format!("{}.{}", key.0, key.1),
                why,
            };
            match &t.def {
                TypeDef::Other { what } => return Err(refuse(format!("it is {what}, which fdw-bridge cannot copy"))),
                TypeDef::Extension { extension } if !local.types.contains_key(&key) => {
                    return Err(refuse(format!(
                        "it belongs to extension {extension:?}, which is not installed in schema {:?} on the local cluster: \
                         CREATE EXTENSION {extension} SCHEMA {} there first (and list it in ServerOptions.Extensions)",
                        key.0,
                        ident(&key.0)
                    )))
                }
                _ => stack.extend(t.depends_on.iter().cloned()),
            }
        }
    }
    Ok(needed)
}

/// One needed type on the local cluster: made (with its schema, when that is
/// missing) or, when this link holds it, claimed and altered to match `wanted`.
fn plan_type(
    spec: &LinkSpec,
    local: &LocalState,
    key: &TypeKey,
    wanted: &UserType,
    plan: &mut TypePlan,
) -> Result<(), LinkPlanError> {
    let name = qualified(&key.0, &key.1);
    match local.types.get(key) {
        None => {
            let schema_exists = local.type_schemas.contains_key(&key.0) || plan.created_schemas.contains(&key.0);
            if !schema_exists {
                plan.before
                    .push(Statement::plain(format!("CREATE SCHEMA {}", ident(&key.0))));
                plan.before.push(Statement::plain(format!(
                    "COMMENT ON SCHEMA {} IS {}",
                    ident(&key.0),
                    literal(&spec.marker)
                )));
                plan.created_schemas.push(key.0.clone());
            }
            plan.before.push(Statement::plain(create_type(&name, &wanted.def)));
            plan.before.push(Statement::plain(format!(
                "COMMENT ON TYPE {name} IS {}",
                literal(&spec.role_comment())
            )));
        }
        Some(have) if !spec.owns(have.comment.as_ref()) => {
            return Err(LinkPlanError::TypeNotOurs {
                type_name: format!("{}.{}", key.0, key.1),
                owner: super::owner_of(have.comment.as_deref()),
            })
        }
        Some(have) => {
            // Made by an earlier identity of this resource: this link holds it now.
            if have.comment.as_deref() != Some(spec.role_comment().as_str()) {
                plan.before.push(Statement::plain(format!(
                    "COMMENT ON TYPE {name} IS {}",
                    literal(&spec.role_comment())
                )));
            }
            if have.def != wanted.def {
                plan.before.extend(alter_type(&name, key, have, wanted)?);
            }
        }
    }
    Ok(())
}

/// A type schema the link made goes with its last type, when nothing else is in it.
fn drop_emptied_type_schemas(
    spec: &LinkSpec,
    local: &LocalState,
    dropped_types: &[TypeKey],
    needed: &BTreeSet<TypeKey>,
) -> Vec<Statement> {
    let mut left: BTreeMap<&str, i64> = BTreeMap::new();
    for (schema, (comment, objects)) in &local.type_schemas {
        if comment.as_deref() == Some(spec.marker.as_str()) && !spec.local_schemas().contains(schema) {
            left.insert(schema, *objects);
        }
    }
    for key in dropped_types {
        if let Some(n) = left.get_mut(key.0.as_str()) {
            *n -= 1;
        }
    }
    left.into_iter()
        .filter(|(schema, n)| *n <= 0 && !needed.iter().any(|k| k.0 == *schema))
        .map(|(schema, _)| Statement::plain(format!("DROP SCHEMA {}", ident(schema))))
        .collect()
}

/// `keys` ordered so that each type comes after the types it is made of.
fn dependency_order(keys: &BTreeSet<TypeKey>, types: &BTreeMap<TypeKey, UserType>) -> Vec<TypeKey> {
    fn visit(
        key: &TypeKey,
        keys: &BTreeSet<TypeKey>,
        types: &BTreeMap<TypeKey, UserType>,
        seen: &mut BTreeSet<TypeKey>,
        out: &mut Vec<TypeKey>,
    ) {
        if !keys.contains(key) || !seen.insert(key.clone()) {
            return;
        }
        for dep in types.get(key).map(|t| t.depends_on.as_slice()).unwrap_or_default() {
            visit(dep, keys, types, seen, out);
        }
        out.push(key.clone());
    }
    let (mut seen, mut out) = (BTreeSet::new(), Vec::new());
    for key in keys {
        visit(key, keys, types, &mut seen, &mut out);
    }
    out
}

fn create_type(name: &str, def: &TypeDef) -> String {
    match def {
        TypeDef::Enum { labels } => {
            let labels: Vec<String> = labels.iter().map(|l| literal(l)).collect();
            format!("CREATE TYPE {name} AS ENUM ({})", labels.join(", "))
        }
        TypeDef::Domain {
            base,
            not_null,
            default,
            checks,
        } => {
            // base, default and CHECK texts come from format_type / pg_get_constraintdef on the remote cluster.
            let mut sql = format!("CREATE DOMAIN {name} AS {base}");
            if let Some(d) = default {
                sql.push_str(&format!(" DEFAULT {d}"));
            }
            if *not_null {
                sql.push_str(" NOT NULL");
            }
            for (constraint, check) in checks {
                sql.push_str(&format!(" CONSTRAINT {} {check}", ident(constraint)));
            }
            sql
        }
        TypeDef::Composite { attributes } => {
            let attrs: Vec<String> = attributes
                .iter()
                .map(|a| format!("{} {}", ident(&a.name), a.data_type))
                .collect();
            format!("CREATE TYPE {name} AS ({})", attrs.join(", "))
        }
        TypeDef::Range { subtype } => format!("CREATE TYPE {name} AS RANGE (subtype = {subtype})"),
        TypeDef::Extension { .. } | TypeDef::Other { .. } => String::new(),
    }
}

/// Labels added on the remote cluster are added in place; other changes are refused.
fn alter_type(name: &str, key: &TypeKey, have: &UserType, wanted: &UserType) -> Result<Vec<Statement>, LinkPlanError> {
    let changed = || LinkPlanError::TypeChanged {
        type_name: format!("{}.{}", key.0, key.1),
        local: format!("{:?}", have.def),
        remote: format!("{:?}", wanted.def),
    };
    let (TypeDef::Enum { labels: old }, TypeDef::Enum { labels: new }) = (&have.def, &wanted.def) else {
        return Err(changed());
    };
    // The old labels must still be there, in the same order.
    let kept: Vec<&String> = new.iter().filter(|l| old.contains(l)).collect();
    if kept.len() != old.len() || kept.iter().zip(old).any(|(a, b)| *a != b) {
        return Err(changed());
    }
    let Some(first_old) = old.first() else {
        return Err(changed());
    };
    let mut out = Vec::new();
    // In order: each new label goes after the one before it, which is old or already added.
    for (i, label) in new.iter().enumerate().filter(|(_, l)| !old.contains(l)) {
        let place = match i {
            0 => format!("BEFORE {}", literal(first_old)),
            _ => format!("AFTER {}", literal(&new[i - 1])),
        };
        out.push(Statement::plain(format!(
            "ALTER TYPE {name} ADD VALUE IF NOT EXISTS {} {place}",
            literal(label)
        )));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::fixtures::{col, local_converged, remote_fresh, shown, spec};
    use crate::state::UserTypedColumn;

    fn key(name: &str) -> TypeKey {
        ("shop".to_string(), name.to_string())
    }

    fn user_type(def: TypeDef, depends_on: Vec<TypeKey>) -> UserType {
        UserType {
            def,
            depends_on,
            comment: None,
        }
    }

    fn enum_of(labels: &[&str]) -> TypeDef {
        TypeDef::Enum {
            labels: labels.iter().map(|l| l.to_string()).collect(),
        }
    }

    /// A remote `shop.orders` whose columns use an enum, a domain over it and a range.
    fn remote_with_types() -> (RemoteState, Vec<ExposedTable>) {
        let mut remote = remote_fresh();
        remote.types = [
            (key("status"), user_type(enum_of(&["new", "paid"]), vec![])),
            (
                key("paid_status"),
                user_type(
                    TypeDef::Domain {
                        base: "shop.status".into(),
                        not_null: true,
                        default: None,
                        checks: vec![("only_paid".into(), "CHECK ((VALUE = 'paid'::shop.status))".into())],
                    },
                    vec![key("status")],
                ),
            ),
            (
                key("band"),
                user_type(
                    TypeDef::Range {
                        subtype: "numeric".into(),
                    },
                    vec![],
                ),
            ),
        ]
        .into();
        remote.user_typed_columns = ["status", "paid_status", "band"]
            .iter()
            .map(|t| UserTypedColumn {
                schema: "shop".into(),
                table: "orders".into(),
                column: format!("c_{t}"),
                type_key: key(t),
            })
            .collect();
        let exposed = vec![ExposedTable {
            remote_schema: "shop".into(),
            local_schema: "orders_remote".into(),
            name: "orders".into(),
            columns: vec![col("c_status", "shop.status")],
        }];
        (remote, exposed)
    }

    #[test]
    fn types_are_made_in_dependency_order_in_a_marked_schema_before_the_import() {
        let (remote, exposed) = remote_with_types();
        let plan = plan_types(&spec(), &remote, &local_converged(), &exposed).unwrap();
        assert_eq!(
        shown(&plan.before),
        [
            "CREATE SCHEMA \"shop\"",
            "COMMENT ON SCHEMA \"shop\" IS 'managed by fdw-bridge: test'",
            "CREATE TYPE \"shop\".\"band\" AS RANGE (subtype = numeric)",
            "COMMENT ON TYPE \"shop\".\"band\" IS 'managed by fdw-bridge: test link=fdw-link/test'",
            "CREATE TYPE \"shop\".\"status\" AS ENUM ('new', 'paid')",
            "COMMENT ON TYPE \"shop\".\"status\" IS 'managed by fdw-bridge: test link=fdw-link/test'",
            "CREATE DOMAIN \"shop\".\"paid_status\" AS shop.status NOT NULL CONSTRAINT \"only_paid\" CHECK ((VALUE = 'paid'::shop.status))",
            "COMMENT ON TYPE \"shop\".\"paid_status\" IS 'managed by fdw-bridge: test link=fdw-link/test'",
        ]
    );
        assert!(plan.after.is_empty());
    }

    fn local_with(types: &RemoteState) -> LocalState {
        let mut local = local_converged();
        local.types = types
            .types
            .iter()
            .map(|(k, t)| {
                let mut t = t.clone();
                t.comment = Some(spec().role_comment());
                (k.clone(), t)
            })
            .collect();
        local.type_schemas = [("shop".to_string(), (Some(spec().marker), 3))].into();
        local
    }

    #[test]
    fn same_types_plan_nothing_and_new_enum_labels_are_added_in_place() {
        let (mut remote, exposed) = remote_with_types();
        let local = local_with(&remote);
        assert_eq!(
            plan_types(&spec(), &remote, &local, &exposed).unwrap().before,
            Vec::<Statement>::new()
        );
        remote.types.insert(
            key("status"),
            user_type(enum_of(&["draft", "new", "refunded", "paid", "void"]), vec![]),
        );
        assert_eq!(
            shown(&plan_types(&spec(), &remote, &local, &exposed).unwrap().before),
            [
                "ALTER TYPE \"shop\".\"status\" ADD VALUE IF NOT EXISTS 'draft' BEFORE 'new'",
                "ALTER TYPE \"shop\".\"status\" ADD VALUE IF NOT EXISTS 'refunded' AFTER 'new'",
                "ALTER TYPE \"shop\".\"status\" ADD VALUE IF NOT EXISTS 'void' AFTER 'paid'",
            ]
        );
        remote
            .types
            .insert(key("status"), user_type(enum_of(&["paid", "new"]), vec![]));
        assert!(matches!(
            plan_types(&spec(), &remote, &local, &exposed),
            Err(LinkPlanError::TypeChanged { .. })
        ));
    }

    #[test]
    fn types_no_longer_used_are_dropped_dependants_first_with_their_schema() {
        let (remote, exposed) = remote_with_types();
        let local = local_with(&remote);
        let mut now = remote.clone();
        now.user_typed_columns.clear();
        let plan = plan_types(&spec(), &now, &local, &exposed).unwrap();
        let dropped = shown(&plan.after);
        let at = |s: &str| dropped.iter().position(|d| d.contains(s)).unwrap();
        assert!(
            at("paid_status") < at("\"status\""),
            "the domain goes before its enum: {dropped:?}"
        );
        assert_eq!(dropped.last().unwrap(), "DROP SCHEMA \"shop\"");
        assert_eq!(dropped.len(), 4);
    }

    #[test]
    fn a_type_it_cannot_copy_or_one_someone_else_made_is_refused_by_name() {
        let (mut remote, exposed) = remote_with_types();
        remote.types.insert(
            key("band"),
            user_type(
                TypeDef::Other {
                    what: "a base type".into(),
                },
                vec![],
            ),
        );
        let e = plan_types(&spec(), &remote, &local_converged(), &exposed)
            .unwrap_err()
            .to_string();
        assert!(e.contains("remote column shop.orders.c_band has type shop.band"), "{e}");
        let (remote, exposed) = remote_with_types();
        let mut local = local_converged();
        local
            .types
            .insert(key("status"), user_type(enum_of(&["new", "paid"]), vec![]));
        assert!(matches!(
            plan_types(&spec(), &remote, &local, &exposed),
            Err(LinkPlanError::TypeNotOurs { .. })
        ));
    }
}
