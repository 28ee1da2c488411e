#!/usr/bin/env bash
# Installs what the local stack and the build need. Idempotent; fast when nothing changed.
#   - the PostgreSQL servers the stack runs (15, 16, 17: scripts/install-postgres.sh, pinned in
#     stack/postgres-versions.tsv) and Debian's psql; openssl, curl, netcat only when missing;
#   - a Python venv at <repo>/.venv with requirements-dev.txt (stamp keyed on a hash of
#     requirements-dev.txt and this script);
#   - checkov in a venv of its own at <repo>/.venv-checkov (requirements-checkov.txt): it pins
#     boto3/botocore far below what aws-sam-cli needs, so it cannot share .venv.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${FDW_VENV:-$REPO/.venv}"
REQ="$REPO/requirements-dev.txt"
STAMP="$VENV/.fdw-tools-stamp"

say() { echo "[tools] $*"; }

# --- PostgreSQL ------------------------------------------------------------
"$REPO/scripts/install-postgres.sh" 15 16 17

# --- Debian packages -------------------------------------------------------
missing=()
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
command -v curl >/dev/null 2>&1 || missing+=(curl)
command -v nc >/dev/null 2>&1 || missing+=(netcat-openbsd)
command -v runuser >/dev/null 2>&1 || missing+=(util-linux)

PY="${PYTHON:-}"
if [[ -z "$PY" ]]; then
  for cand in python3 /usr/bin/python3; do
    if command -v "$cand" >/dev/null 2>&1 && "$cand" -c 'import venv, ensurepip' >/dev/null 2>&1; then
      PY="$("$cand" -c 'import sys; print(sys.executable)')"; break
    fi
  done
fi
if [[ -z "$PY" ]]; then
  missing+=(python3 python3-venv)
fi

if ((${#missing[@]})); then
  # de-duplicate
  mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
  say "installing Debian packages: ${missing[*]}"
  if [[ $(id -u) -ne 0 ]]; then
    echo "[tools] need root to apt-get install ${missing[*]}" >&2; exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  say "Debian packages present (openssl, curl, nc)"
fi

if [[ -z "$PY" ]]; then
  PY=/usr/bin/python3
fi

# --- Python venv -----------------------------------------------------------
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1

# install_venv VENV REQUIREMENTS: (re)creates VENV when it has no working python,
# then installs REQUIREMENTS into it and checks that the result is consistent.
install_venv() {
  local venv="$1" req="$2"
  if [[ ! -x "$venv/bin/python" ]] || ! "$venv/bin/python" -c 'import sys' >/dev/null 2>&1; then
    say "creating venv at $venv (python: $PY)"
    rm -rf "$venv"
    "$PY" -m venv "$venv"
  fi
  say "pip install -r $(basename "$req") (first time takes ~1 min)"
  "$venv/bin/python" -m pip install -q --upgrade pip >/dev/null
  "$venv/bin/python" -m pip install -q -r "$req"
  "$venv/bin/python" -m pip check >/dev/null || { echo "[tools] pip check failed ($venv)" >&2; "$venv/bin/python" -m pip check >&2; exit 1; }
}

want="$(cat "$REQ" "${BASH_SOURCE[0]}" | sha256sum | cut -d' ' -f1)"
if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$want" && -x "$VENV/bin/python" && -x "$VENV/bin/moto_server" ]] \
   && "$VENV/bin/python" -c 'import boto3' >/dev/null 2>&1; then
  say "venv up to date ($VENV)"
else
  install_venv "$VENV" "$REQ"
  echo "$want" > "$STAMP"
  say "venv ready: $("$VENV/bin/sam" --version 2>/dev/null || echo sam?), moto $("$VENV/bin/python" -c 'import moto; print(moto.__version__)')"
fi

# --- checkov, in a venv of its own -----------------------------------------
CHECKOV_VENV="${FDW_CHECKOV_VENV:-$REPO/.venv-checkov}"
CHECKOV_REQ="$REPO/requirements-checkov.txt"
CHECKOV_STAMP="$CHECKOV_VENV/.fdw-tools-stamp"
want_checkov="$(cat "$CHECKOV_REQ" | sha256sum | cut -d' ' -f1)"
if [[ -f "$CHECKOV_STAMP" && "$(cat "$CHECKOV_STAMP")" == "$want_checkov" && -x "$CHECKOV_VENV/bin/checkov" ]]; then
  say "checkov venv up to date ($CHECKOV_VENV)"
else
  install_venv "$CHECKOV_VENV" "$CHECKOV_REQ"
  echo "$want_checkov" > "$CHECKOV_STAMP"
  say "checkov venv ready: checkov $("$CHECKOV_VENV/bin/checkov" --version 2>/dev/null || echo ?)"
fi
