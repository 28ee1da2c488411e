#!/usr/bin/env bash
# Fails when a crate of the workspace declares a dependency it does not use
# (cargo-machete, with cargo metadata so that renamed libraries such as
# fdw_bridge are recognised). cargo-machete is installed from crates.io into
# <repo>/.tools once (a debug build, about 2 minutes on 2 cores), then reused.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
VERSION="${CARGO_MACHETE_VERSION:-0.9.2}"
MACHETE="$REPO/.tools/bin/cargo-machete"

if [[ ! -x "$MACHETE" ]] || [[ "$("$MACHETE" --version 2>/dev/null)" != "$VERSION" ]]; then
  echo "[deps] installing cargo-machete $VERSION into .tools (once; about 2 minutes on 2 cores)"
  cargo install cargo-machete --version "$VERSION" --locked --debug --root "$REPO/.tools" --quiet
fi
"$MACHETE" --with-metadata
