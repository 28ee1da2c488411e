//! Reading the workspace's own manifests, for the tests that hold a picture or a
//! scanner against the crate graph (the template agreement test, the architecture test).

use std::collections::BTreeSet;

/// The workspace's library crates (`fdw-bridge-<name>`) a manifest's `[dependencies]`
/// names, by `<name>` (dev-dependencies are the tests', not the crate's).
pub fn workspace_dependencies(manifest: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut in_dependencies = false;
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_dependencies = line == "[dependencies]";
        } else if let Some(rest) = line.strip_prefix("fdw-bridge-").filter(|_| in_dependencies) {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                .collect();
            out.insert(name);
        }
    }
    out
}
