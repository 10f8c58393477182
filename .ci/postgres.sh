#!/usr/bin/env bash
# PostgreSQL for the server tests on `serve --database postgres://…` (issue 15): a
# private cluster from Debian's packages, in a temporary folder, on a loopback port,
# run as an unprivileged user (initdb refuses root); no system service.
#
# In a script:   source .ci/postgres.sh; postgres_start; trap postgres_stop EXIT
#                (exports CUBEBLOB_TEST_DATABASE_URL for the tests)
# By hand:       eval "$(.ci/postgres.sh start)"   ...   .ci/postgres.sh stop
#
# The tests that stop and restart the database under a server (tests/server_instances.rs)
# use pg_ctl with the folder and user in CUBEBLOB_TEST_POSTGRES_{DIR,USER,BIN}.

POSTGRES_PORT=${POSTGRES_PORT:-55432}
POSTGRES_DIR=${POSTGRES_DIR:-/tmp/cubeblob-postgres}
POSTGRES_USER_OS=${POSTGRES_USER_OS:-postgres}
POSTGRES_DB=cubeblob
# A test-only password for a cluster that listens on loopback alone.
POSTGRES_PASSWORD=cubeblob-test

postgres_bin() {
  local initdb
  initdb=$(ls -d /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n 1)
  [ -n "$initdb" ] && dirname "$initdb"
}

postgres_install() {
  if [ -z "$(postgres_bin)" ]; then
    # Debian's package would make (and start) a `main` cluster: the binaries are all
    # we want, so it is told not to.
    mkdir -p /etc/postgresql-common/createcluster.d
    echo "create_main_cluster = false" >/etc/postgresql-common/createcluster.d/cubeblob-ci.conf
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      postgresql >&2
  fi
  id -u "$POSTGRES_USER_OS" >/dev/null 2>&1 ||
    useradd --system --no-create-home --shell /usr/sbin/nologin "$POSTGRES_USER_OS"
}

# Runs a command as the cluster's user (as is, when that is who we are).
postgres_as() {
  if [ "$(id -un)" = "$POSTGRES_USER_OS" ]; then
    "$@"
  else
    runuser -u "$POSTGRES_USER_OS" -- "$@"
  fi
}

postgres_start() {
  postgres_install || { echo "postgres: install failed" >&2; return 1; }
  local bin
  bin=$(postgres_bin)
  postgres_stop
  rm -rf "$POSTGRES_DIR"
  mkdir -p "$POSTGRES_DIR"
  chown "$POSTGRES_USER_OS" "$POSTGRES_DIR"
  echo "$POSTGRES_PASSWORD" >"$POSTGRES_DIR/pwfile"
  chown "$POSTGRES_USER_OS" "$POSTGRES_DIR/pwfile"
  postgres_as "$bin/initdb" -D "$POSTGRES_DIR/data" -U cubeblob --pwfile="$POSTGRES_DIR/pwfile" \
    --auth=scram-sha-256 -E UTF8 --no-sync >"$POSTGRES_DIR/initdb.log" 2>&1 ||
    { cat "$POSTGRES_DIR/initdb.log" >&2; return 1; }
  # Sockets in our folder, TCP on loopback only; fsync off: test data, faster.
  postgres_as "$bin/pg_ctl" -D "$POSTGRES_DIR/data" -l "$POSTGRES_DIR/postgres.log" -w -t 60 \
    -o "-h 127.0.0.1 -p $POSTGRES_PORT -k $POSTGRES_DIR -c fsync=off -c max_connections=200" \
    start >&2 || { tail -n 40 "$POSTGRES_DIR/postgres.log" >&2; return 1; }
  PGPASSWORD=$POSTGRES_PASSWORD "$bin/psql" -q -h 127.0.0.1 -p "$POSTGRES_PORT" -U cubeblob \
    -d postgres -c "CREATE DATABASE $POSTGRES_DB" >&2 || return 1

  export CUBEBLOB_TEST_DATABASE_URL="postgres://cubeblob:$POSTGRES_PASSWORD@127.0.0.1:$POSTGRES_PORT/$POSTGRES_DB"
  export CUBEBLOB_TEST_POSTGRES_DIR=$POSTGRES_DIR
  export CUBEBLOB_TEST_POSTGRES_USER=$POSTGRES_USER_OS
  export CUBEBLOB_TEST_POSTGRES_BIN=$bin
  echo "postgres ready at 127.0.0.1:$POSTGRES_PORT (data in $POSTGRES_DIR)" >&2
}

# Only the cluster this script started, by its data folder.
postgres_stop() {
  local bin
  bin=$(postgres_bin)
  [ -n "$bin" ] && [ -f "$POSTGRES_DIR/data/postmaster.pid" ] || return 0
  postgres_as "$bin/pg_ctl" -D "$POSTGRES_DIR/data" -m fast -w -t 30 stop >&2 || true
}

# Run as a program: `start` prints the exports for `eval`, `stop` stops it.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  case "${1:-}" in
    start)
      postgres_start
      for var in CUBEBLOB_TEST_DATABASE_URL CUBEBLOB_TEST_POSTGRES_DIR \
        CUBEBLOB_TEST_POSTGRES_USER CUBEBLOB_TEST_POSTGRES_BIN; do
        echo "export $var=${!var}"
      done
      ;;
    stop) postgres_stop ;;
    *)
      echo "usage: $0 start|stop" >&2
      exit 2
      ;;
  esac
fi
