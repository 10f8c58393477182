#!/usr/bin/env bash
# Benchmarks cubeblob against a curl script and the ConnectyCube JS SDK, side by side,
# on the local server, and writes bench/RESULTS.md. Not a test: `.ci/run` does not run
# it (a smoke run, `BENCH_SMOKE=1 bench/run.sh`, takes about 10 seconds).
#
#   bench/run.sh                  the full run (under 15 minutes on 2 cores)
#   BENCH_SMOKE=1 bench/run.sh    tiny sizes, one run each; prints the report and
#                                 leaves bench/RESULTS.md alone
#
# Environment (all optional):
#   BENCH_RUNS           runs per tool and workload (default 5; smoke 1)
#   BENCH_STARTUP_RUNS   runs of each start-up command (default 30; smoke 3)
#   BENCH_BIG_BYTES      W1/W2 large file (default 104857600, the API's maximum)
#   BENCH_SMALL_BYTES    W1/W2 small file (default 1048576)
#   BENCH_W3_FILES       W3 file count (default 1000)
#   BENCH_W3_SEQ_FILES   files for the sequential curl loop in W3 (default 200)
#   BENCH_W4_BLOBS       blobs to list in W4 (default 10000)
#   BENCH_OUT            the report (default bench/RESULTS.md; smoke: a temp file)
#   BENCH_NO_BUILD=1     use target/release/cubeblob as it is
#
# Needs cargo, curl, jq, node and npm (for `connectycube` 6.1.2 into bench/node_modules,
# installed when missing), and python3 (the driver, bench/bench.py: standard library).
set -euo pipefail

BENCH=$(cd "$(dirname "$0")" && pwd)
REPO=$(dirname "$BENCH")
cd "$REPO"

say() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

for tool in cargo cc curl jq node npm python3; do
  if ! command -v "$tool" >/dev/null; then
    say "needs $tool on PATH (curl and jq: apt-get install -y curl jq)"
    exit 2
  fi
done

if [ "${BENCH_NO_BUILD:-}" != 1 ]; then
  say "building cubeblob (release)"
  cargo build --release --quiet
fi
BIN="$REPO/target/release/cubeblob"

if [ ! -f "$BENCH/node_modules/connectycube/package.json" ]; then
  say "installing connectycube 6.1.2 into bench/node_modules"
  npm ci --prefix "$BENCH" --no-audit --no-fund --loglevel=error
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/cubeblob-bench.XXXXXX")
SERVER_PID=
cleanup() {
  if [ -n "$SERVER_PID" ]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The measuring launcher (why: see spawn.c). cc is there wherever cargo can link.
cc -O2 -o "$WORK/spawn" "$BENCH/spawn.c"

# The server: a fresh data folder; alice for W1 to W3 and W5, lister for W4's blobs.
"$BIN" serve --listen 127.0.0.1:0 --data "$WORK/server" \
  --user alice:alice-password --user lister:lister-password \
  >"$WORK/serve.out" 2>"$WORK/serve.log" &
SERVER_PID=$!
URL=
for _ in $(seq 100); do
  URL=$(sed -n 's/^url=\([^ ]*\).*/\1/p' "$WORK/serve.out" | head -n 1)
  [ -n "$URL" ] && break
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    say "the server did not start:"; cat "$WORK/serve.log" >&2; exit 3
  fi
  sleep 0.1
done
if [ -z "$URL" ]; then
  say "the server printed no address in 10 s:"; cat "$WORK/serve.log" >&2; exit 3
fi
say "server at $URL, data in $WORK"

if [ -n "${BENCH_SMOKE:-}" ] && [ "${BENCH_SMOKE}" != 0 ]; then
  OUT=${BENCH_OUT:-$WORK/RESULTS.md}
else
  OUT=${BENCH_OUT:-$BENCH/RESULTS.md}
fi

BENCH_API=$URL BENCH_WORK=$WORK BENCH_BIN=$BIN BENCH_OUT=$OUT BENCH_SPAWN=$WORK/spawn \
  python3 "$BENCH/bench.py"
