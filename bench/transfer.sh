#!/usr/bin/env bash
# Benchmark (not a test): on loopback against a fresh local server, the wall time of
# `cubeblob upload` of a 100 MiB file next to the same three steps done with curl
# (create, S3 POST form, complete), median of 5 each (BENCH_RUNS); the same for a download; and
# cubeblob's peak memory (max RSS) for 1 MiB and 100 MiB uploads and downloads.
#
#   bench/transfer.sh            (needs curl, jq and GNU time at /usr/bin/time)
#
# Targets (issue 4): upload within 10% of curl; peak memory under 30 MB and flat
# with file size. The curl figure counts only its three requests, not the JSON
# parsing in between, so it is curl's best case.
set -euo pipefail
cd "$(dirname "$0")/.."

for tool in curl jq awk; do
    command -v "$tool" >/dev/null || { echo "bench: needs $tool" >&2; exit 2; }
done
[ -x /usr/bin/time ] || { echo "bench: needs GNU time at /usr/bin/time" >&2; exit 2; }

RUNS=${BENCH_RUNS:-5}
BIG=104857600
SMALL=1048576

echo "building release..." >&2
cargo build --release --quiet
BIN=$PWD/target/release/cubeblob

WORK=$(mktemp -d)
SERVER=""
cleanup() {
    [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT

"$BIN" serve --listen 127.0.0.1:0 --data "$WORK/data" --user bench:bench-password \
    >"$WORK/serve.out" 2>"$WORK/serve.err" &
SERVER=$!
for _ in $(seq 100); do
    grep -q 'url=' "$WORK/serve.out" 2>/dev/null && break
    sleep 0.1
done
URL=$(sed -n 's/^url=\([^ ]*\).*/\1/p' "$WORK/serve.out")
[ -n "$URL" ] || { echo "bench: the server did not start" >&2; cat "$WORK/serve.err" >&2; exit 1; }

export CUBEBLOB_CONFIG_DIR="$WORK/config" CUBEBLOB_API_URL="$URL"
unset CUBEBLOB_TOKEN CUBEBLOB_JSON CUBEBLOB_PROGRESS
printf 'bench-password\n' | "$BIN" login --app-id 1 --auth-key local-auth-key \
    --login bench --password-stdin >/dev/null 2>&1

TOKEN=$(curl -sS -X POST "$URL/session" -H 'Content-Type: application/json' \
    -d '{"application_id":1,"auth_key":"local-auth-key","user":{"login":"bench","password":"bench-password"}}' |
    jq -r .session.token)

echo "writing test files..." >&2
head -c "$BIG" /dev/urandom >"$WORK/big.bin"
head -c "$SMALL" /dev/urandom >"$WORK/small.bin"

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
add() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a + b }'; }
median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
# Percent-decodes once; `+` stays `+`, as the contract wants.
urldecode() { local s=${1//%/\\x}; printf '%b' "$s"; }

cubeblob_upload() {
    local t0 t1
    t0=$(now)
    "$BIN" --progress none --json upload "$1" >"$WORK/last.json"
    t1=$(now)
    elapsed "$t0" "$t1"
}

curl_upload() {
    local file=$1 size t0 t1 t2 t3 created id params url query pair key value status
    size=$(stat -c %s "$file")
    t0=$(now)
    created=$(curl -sS -X POST "$URL/blobs" -H "CB-Token: $TOKEN" -H 'Content-Type: application/json' \
        -d "{\"blob\":{\"content_type\":\"application/octet-stream\",\"name\":\"$(basename "$file")\",\"public\":false}}")
    t1=$(now)
    id=$(jq -r .blob.id <<<"$created")
    params=$(jq -r .blob.blob_object_access.params <<<"$created")
    url=${params%%\?*}
    query=${params#*\?}
    local form=()
    IFS='&' read -ra pairs <<<"$query"
    for pair in "${pairs[@]}"; do
        key=$(urldecode "${pair%%=*}")
        value=$(urldecode "${pair#*=}")
        form+=(--form-string "$key=$value")
    done
    t2=$(now)
    # `Expect:` off: curl would otherwise wait for a 100 Continue before the body.
    status=$(curl -sS -o /dev/null -w '%{http_code}' -H 'Expect:' "${form[@]}" \
        -F "file=@$file;type=application/octet-stream" "$url")
    curl -sS -X PUT "$URL/blobs/$id/complete" -H "CB-Token: $TOKEN" \
        -H 'Content-Type: application/json' -d "{\"blob\":{\"size\":$size}}" >/dev/null
    t3=$(now)
    [ "$status" = 201 ] || { echo "bench: curl's S3 POST got $status" >&2; exit 1; }
    add "$(elapsed "$t0" "$t1")" "$(elapsed "$t2" "$t3")"
}

cubeblob_download() {
    local t0 t1
    rm -f "$WORK/down.bin"
    t0=$(now)
    "$BIN" --progress none download "$1" -o "$WORK/down.bin" >/dev/null
    t1=$(now)
    elapsed "$t0" "$t1"
}

curl_download() {
    local t0 t1
    rm -f "$WORK/down.bin"
    t0=$(now)
    curl -sS -L -H "CB-Token: $TOKEN" -o "$WORK/down.bin" "$URL/blobs/$1/download"
    t1=$(now)
    elapsed "$t0" "$t1"
}

# Max RSS in MB of one cubeblob run.
peak_mb() {
    /usr/bin/time -o "$WORK/rss" -f %M "$BIN" --progress none "$@" >/dev/null
    awk '{ printf "%.1f", $1 / 1024 }' "$WORK/rss"
}

echo "timing 100 MiB uploads ($RUNS each)..." >&2
cb_up=() curl_up=()
for _ in $(seq "$RUNS"); do
    cb_up+=("$(cubeblob_upload "$WORK/big.bin")")
    curl_up+=("$(curl_upload "$WORK/big.bin")")
done
UID_BIG=$(jq -r .uid "$WORK/last.json")

echo "timing 100 MiB downloads ($RUNS each)..." >&2
cb_down=() curl_down=()
for _ in $(seq "$RUNS"); do
    cb_down+=("$(cubeblob_download "$UID_BIG")")
    curl_down+=("$(curl_download "$UID_BIG")")
done
cmp -s "$WORK/big.bin" "$WORK/down.bin" || { echo "bench: the download differs" >&2; exit 1; }

echo "measuring peak memory..." >&2
"$BIN" --progress none --json upload "$WORK/small.bin" >"$WORK/small.json"
UID_SMALL=$(jq -r .uid "$WORK/small.json")
rss_up_small=$(peak_mb upload "$WORK/small.bin")
rss_up_big=$(peak_mb upload "$WORK/big.bin")
rss_down_small=$(peak_mb download --force "$UID_SMALL" -o "$WORK/down-small.bin")
rss_down_big=$(peak_mb download --force "$UID_BIG" -o "$WORK/down-big.bin")

m_cb_up=$(median "${cb_up[@]}")
m_curl_up=$(median "${curl_up[@]}")
m_cb_down=$(median "${cb_down[@]}")
m_curl_down=$(median "${curl_down[@]}")
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%+.0f%%", (a / b - 1) * 100 }'; }

echo
echo "100 MiB on loopback, median of $RUNS (seconds; runs in brackets)"
printf '  %-9s cubeblob %6s  curl %6s  (%s vs curl)   [cubeblob %s | curl %s]\n' \
    upload "$m_cb_up" "$m_curl_up" "$(ratio "$m_cb_up" "$m_curl_up")" "${cb_up[*]}" "${curl_up[*]}"
printf '  %-9s cubeblob %6s  curl %6s  (%s vs curl)   [cubeblob %s | curl %s]\n' \
    download "$m_cb_down" "$m_curl_down" "$(ratio "$m_cb_down" "$m_curl_down")" "${cb_down[*]}" "${curl_down[*]}"
echo
echo "cubeblob peak memory (max RSS, MB)"
printf '  %-9s 1 MiB %6s   100 MiB %6s\n' upload "$rss_up_small" "$rss_up_big"
printf '  %-9s 1 MiB %6s   100 MiB %6s\n' download "$rss_down_small" "$rss_down_big"
