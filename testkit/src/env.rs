//! The stack's env file (`stack/stack.sh up` writes it): every part of the
//! harness reads its settings here.

use std::collections::HashMap;
use std::path::PathBuf;

/// The variables of the env file, read once per test binary.
pub(crate) struct Env(HashMap<String, String>);

impl Env {
    pub(crate) fn parse(text: &str) -> Self {
        Env(text
            .lines()
            .filter_map(|l| l.trim().strip_prefix("export "))
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.trim_matches('\'').trim_matches('"').to_string()))
            .collect())
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (&String, &String)> {
        self.0.iter()
    }

    pub(crate) fn var(&self, key: &str) -> &str {
        self.0
            .get(key)
            .unwrap_or_else(|| panic!("{key} is missing from the stack's env file: run `make stack-down stack-up`"))
    }

    pub(crate) fn has_var(&self, key: &str) -> bool {
        self.0.contains_key(key)
    }
}

/// Where the env file is: `$FDW_STACK_DIR/env`, `.stack/env` of the repository unless set.
pub(crate) fn env_file() -> PathBuf {
    let dir = std::env::var("FDW_STACK_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| crate::stack::repo_dir().join(".stack"));
    dir.join("env")
}
