#!/usr/bin/env bash
# After `sam build`: every function in template.yaml has an arm64 ELF `bootstrap` in
# .aws-sam/build/<LogicalId>/, and the CA layer holds global-bundle.pem.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="$REPO/.aws-sam/build"
status=0
for fn in $(awk '/^  [A-Za-z0-9]+:$/{id=$1} /Type: AWS::Serverless::Function/{sub(":","",id); print id}' "$REPO/template.yaml"); do
  bin="$BUILD/$fn/bootstrap"
  if [[ ! -x "$bin" ]]; then
    echo "check-build: $bin is missing" >&2; status=1; continue
  fi
  # ELF header: class 64-bit (byte 5 = 2), e_machine 0xB7 = AArch64 (bytes 19-20, little-endian).
  machine=$(od -An -tx1 -j18 -N2 "$bin" | tr -d ' \n')
  if [[ "$(head -c4 "$bin" | od -An -c | tr -d ' \n')" != "177ELF" || "$machine" != "b700" ]]; then
    echo "check-build: $bin is not an arm64 ELF executable (e_machine $machine)" >&2; status=1; continue
  fi
  echo "check-build: $fn/bootstrap arm64 ELF, $(du -h "$bin" | cut -f1)"
done
# A layer without a BuildMethod is not copied: the built template points at its ContentUri,
# which sam deploy zips as it is.
content=$(awk '/RdsCaBundleLayer:/{l=1} l && /ContentUri:/{print $2; exit}' "$BUILD/template.yaml")
if [[ -z "$content" || ! -s "$BUILD/$content/global-bundle.pem" ]]; then
  echo "check-build: the RdsCaBundleLayer (ContentUri ${content:-?}) holds no global-bundle.pem" >&2; status=1
else
  echo "check-build: CA layer $(cd "$BUILD/$content" && pwd)/global-bundle.pem"
fi
exit $status
