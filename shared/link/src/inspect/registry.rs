//! The link registry on the local cluster (`fdw_bridge.links`): every link's
//! stored properties, which the refresh and a renamed LocalSchema start from.

use crate::plan::advice_function_names;
use crate::registry::{registry_table, REGISTRY_SCHEMA, REGISTRY_TABLE};
use crate::state::{RegistryState, StoredLink};
use fdw_bridge_pg::PgError;
use std::collections::BTreeMap;
use tokio_postgres::Client;

/// The LocalSchemas the link's stored properties name (what it was before this run).
pub(super) fn stored_local_schemas(registry: Option<&RegistryState>, server: &str) -> Vec<String> {
    registry
        .and_then(|r| r.links.get(server))
        .and_then(|row| row.properties.get("ImportSchemas"))
        .and_then(serde_json::Value::as_array)
        .map(|imports| {
            imports
                .iter()
                .filter_map(|i| i.get("LocalSchema").and_then(serde_json::Value::as_str))
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// The link registry on the local cluster (`fdw_bridge.links`), when it exists.
pub async fn read_registry(client: &Client) -> Result<Option<RegistryState>, PgError> {
    let q = |e: tokio_postgres::Error| {
        PgError::new("reading the link registry (fdw_bridge.links) on the local cluster", &e)
    };
    let Some(row) = client
        .query_opt(
            "SELECT obj_description(n.oid, 'pg_namespace'),
                    (SELECT count(*) FROM pg_class c WHERE c.relnamespace = n.oid
                        AND c.relname NOT IN ('links', 'links_pkey'))
                  + (SELECT count(*) FROM pg_proc p WHERE p.pronamespace = n.oid AND p.proname <> ALL ($3::text[]))
                  + (SELECT count(*) FROM pg_type t WHERE t.typnamespace = n.oid AND t.typrelid = 0 AND t.typelem = 0)
               FROM pg_namespace n
              WHERE n.nspname = $1::text AND to_regclass(format('%I.%I', $1::text, $2::text)) IS NOT NULL",
            &[&REGISTRY_SCHEMA, &REGISTRY_TABLE, &advice_function_names()],
        )
        .await
        .map_err(q)?
    else {
        return Ok(None);
    };
    let mut state = RegistryState {
        schema_comment: row.get(0),
        other_objects: row.get(1),
        links: BTreeMap::new(),
    };
    let rows = match client
        .query(
            &format!(
                "SELECT server_name, link_id, stack_id, logical_resource_id, properties::text FROM {}",
                registry_table()
            ),
            &[],
        )
        .await
    {
        Ok(rows) => rows,
        // Dropped with another link's last row between the two reads: only a read outside
        // fdw-bridge's lock (a preflight plan, a refresh's listing) can see that; the plan
        // made under the lock reads the registry again.
        Err(e) if e.code() == Some(&fdw_bridge_pg::SqlState::UNDEFINED_TABLE) => return Ok(None),
        Err(e) => return Err(q(e)),
    };
    for r in rows {
        let server_name: String = r.get(0);
        let text: String = r.get(4);
        // Written by the link itself as jsonb: text that is not JSON cannot come back from it.
        let properties = serde_json::from_str(&text).unwrap_or(serde_json::Value::Null);
        state.links.insert(
            server_name.clone(),
            StoredLink {
                server_name,
                link_id: r.get(1),
                stack_id: r.get(2),
                logical_resource_id: r.get(3),
                properties,
            },
        );
    }
    Ok(Some(state))
}
