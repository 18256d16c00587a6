# Shared by scripts/test.sh and scripts/bench.sh: install (if missing) and start PostgreSQL and
# Redis on 127.0.0.1 with their data in a temporary directory, stopped again on exit.
# Exports CRM_PG_URL (a server URL without a database name) and CRM_REDIS_URL.
# CRM_PG_OPTIONS adds server settings (`-c name=value ...`); bench.sh gives PostgreSQL the
# memory a production server would have.
# Debian's chromium, which the browser tests drive through Playwright (at /usr/bin/chromium).
ensure_chromium() {
  command -v chromium >/dev/null && return 0
  echo "installing chromium from Debian's packages"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
}

start_services() {
  local need_apt=() pg_bin
  pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  [ -n "$pg_bin" ] && [ -x "$pg_bin/initdb" ] || need_apt+=(postgresql)
  command -v redis-server >/dev/null || need_apt+=(redis-server)
  if [ ${#need_apt[@]} -gt 0 ]; then
    echo "installing ${need_apt[*]} from Debian's packages"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
    # The packages may start their own servers; ours run on their own ports and data.
    service postgresql stop >/dev/null 2>&1 || true
    service redis-server stop >/dev/null 2>&1 || true
    pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  fi

  CRM_RUN_DIR=$(mktemp -d /tmp/saleor-crm-run.XXXXXX)
  CRM_PG_BIN=$pg_bin
  local pg_port redis_port
  pg_port=$(_free_port "${CRM_PG_PORT:-54329}")
  redis_port=$(_free_port "${CRM_REDIS_PORT:-63799}")
  id -u postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
  chown postgres "$CRM_RUN_DIR"
  trap stop_services EXIT

  _as_pg "'$pg_bin/initdb' -D '$CRM_RUN_DIR/pg' -U crm --auth=trust -E UTF8 >/dev/null"
  _as_pg "'$pg_bin/pg_ctl' -D '$CRM_RUN_DIR/pg' -l '$CRM_RUN_DIR/pg.log' -w start \
    -o \"-p $pg_port -k '$CRM_RUN_DIR' -c listen_addresses=127.0.0.1 -c fsync=off \
         -c synchronous_commit=off -c full_page_writes=off ${CRM_PG_OPTIONS:-}\"" >/dev/null
  redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no \
    --daemonize yes --pidfile "$CRM_RUN_DIR/redis.pid" --dir "$CRM_RUN_DIR" >/dev/null
  export CRM_PG_PORT=$pg_port
  export CRM_PG_URL="postgres://crm@127.0.0.1:$pg_port"
  export CRM_REDIS_URL="redis://127.0.0.1:$redis_port/0"
}

# The first port from $1 on that nothing listens on (a developer may run servers of their own).
_free_port() {
  local port=$1
  while (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 1)); done
  echo "$port"
}

_as_pg() {
  if [ "$(id -u)" = 0 ]; then su postgres -s /bin/sh -c "$*"; else sh -c "$*"; fi
}

stop_services() {
  [ -n "${CRM_RUN_DIR:-}" ] || return 0
  _as_pg "'$CRM_PG_BIN/pg_ctl' -D '$CRM_RUN_DIR/pg' -m immediate stop" >/dev/null 2>&1 || true
  [ -f "$CRM_RUN_DIR/redis.pid" ] && kill "$(cat "$CRM_RUN_DIR/redis.pid")" 2>/dev/null || true
  rm -rf "$CRM_RUN_DIR"
}
