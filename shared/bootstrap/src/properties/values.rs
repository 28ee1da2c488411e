//! Reading property values as CloudFormation sends them (every scalar may come
//! as a string), and the checks every property path shares.

use serde_json::{Map, Value};

pub(crate) fn unknown_keys(object: &Map<String, Value>, known: &[&str], path: &str, errors: &mut Vec<String>) {
    for key in object.keys() {
        if !known.contains(&key.as_str()) {
            let at = if path.is_empty() {
                key.clone()
            } else {
                format!("{path}.{key}")
            };
            errors.push(format!("unknown property {at} (known here: {})", known.join(", ")));
        }
    }
}

pub(crate) fn required_string(
    object: &Map<String, Value>,
    key: &str,
    path: &str,
    errors: &mut Vec<String>,
) -> Option<String> {
    match object.get(key) {
        None => {
            errors.push(format!("missing property {path}"));
            None
        }
        Some(v) => {
            let s = scalar_string(v, path, errors)?;
            if s.is_empty() {
                errors.push(format!("{path} is empty"));
                return None;
            }
            Some(s)
        }
    }
}

pub(crate) fn scalar_string(value: &Value, path: &str, errors: &mut Vec<String>) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => {
            errors.push(format!("{path} must be a string"));
            None
        }
    }
}

pub(crate) fn string_list(value: Option<&Value>, path: &str, errors: &mut Vec<String>) -> Vec<String> {
    match value {
        None => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .filter_map(|(i, v)| scalar_string(v, &format!("{path}[{i}]"), errors))
            .collect(),
        Some(_) => {
            errors.push(format!("{path} must be a list of strings"));
            Vec::new()
        }
    }
}

/// A PostgreSQL name: any text (it is always quoted), but not empty, at most
/// 63 bytes (longer names would be silently truncated) and without NUL.
pub(crate) fn identifier(name: &str, path: &str, errors: &mut Vec<String>) {
    if name.is_empty() {
        errors.push(format!("{path} is empty"));
    } else if name.len() > 63 {
        errors.push(format!(
            "{path} is {} bytes long: PostgreSQL names hold at most 63 bytes",
            name.len()
        ));
    } else if name.contains('\0') {
        errors.push(format!("{path} contains a NUL character"));
    }
}
