#!/usr/bin/env bash
# The curl alternative to `cubeblob upload`: the three steps by hand, one file after
# another, as a user would script them from the README's walk-through.
#   CB_API=http://127.0.0.1:8080 CB_TOKEN=... upload.sh FILE...
# Prints `ID<TAB>UID` per uploaded file.
set -euo pipefail

for file in "$@"; do
  name=$(basename "$file")

  # 1. Create the blob record; its answer carries the upload form.
  blob=$(curl -sf -X POST "$CB_API/blobs" -H "CB-Token: $CB_TOKEN" \
    -H 'Content-Type: application/json' \
    -d "{\"blob\": {\"content_type\": \"application/octet-stream\", \"name\": \"$name\", \"public\": false}}")
  { read -r id; read -r uid; read -r params; } < <(
    jq -r '.blob.id, .blob.uid, .blob.blob_object_access.params' <<< "$blob")

  # 2. The form: the query pairs of params, each decoded once, in order, the file last.
  form=()
  IFS='&' read -ra pairs <<< "${params#*\?}"
  for pair in "${pairs[@]}"; do
    value=${pair#*=}
    printf -v value '%b' "${value//%/\\x}"
    form+=(--form-string "${pair%%=*}=$value")
  done
  curl -sf -o /dev/null "${params%%\?*}" "${form[@]}" -F "file=@$file"

  # 3. Declare it complete, with its size.
  curl -sf -o /dev/null -X PUT "$CB_API/blobs/$id/complete" -H "CB-Token: $CB_TOKEN" \
    -H 'Content-Type: application/json' -d "{\"blob\": {\"size\": $(stat -c %s "$file")}}"

  printf '%s\t%s\n' "$id" "$uid"
done
