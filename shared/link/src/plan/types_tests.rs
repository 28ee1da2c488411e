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
