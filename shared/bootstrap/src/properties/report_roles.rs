//! `ReportRoles`: the report reader and writer roles the link makes on the local cluster.

use super::values::{identifier, required_string, string_list, unknown_keys};
use serde_json::Value;

/// `ReportRoles`: the secrets of the report reader and writer roles the link
/// makes on the local cluster, and the local tables the reports read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportRolesRef {
    pub reader_secret_arn: String,
    pub writer_secret_arn: String,
    /// `(schema, table)` on the local cluster the reader may SELECT besides the foreign tables.
    pub read_tables: Vec<(String, String)>,
}

pub(super) const REPORT_ROLE_KEYS: &[&str] = &["ReaderSecretArn", "WriterSecretArn", "ReadTables"];

pub(super) fn report_roles(value: &Value, errors: &mut Vec<String>) -> Option<ReportRolesRef> {
    let Some(object) = value.as_object() else {
        errors.push("ReportRoles must be an object with ReaderSecretArn, WriterSecretArn and ReadTables".into());
        return None;
    };
    unknown_keys(object, REPORT_ROLE_KEYS, "ReportRoles", errors);
    let reader = required_string(object, "ReaderSecretArn", "ReportRoles.ReaderSecretArn", errors);
    let writer = required_string(object, "WriterSecretArn", "ReportRoles.WriterSecretArn", errors);
    let mut read_tables = Vec::new();
    for (i, name) in string_list(object.get("ReadTables"), "ReportRoles.ReadTables", errors)
        .into_iter()
        .enumerate()
    {
        let path = format!("ReportRoles.ReadTables[{i}]");
        let (schema, table) = match name.split_once('.') {
            Some((schema, table)) => (schema.to_string(), table.to_string()),
            None => ("public".to_string(), name.clone()),
        };
        identifier(&schema, &path, errors);
        identifier(&table, &path, errors);
        read_tables.push((schema, table));
    }
    if reader.is_some() && reader == writer {
        errors.push(
            "ReportRoles.ReaderSecretArn and ReportRoles.WriterSecretArn are the same secret: the reader only reads, \
             the writer only writes schema fdw_reports"
                .into(),
        );
    }
    Some(ReportRolesRef {
        reader_secret_arn: reader?,
        writer_secret_arn: writer?,
        read_tables,
    })
}
