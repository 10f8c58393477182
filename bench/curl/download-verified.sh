#!/usr/bin/env bash
# download.sh doing the work cubeblob does: after the download, the MD5 of the file
# against the storage's ETag (a single-part upload's ETag is its MD5).
#   CB_API=http://127.0.0.1:8080 CB_TOKEN=... download-verified.sh UID OUTPUT
set -euo pipefail
headers=$(mktemp)
trap 'rm -f "$headers"' EXIT
curl -sfL -D "$headers" "$CB_API/blobs/$1/download?token=$CB_TOKEN" -o "$2"
etag=$(tr -d '\r"' < "$headers" | awk 'tolower($1) == "etag:" { tag = $2 } END { print tag }')
sum=$(md5sum < "$2")
if [ "${sum%% *}" != "$etag" ]; then
  echo "download-verified.sh: MD5 ${sum%% *} differs from the ETag $etag" >&2
  exit 1
fi
