#!/usr/bin/env bash
# Benchmarks cubeblob against a curl script and the ConnectyCube JS SDK, side by side,
# on the local server, and writes bench/RESULTS.md. Not a test: `.ci/run` does not run
# it (a smoke run, `BENCH_SMOKE=1 bench/run.sh`, takes about 30 seconds).
#
#   bench/run.sh                  the full run (about 15 minutes on 2 cores)
#   BENCH_SMOKE=1 bench/run.sh    tiny sizes, one run each; prints the report and
#                                 leaves bench/RESULTS.md alone
#   BENCH_ONLY=W6,W8 bench/run.sh only these workloads (W1 to W9, COPY); prints the
#                                 report and leaves bench/RESULTS.md alone (unless
#                                 BENCH_OUT names it)
#
# Environment (all optional):
#   BENCH_RUNS           runs per tool and workload (default 5; smoke 1)
#   BENCH_STARTUP_RUNS   runs of each start-up command (default 30; smoke 3)
#   BENCH_BIG_BYTES      W1/W2 large file, and COPY's blob (default 104857600, the API's maximum)
#   BENCH_SMALL_BYTES    W1/W2 small file (default 1048576)
#   BENCH_W3_FILES       W3 file count (default 1000)
#   BENCH_W3_SEQ_FILES   files for the sequential curl loop in W3 (default 200)
#   BENCH_W4_BLOBS       blobs to list in W4 (default 10000)
#   BENCH_W6_FILES       W6 blobs to download (default 1000)
#   BENCH_W6_SEQ_FILES   blobs for the sequential curl loop in W6 (default 200)
#   BENCH_W7_FILES       W7 files to sync (default 1000)
#   BENCH_W7_SEQ_FILES   files the sequential curl loop re-uploads in W7 (default 200)
#   BENCH_W8_BLOBS       W8 blobs to list, seeded at the server's start (default 100000)
#   BENCH_W8_RUNS        runs per tool in W8 (default 3, or BENCH_RUNS if fewer)
#   BENCH_W9_FILES       W9 uploads (default 1000)
#   BENCH_NO_POSTGRES=1  skip W9 (skipped anyway, with a note, without PostgreSQL's binaries)
#   BENCH_OUT            the report (default bench/RESULTS.md; smoke, BENCH_ONLY: a temp file)
#   BENCH_NO_BUILD=1     use target/release/cubeblob as it is
#   BENCH_BIN            measure this cubeblob binary instead (no build)
#
# Needs cargo, curl, jq, node and npm (for `connectycube` 6.1.2 into bench/node_modules,
# installed when missing), and python3 (the driver, bench/bench.py: standard library).
# W9 needs PostgreSQL's server binaries (Debian's `postgresql` package): a private
# cluster on a free loopback port in a temporary folder, through .ci/postgres.sh.
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

if [ -n "${BENCH_BIN:-}" ]; then
  BIN=$(realpath "$BENCH_BIN")
else
  if [ "${BENCH_NO_BUILD:-}" != 1 ]; then
    say "building cubeblob (release)"
    cargo build --release --quiet
  fi
  BIN="$REPO/target/release/cubeblob"
fi

if [ ! -f "$BENCH/node_modules/connectycube/package.json" ]; then
  say "installing connectycube 6.1.2 into bench/node_modules"
  npm ci --prefix "$BENCH" --no-audit --no-fund --loglevel=error
fi

smoke() { [ -n "${BENCH_SMOKE:-}" ] && [ "${BENCH_SMOKE}" != 0 ]; }
only() { [ -z "${BENCH_ONLY:-}" ] || [[ ",${BENCH_ONLY^^}," == *",$1,"* ]]; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/cubeblob-bench.XXXXXX")
SERVER_PIDS=()
PG_STARTED=
cleanup() {
  for pid in "${SERVER_PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  if [ -n "$PG_STARTED" ]; then
    postgres_stop 2>/dev/null || true
    rm -rf "$POSTGRES_DIR"
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The measuring launcher (why: see spawn.c). cc is there wherever cargo can link.
cc -O2 -o "$WORK/spawn" "$BENCH/spawn.c"

# Starts `cubeblob serve NAME ARGS...` with a data folder of its own and sets URL to
# its address, once it prints its start line.
start_server() {
  local name=$1
  shift
  "$BIN" serve --listen 127.0.0.1:0 --data "$WORK/server-$name" "$@" \
    >"$WORK/serve-$name.out" 2>"$WORK/serve-$name.log" &
  local pid=$!
  SERVER_PIDS+=("$pid")
  URL=
  for _ in $(seq 600); do
    URL=$(sed -n 's/^url=\([^ ]*\).*/\1/p' "$WORK/serve-$name.out" | head -n 1)
    [ -n "$URL" ] && return 0
    if ! kill -0 "$pid" 2>/dev/null; then
      say "the server $name did not start:"; cat "$WORK/serve-$name.log" >&2; exit 3
    fi
    sleep 0.1
  done
  say "the server $name printed no address in 60 s:"; cat "$WORK/serve-$name.log" >&2; exit 3
}

# The users, one per workload that needs a collection of its own (see bench.py); all
# with the password `LOGIN-password`.
USERS=(alice lister fetcher syncer reuploader many target w9)
USER_ARGS=()
for login in "${USERS[@]}"; do USER_ARGS+=(--user "$login:$login-password"); done

# W8's blobs, seeded straight into the database at start (`serve --seed-blobs`, a
# hidden test aid): uploading 100,000 would take minutes.
if smoke; then W8_DEFAULT=2000; else W8_DEFAULT=100000; fi
W8_BLOBS=${BENCH_W8_BLOBS:-$W8_DEFAULT}
SEED=()
only W8 && SEED=(--seed-blobs "$W8_BLOBS:many")

# The server: a fresh data folder, SQLite.
t0=$(date +%s.%N)
start_server main "${USER_ARGS[@]}" "${SEED[@]}"
API_URL=$URL
say "server at $API_URL, data in $WORK ($(python3 -c "print(f'{$(date +%s.%N) - $t0:.1f}')") s to start${SEED:+, $W8_BLOBS blobs seeded})"

# W9: two more instances on one PostgreSQL database (a private cluster), each with a
# data folder (its files) of its own.
PG_URLS=
PG_SKIP=
if ! only W9; then
  PG_SKIP="not selected"
elif [ "${BENCH_NO_POSTGRES:-}" = 1 ]; then
  PG_SKIP="BENCH_NO_POSTGRES=1"
else
  POSTGRES_DIR=$(mktemp -u "${TMPDIR:-/tmp}/cubeblob-bench-pg.XXXXXX")
  POSTGRES_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  # shellcheck source=../.ci/postgres.sh
  source "$REPO/.ci/postgres.sh"
  if [ -z "$(postgres_bin)" ]; then
    PG_SKIP="PostgreSQL's binaries are missing (apt-get install postgresql)"
  else
    PG_STARTED=1
    say "starting PostgreSQL on 127.0.0.1:$POSTGRES_PORT"
    if postgres_start >"$WORK/postgres-start.log" 2>&1; then
      for instance in a b; do
        start_server "pg-$instance" --user w9:w9-password --database "$CUBEBLOB_TEST_DATABASE_URL"
        PG_URLS="$PG_URLS $URL"
      done
      say "two instances on PostgreSQL at$PG_URLS"
    else
      PG_SKIP="PostgreSQL did not start (see the log below)"
      cat "$WORK/postgres-start.log" >&2
    fi
  fi
fi

if smoke || [ -n "${BENCH_ONLY:-}" ]; then
  OUT=${BENCH_OUT:-$WORK/RESULTS.md}
else
  OUT=${BENCH_OUT:-$BENCH/RESULTS.md}
fi

BENCH_API=$API_URL BENCH_WORK=$WORK BENCH_BIN=$BIN BENCH_OUT=$OUT BENCH_SPAWN=$WORK/spawn \
  BENCH_W8_BLOBS=$W8_BLOBS BENCH_PG_URLS=$PG_URLS BENCH_PG_SKIP=$PG_SKIP \
  PYTHONDONTWRITEBYTECODE=1 python3 "$BENCH/bench.py"
