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
    let mut plan = TypePlan::default();
    let is_exposed = |schema: &str, table: &str| exposed.iter().any(|t| t.remote_schema == schema && t.name == table);
    // Every type the exposed columns use, with what it is made of; refuse what cannot be made.
    for column in remote
        .user_typed_columns
        .iter()
        .filter(|c| is_exposed(&c.schema, &c.table))
    {
        let mut stack = vec![column.type_key.clone()];
        while let Some(key) = stack.pop() {
            if !plan.needed.insert(key.clone()) {
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
    let ordered = dependency_order(&plan.needed, &remote.types);
    for key in &ordered {
        let Some(wanted) = remote.types.get(key) else { continue };
        if matches!(wanted.def, TypeDef::Extension { .. }) {
            continue;
        }
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
    // A type schema the link made goes with its last type, when nothing else is in it.
    let mut left: BTreeMap<&str, i64> = BTreeMap::new();
    for (schema, (comment, objects)) in &local.type_schemas {
        if comment.as_deref() == Some(spec.marker.as_str()) && !spec.local_schemas().contains(schema) {
            left.insert(schema, *objects);
        }
    }
    for key in &stale_order {
        if let Some(n) = left.get_mut(key.0.as_str()) {
            *n -= 1;
        }
    }
    for (schema, n) in left {
        if n <= 0 && !plan.needed.iter().any(|k| k.0 == schema) {
            plan.after
                .push(Statement::plain(format!("DROP SCHEMA {}", ident(schema))));
        }
    }
    Ok(plan)
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
#[path = "types_tests.rs"]
mod tests;
