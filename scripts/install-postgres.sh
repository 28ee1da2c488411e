#!/usr/bin/env bash
# Installs the PostgreSQL server of each major given (default: $PG_MAJOR, else 16), as pinned in
# stack/postgres-versions.tsv, and prints nothing else but progress. Idempotent; fast when present.
#   scripts/install-postgres.sh 15 17
#   scripts/install-postgres.sh --bin 17     prints the server binaries' directory (installs first)
# 15: Debian's postgresql-15 (apt). 16, 17: the pinned npm tarball, sha512-checked, unpacked under
# /opt/fdw-bridge/postgresql/<version> (readable by the postgres user, which runs the servers).
# psql and pg_isready for every major: Debian's postgresql-client-15.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TABLE="$REPO/stack/postgres-versions.tsv"
PREFIX="${FDW_PG_PREFIX:-/opt/fdw-bridge/postgresql}"
CLIENT_BIN=/usr/lib/postgresql/15/bin

say() { echo "[postgres] $*" >&2; }
die() { echo "[postgres] error: $*" >&2; exit 1; }

row() {  # row MAJOR -> "major version source package sha512"
  local r
  r="$(awk -F'\t' -v m="$1" '$1 == m' "$TABLE")"
  [[ -n "$r" ]] || die "PostgreSQL $1 is not one the stack runs (stack/postgres-versions.tsv lists $(awk -F'\t' '!/^#/ {printf "%s ", $1}' "$TABLE"))"
  echo "$r"
}

apt_install() {
  [[ $(id -u) -eq 0 ]] || die "need root to apt-get install $*"
  say "installing Debian packages: $*"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

bin_dir() {  # bin_dir MAJOR -> the server binaries' directory
  local major version source
  IFS=$'\t' read -r major version source _ _ <<< "$(row "$1")"
  if [[ "$source" == debian ]]; then echo "/usr/lib/postgresql/$major/bin"; else echo "$PREFIX/$version/bin"; fi
}

install_client() {
  [[ -x "$CLIENT_BIN/psql" && -x "$CLIENT_BIN/pg_isready" ]] || apt_install postgresql-client-15
}

install_major() {
  local major version source package sha512
  IFS=$'\t' read -r major version source package sha512 <<< "$(row "$1")"
  if [[ "$source" == debian ]]; then
    if [[ -x "/usr/lib/postgresql/$major/bin/postgres" && -f "/usr/share/postgresql/$major/extension/postgres_fdw.control" ]]; then
      return
    fi
    apt_install "$package"   # contrib (postgres_fdw) ships inside postgresql-15 on Debian 12
    return
  fi
  local dest="$PREFIX/$version" stamp="$PREFIX/$version/.fdw-bridge-installed"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$sha512" && -x "$dest/bin/postgres" ]]; then
    return
  fi
  [[ "$(uname -m)" == x86_64 ]] || die "PostgreSQL $major for the local stack is pinned for x86_64 only (this machine: $(uname -m))"
  command -v npm >/dev/null 2>&1 || apt_install npm
  local work; work="$(mktemp -d)"
  trap 'rm -rf "$work"' RETURN
  say "fetching $package (npm pack)"
  (cd "$work" && npm pack --silent "$package" >/dev/null) || die "npm pack $package failed"
  local tgz; tgz="$(ls "$work"/*.tgz)"
  local got; got="$(sha512sum "$tgz" | cut -d' ' -f1)"
  [[ "$got" == "$sha512" ]] || die "$package: sha512 $got does not match the pinned $sha512 (stack/postgres-versions.tsv)"
  mkdir -p "$work/x"
  tar xzf "$tgz" -C "$work/x"
  # The package's own list of library links (its postinstall script makes them with node).
  python3 - "$work/x/package" <<'PY'
import json, os, sys
root = sys.argv[1]
for link in json.load(open(os.path.join(root, "native", "pg-symlinks.json"))):
    target = os.path.join(root, link["target"])
    if not os.path.lexists(target):
        os.symlink(os.path.relpath(os.path.join(root, link["source"]), os.path.dirname(target)), target)
PY
  rm -rf "$dest"; mkdir -p "$PREFIX"
  mv "$work/x/package/native" "$dest"
  chmod -R a+rX "$dest"
  "$dest/bin/postgres" --version | grep -q " $version\$" || die "$dest/bin/postgres is not PostgreSQL $version"
  [[ -f "$dest/share/postgresql/extension/postgres_fdw.control" ]] || die "$package has no postgres_fdw"
  echo "$sha512" > "$stamp"
  say "PostgreSQL $version installed in $dest"
}

if [[ "${1:-}" == "--bin" ]]; then
  [[ -n "${2:-}" ]] || die "usage: install-postgres.sh --bin MAJOR"
  install_major "$2"
  bin_dir "$2"
  exit 0
fi
majors=("$@")
((${#majors[@]})) || majors=("${PG_MAJOR:-16}")
install_client
for m in "${majors[@]}"; do
  install_major "$m"
  say "PostgreSQL $m: $("$(bin_dir "$m")/postgres" --version)"
done
