#!/usr/bin/env bash
# The curl alternative to `cubeblob download ID... -o DIR/`: a loop, one download after
# another, each through the API's redirect to the presigned storage URL.
#   CB_API=http://127.0.0.1:8080 CB_TOKEN=... download-many.sh DIR < LIST
# LIST holds one `UID NAME` pair a line; each blob lands at DIR/NAME.
set -euo pipefail
dir=$1
while read -r uid name; do
  curl -sfL "$CB_API/blobs/$uid/download?token=$CB_TOKEN" -o "$dir/$name"
done
