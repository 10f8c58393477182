#!/usr/bin/env bash
# The curl alternative to `cubeblob list --all --json`: a loop over pages of 100, one
# request after another, printing each blob as one JSON line.
#   CB_API=http://127.0.0.1:8080 CB_TOKEN=... list.sh
set -euo pipefail
page=1
while :; do
  body=$(curl -sf "$CB_API/blobs?page=$page&per_page=100" -H "CB-Token: $CB_TOKEN")
  # First line: the total; then one blob per line.
  out=$(jq -r '.total_entries, (.items[].blob | tojson)' <<< "$body")
  total=${out%%$'\n'*}
  [[ $out == *$'\n'* ]] && printf '%s\n' "${out#*$'\n'}"
  [ $((page * 100)) -ge "$total" ] && break
  page=$((page + 1))
done
