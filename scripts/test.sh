#!/usr/bin/env bash
# Run the test suite on a fresh machine: install what is missing (PostgreSQL, Redis, a Python
# 3.12 venv), start PostgreSQL and Redis on 127.0.0.1 with their data in a temporary directory,
# run pytest, and stop them again. Arguments are passed to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh

need_apt=()
pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
[ -n "$pg_bin" ] && [ -x "$pg_bin/initdb" ] || need_apt+=(postgresql)
command -v redis-server >/dev/null || need_apt+=(redis-server)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "installing ${need_apt[*]} from Debian's packages"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
  # The packages start their own servers; the tests use their own, so stop those.
  service postgresql stop >/dev/null 2>&1 || true
  service redis-server stop >/dev/null 2>&1 || true
  pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
fi

ensure_venv test

run_dir=$(mktemp -d /tmp/saleor-crm-test.XXXXXX)
pg_port=${CRM_TEST_PG_PORT:-54329}
redis_port=${CRM_TEST_REDIS_PORT:-63799}
id -u postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
chown postgres "$run_dir"
as_pg() { if [ "$(id -u)" = 0 ]; then su postgres -s /bin/sh -c "$*"; else sh -c "$*"; fi; }

cleanup() {
  as_pg "'$pg_bin/pg_ctl' -D '$run_dir/pg' -m immediate stop" >/dev/null 2>&1 || true
  [ -f "$run_dir/redis.pid" ] && kill "$(cat "$run_dir/redis.pid")" 2>/dev/null || true
  rm -rf "$run_dir"
}
trap cleanup EXIT

as_pg "'$pg_bin/initdb' -D '$run_dir/pg' -U crm --auth=trust -E UTF8 >/dev/null"
as_pg "'$pg_bin/pg_ctl' -D '$run_dir/pg' -l '$run_dir/pg.log' -w start \
  -o \"-p $pg_port -k '$run_dir' -c listen_addresses=127.0.0.1 -c fsync=off \
       -c synchronous_commit=off -c full_page_writes=off\"" >/dev/null
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no \
  --daemonize yes --pidfile "$run_dir/redis.pid" --dir "$run_dir" >/dev/null

export CRM_TEST_DATABASE_URL="postgres://crm@127.0.0.1:$pg_port/crm"
export CRM_TEST_REDIS_URL="redis://127.0.0.1:$redis_port/0"
.venv/bin/python -m pytest "$@"
