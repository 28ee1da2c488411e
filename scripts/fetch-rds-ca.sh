#!/usr/bin/env bash
# Downloads Amazon RDS's global CA bundle into build/rds-ca/global-bundle.pem, which
# template.yaml packages as a Lambda layer (the functions read /opt/global-bundle.pem,
# FDW_CA_BUNDLE). Run once on the machine that deploys; the local stack uses its own CA.
#
#   scripts/fetch-rds-ca.sh           download (or re-download) and verify
#   scripts/fetch-rds-ca.sh --check   only verify what is there (make build calls this)
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
URL="${RDS_CA_URL:-https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem}"
DEST="$REPO/build/rds-ca/global-bundle.pem"

verify() {
  local file="$1"
  if [[ ! -s "$file" ]]; then
    echo "fetch-rds-ca: $file is missing or empty." >&2
    echo "  The functions verify Aurora's certificates against Amazon's RDS CA bundle, shipped as a" >&2
    echo "  Lambda layer. Run scripts/fetch-rds-ca.sh (needs HTTPS to truststore.pki.rds.amazonaws.com)," >&2
    echo "  or copy global-bundle.pem from $URL to $DEST yourself." >&2
    return 1
  fi
  local n
  n=$(grep -c -- '-----BEGIN CERTIFICATE-----' "$file" || true)
  if [[ "$n" -lt 1 ]]; then
    echo "fetch-rds-ca: $file holds no PEM certificate (expected Amazon's RDS CA bundle from $URL)" >&2
    return 1
  fi
  # Every certificate in the bundle must parse and be a CA.
  local dir
  dir="$(mktemp -d)"
  trap 'rm -rf "$dir"' RETURN
  awk -v dir="$dir" '/-----BEGIN CERTIFICATE-----/{i++} i{print > (dir "/cert-" i ".pem")}' "$file"
  local cert
  for cert in "$dir"/cert-*.pem; do
    if ! openssl x509 -in "$cert" -noout -text 2>/dev/null | grep -q 'CA:TRUE'; then
      echo "fetch-rds-ca: certificate $(basename "$cert" .pem) in $file does not parse as a CA certificate" >&2
      return 1
    fi
  done
  echo "fetch-rds-ca: $file holds $n CA certificates"
}

if [[ "${1:-}" == "--check" ]]; then
  verify "$DEST"
  exit
fi

mkdir -p "$(dirname "$DEST")"
tmp="$(mktemp "$DEST.XXXXXX")"
trap 'rm -f "$tmp"' EXIT
if ! curl --fail --silent --show-error --location --proto '=https' --tlsv1.2 --max-time 60 -o "$tmp" "$URL"; then
  echo "fetch-rds-ca: could not download $URL: check the network (HTTPS to truststore.pki.rds.amazonaws.com)" >&2
  exit 1
fi
verify "$tmp"
mv "$tmp" "$DEST"
trap - EXIT
echo "fetch-rds-ca: installed $DEST"
