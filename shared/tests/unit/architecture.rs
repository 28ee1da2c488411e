//! ARCHITECTURE.md's crate graph is the workspace's: every arrow of its Mermaid
//! picture is a `[dependencies]` entry of a crate under `shared/` or
//! `functions/`, and every such entry on another crate of the workspace is an arrow.

use fdw_bridge_testkit::workspace_dependencies;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The crates of the picture, by node name: `shared` (the facade), a layer
/// under `shared/<name>`, or `fn_<name>` for `functions/fdw-<name>`.
fn crates() -> Vec<(String, PathBuf)> {
    let mut out = vec![("shared".to_string(), repo().join("shared"))];
    for (parent, prefix) in [("shared", ""), ("functions", "fn_")] {
        for entry in std::fs::read_dir(repo().join(parent)).unwrap().flatten() {
            let dir = entry.path();
            if dir.join("Cargo.toml").is_file() {
                let name = entry
                    .file_name()
                    .to_string_lossy()
                    .trim_start_matches("fdw-")
                    .to_string();
                out.push((format!("{prefix}{name}"), dir));
            }
        }
    }
    out
}

/// The arrows (`a --> b`, or the facade's dotted `a -.-> b`) of the first Mermaid block.
fn arrows(markdown: &str) -> BTreeSet<(String, String)> {
    let block = markdown
        .split("```mermaid")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .unwrap_or_default();
    let node = |text: &str| -> String {
        text.trim()
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    block
        .lines()
        .filter_map(|line| {
            let (from, to) = line.split_once("-->").or_else(|| line.split_once("-.->"))?;
            Some((node(from), node(to)))
        })
        .collect()
}

#[test]
fn the_pictured_crate_graph_is_the_workspaces() {
    let mut manifests = BTreeSet::new();
    for (name, dir) in crates() {
        let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
        for dependency in workspace_dependencies(&manifest) {
            manifests.insert((name.clone(), dependency));
        }
    }
    assert!(
        manifests.contains(&("fn_rotate".into(), "rotate".into())),
        "{manifests:?}"
    );
    let pictured = arrows(&std::fs::read_to_string(repo().join("ARCHITECTURE.md")).unwrap());
    let missing: Vec<_> = manifests.difference(&pictured).collect();
    let extra: Vec<_> = pictured.difference(&manifests).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "ARCHITECTURE.md's picture lacks {missing:?} and draws {extra:?}, which no Cargo.toml has"
    );
}

#[test]
fn the_parsers_read_arrows_and_dependencies() {
    let picture = "x\n```mermaid\nflowchart TD\n  fn_a[\"functions/fdw-a\"] --> b\n  b[\"b<br/>c\"] --> c\n  s -.-> c\n  c\n```\n";
    assert_eq!(
        arrows(picture),
        BTreeSet::from([
            ("fn_a".to_string(), "b".to_string()),
            ("b".into(), "c".into()),
            ("s".into(), "c".into())
        ])
    );
    let manifest = "[dependencies]\nfdw-bridge-pg.workspace = true\nfdw-bridge-aws = { workspace = true }\ntokio.workspace = true\n\n[dev-dependencies]\nfdw-bridge-testkit.workspace = true\n";
    assert_eq!(
        workspace_dependencies(manifest),
        BTreeSet::from(["aws".to_string(), "pg".to_string()])
    );
}
