#!/usr/bin/env bash
# The curl alternative to `cubeblob copy ID --to-profile NAME`: download the blob with
# one user's token into a temporary folder, then upload it with the other's.
#   CB_API=... CB_TOKEN=SOURCE CB_TARGET_TOKEN=TARGET copy.sh UID NAME
# Prints the new blob's `ID<TAB>UID`.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$here/download.sh" "$1" "$tmp/$2"
CB_TOKEN=$CB_TARGET_TOKEN "$here/upload.sh" "$tmp/$2"
