//! `ImportSchemas`: which remote schemas the link imports, into which local
//! schemas, and which of their tables.

use super::values::{identifier, required_string, string_list, unknown_keys};
use fdw_bridge_link::spec::ImportSpec;
use serde_json::Value;

pub(super) const IMPORT_KEYS: &[&str] = &["RemoteSchema", "LocalSchema", "IncludeTables", "ExcludeTables"];

pub(super) fn imports(value: Option<&Value>, errors: &mut Vec<String>) -> Vec<ImportSpec> {
    let Some(value) = value else {
        errors.push(
            "missing property ImportSchemas (a list of {RemoteSchema, LocalSchema, IncludeTables?, ExcludeTables?})"
                .into(),
        );
        return Vec::new();
    };
    let Some(list) = value.as_array() else {
        errors.push("ImportSchemas must be a list".into());
        return Vec::new();
    };
    if list.is_empty() {
        errors.push("ImportSchemas is empty: name at least one remote schema to import".into());
    }
    let mut out = Vec::new();
    for (i, item) in list.iter().enumerate() {
        let path = format!("ImportSchemas[{i}]");
        let Some(object) = item.as_object() else {
            errors.push(format!("{path} must be an object"));
            continue;
        };
        unknown_keys(object, IMPORT_KEYS, &path, errors);
        let remote_schema = required_string(object, "RemoteSchema", &format!("{path}.RemoteSchema"), errors);
        let local_schema = required_string(object, "LocalSchema", &format!("{path}.LocalSchema"), errors);
        let include = string_list(object.get("IncludeTables"), &format!("{path}.IncludeTables"), errors);
        let exclude = string_list(object.get("ExcludeTables"), &format!("{path}.ExcludeTables"), errors);
        for (field, names) in [("IncludeTables", &include), ("ExcludeTables", &exclude)] {
            for (j, name) in names.iter().enumerate() {
                identifier(name, &format!("{path}.{field}[{j}]"), errors);
            }
        }
        if let (Some(remote_schema), Some(local_schema)) = (remote_schema, local_schema) {
            identifier(&remote_schema, &format!("{path}.RemoteSchema"), errors);
            identifier(&local_schema, &format!("{path}.LocalSchema"), errors);
            out.push(ImportSpec {
                remote_schema,
                local_schema,
                include,
                exclude,
            });
        }
    }
    out
}
