#!/usr/bin/env bash
# The curl alternative to `cubeblob download`: follow the API's redirect to the
# presigned storage URL.
#   CB_API=http://127.0.0.1:8080 CB_TOKEN=... download.sh UID OUTPUT
set -euo pipefail
curl -sfL "$CB_API/blobs/$1/download?token=$CB_TOKEN" -o "$2"
