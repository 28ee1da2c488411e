//! Reading user-defined types (enum, domain, composite, range, and what they
//! are made of) from either cluster, the same way on both, so that a type the
//! link made compares equal to the remote one it copies.

use super::state::{Column, TypeDef, TypeKey, UserType, UserTypedColumn};
use fdw_bridge_pg::PgError;
use std::collections::BTreeMap;
use tokio_postgres::Client;

/// Below this every type is built in (PostgreSQL's FirstNormalObjectId).
const FIRST_USER_OID: u32 = 16384;

/// The element type of an array type, else the type itself (SQL, over `$t`).
const ROOT: &str = "CASE WHEN $t.typcategory = 'A' AND $t.typelem <> 0 THEN $t.typelem ELSE $t.oid END";

/// The user-defined types the relations of `schemas` use, and which columns use them.
pub(super) async fn read_remote_types(
    client: &Client,
    schemas: &[String],
) -> Result<(BTreeMap<TypeKey, UserType>, Vec<UserTypedColumn>), PgError> {
    let ctx = "reading the remote cluster's user-defined types";
    let rows = client
        .query(
            &format!(
                "SELECT n.nspname::text, c.relname::text, a.attname::text, tn.nspname::text, t.typname::text, t.oid
                   FROM pg_namespace n
                   JOIN pg_class c ON c.relnamespace = n.oid AND c.relkind IN ('r', 'v', 'm', 'f', 'p') AND NOT c.relispartition
                   JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
                   JOIN pg_type t0 ON t0.oid = a.atttypid
                   JOIN pg_type t ON t.oid = {}
                   JOIN pg_namespace tn ON tn.oid = t.typnamespace
                  WHERE n.nspname = ANY($1) AND t.oid >= {FIRST_USER_OID}
                  ORDER BY 1, 2, a.attnum",
                ROOT.replace("$t", "t0")
            ),
            &[&schemas],
        )
        .await
        .map_err(|e| PgError::new(ctx, &e))?;
    let mut seeds: Vec<u32> = Vec::new();
    let mut columns = Vec::new();
    for r in rows {
        let oid: u32 = r.get(5);
        if !seeds.contains(&oid) {
            seeds.push(oid);
        }
        columns.push(UserTypedColumn {
            schema: r.get(0),
            table: r.get(1),
            column: r.get(2),
            type_key: (r.get(3), r.get(4)),
        });
    }
    Ok((read_types(client, &seeds, ctx).await?, columns))
}

/// The types named `wanted` that exist on the local cluster, and every type
/// whose comment is `holder` (what the link made earlier), with what they are made of.
pub(super) async fn read_wanted_types(
    client: &Client,
    wanted: &[TypeKey],
    holder: &str,
) -> Result<BTreeMap<TypeKey, UserType>, PgError> {
    let ctx = "reading the local cluster's user-defined types";
    let (schemas, names): (Vec<String>, Vec<String>) = wanted.iter().cloned().unzip();
    let seeds: Vec<u32> = client
        .query(
            "SELECT t.oid FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
              WHERE (n.nspname, t.typname) IN (SELECT * FROM unnest($1::text[], $2::text[]))
                 OR obj_description(t.oid, 'pg_type') = $3",
            &[&schemas, &names, &holder],
        )
        .await
        .map_err(|e| PgError::new(ctx, &e))?
        .iter()
        .map(|r| r.get(0))
        .collect();
    read_types(client, &seeds, ctx).await
}

/// `seeds` and every user-defined type they are made of, recursively.
async fn read_types(client: &Client, seeds: &[u32], ctx: &str) -> Result<BTreeMap<TypeKey, UserType>, PgError> {
    if seeds.is_empty() {
        return Ok(BTreeMap::new());
    }
    // Direct parts of type t: a domain's base, a range's subtype, a standalone
    // composite's attribute types (arrays resolved to their element).
    let parts = format!(
        "SELECT {} AS oid FROM (
             SELECT t.typbasetype AS part WHERE t.typtype = 'd'
             UNION ALL SELECT r.rngsubtype FROM pg_range r WHERE r.rngtypid = t.oid
             UNION ALL SELECT a.atttypid FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
                        WHERE t.typtype = 'c' AND c.oid = t.typrelid AND c.relkind = 'c' AND a.attnum > 0 AND NOT a.attisdropped
           ) p JOIN pg_type e ON e.oid = p.part",
        ROOT.replace("$t", "e")
    );
    let sql = format!(
        "WITH RECURSIVE used(oid) AS (
            SELECT unnest($1::oid[])
            UNION
            SELECT d.oid FROM used u JOIN pg_type t ON t.oid = u.oid CROSS JOIN LATERAL ({parts}) d
         )
         SELECT n.nspname::text, t.typname::text, t.typtype::text,
                obj_description(t.oid, 'pg_type'),
                (SELECT x.extname::text FROM pg_depend dep JOIN pg_extension x ON x.oid = dep.refobjid
                  WHERE dep.classid = 'pg_type'::regclass AND dep.objid = t.oid AND dep.deptype = 'e'),
                coalesce((SELECT array_agg(l.enumlabel::text ORDER BY l.enumsortorder) FROM pg_enum l WHERE l.enumtypid = t.oid), '{{}}'),
                CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, t.typtypmod) END,
                t.typnotnull, t.typdefault,
                coalesce((SELECT array_agg(k.conname::text ORDER BY k.conname) FROM pg_constraint k WHERE k.contypid = t.oid AND k.contype = 'c'), '{{}}'),
                coalesce((SELECT array_agg(pg_get_constraintdef(k.oid) ORDER BY k.conname) FROM pg_constraint k WHERE k.contypid = t.oid AND k.contype = 'c'), '{{}}'),
                (SELECT c.relkind::text FROM pg_class c WHERE c.oid = t.typrelid),
                coalesce((SELECT array_agg(a.attname::text ORDER BY a.attnum) FROM pg_attribute a
                           WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped), '{{}}'),
                coalesce((SELECT array_agg(format_type(a.atttypid, a.atttypmod) ORDER BY a.attnum) FROM pg_attribute a
                           WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped), '{{}}'),
                (SELECT format_type(r.rngsubtype, NULL) FROM pg_range r WHERE r.rngtypid = t.oid),
                coalesce((SELECT array_agg(dn.nspname::text ORDER BY d.oid) FROM ({parts}) d
                            JOIN pg_type dt ON dt.oid = d.oid JOIN pg_namespace dn ON dn.oid = dt.typnamespace
                           WHERE d.oid >= {FIRST_USER_OID}), '{{}}'),
                coalesce((SELECT array_agg(dt.typname::text ORDER BY d.oid) FROM ({parts}) d
                            JOIN pg_type dt ON dt.oid = d.oid
                           WHERE d.oid >= {FIRST_USER_OID}), '{{}}')
           FROM used u JOIN pg_type t ON t.oid = u.oid JOIN pg_namespace n ON n.oid = t.typnamespace
          WHERE u.oid >= {FIRST_USER_OID}"
    );
    let rows = client.query(&sql, &[&seeds]).await.map_err(|e| PgError::new(ctx, &e))?;
    let mut out = BTreeMap::new();
    for r in rows {
        let kind: String = r.get(2);
        let extension: Option<String> = r.get(4);
        let def = match (extension, kind.as_str()) {
            (Some(extension), _) => TypeDef::Extension { extension },
            (None, "e") => TypeDef::Enum { labels: r.get(5) },
            (None, "d") => {
                let names: Vec<String> = r.get(9);
                let defs: Vec<String> = r.get(10);
                TypeDef::Domain {
                    base: r.get::<_, Option<String>>(6).unwrap_or_default(),
                    not_null: r.get(7),
                    default: r.get(8),
                    checks: names.into_iter().zip(defs).collect(),
                }
            }
            (None, "c") if r.get::<_, Option<String>>(11).as_deref() == Some("c") => {
                let names: Vec<String> = r.get(12);
                let types: Vec<String> = r.get(13);
                TypeDef::Composite {
                    attributes: names
                        .into_iter()
                        .zip(types)
                        .map(|(name, data_type)| Column { name, data_type })
                        .collect(),
                }
            }
            (None, "c") => TypeDef::Other {
                what: "the row type of a table".into(),
            },
            (None, "r") => TypeDef::Range {
                subtype: r.get::<_, Option<String>>(14).unwrap_or_default(),
            },
            (None, "b") => TypeDef::Other {
                what: "a base type with its own input and output functions".into(),
            },
            (None, other) => TypeDef::Other {
                what: format!("a type of kind {other:?}"),
            },
        };
        let dep_schemas: Vec<String> = r.get(15);
        let dep_names: Vec<String> = r.get(16);
        out.insert(
            (r.get(0), r.get(1)),
            UserType {
                def,
                depends_on: dep_schemas.into_iter().zip(dep_names).collect(),
                comment: r.get(3),
            },
        );
    }
    Ok(out)
}
