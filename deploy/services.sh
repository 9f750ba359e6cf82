#!/usr/bin/env bash
# Starts PostgreSQL 15 and RabbitMQ for this checkout on a machine without a Docker engine:
# installs them from the OS packages when missing, keeps their data under .local/ (or
# $PERAZZI_STATE_DIR), binds them to 127.0.0.1 only, and waits until both answer.
#
#   eval "$(deploy/services.sh start)"   # start (or find running) and export the connection strings
#   deploy/services.sh stop              # stop both
#
# Running `start` twice is harmless: running services are reused. All progress goes to stderr;
# stdout carries only the `export` lines.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
state=${PERAZZI_STATE_DIR:-$repo/.local}
# The ports these services were last started on, kept with their data: a later shell without the
# PERAZZI_* variables (deploy/cli.sh, `stop`) reaches the same servers. A variable set now wins.
saved_port() { if [ -f "$state/ports" ]; then sed -n "s/^$1=//p" "$state/ports" | head -1; fi; }
pg_port=${PERAZZI_PG_PORT:-$(saved_port pg)}; pg_port=${pg_port:-55432}
amqp_port=${PERAZZI_AMQP_PORT:-$(saved_port amqp)}; amqp_port=${amqp_port:-55672}
mgmt_port=${PERAZZI_RABBIT_MGMT_PORT:-$(saved_port mgmt)}; mgmt_port=${mgmt_port:-55673}
dist_port=${PERAZZI_RABBIT_DIST_PORT:-$(saved_port dist)}; dist_port=${dist_port:-55674}
pg_bin=/usr/lib/postgresql/15/bin
rabbit_bin=/usr/lib/rabbitmq/bin
node=perazzisync-$amqp_port@localhost

log() { printf '[services] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    die "need root (or sudo) to run: $*"; fi
}

install_missing() {
  local want=()
  [ -x "$pg_bin/postgres" ] || want+=(postgresql-15)
  [ -x "$rabbit_bin/rabbitmq-server" ] || want+=(rabbitmq-server)
  [ ${#want[@]} -eq 0 ] && return
  log "installing ${want[*]} from the OS packages"
  as_root apt-get update -qq >&2
  # policy-rc.d keeps the packages from starting their own system-wide instances.
  as_root env DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 apt-get install -y -qq "${want[@]}" >&2
}

# PostgreSQL refuses to run as root, so as root it runs as the `postgres` user the package
# created. That user must be able to reach its data directory; a checkout under a private home
# directory is not reachable, and then the data lives under /var/tmp instead.
pg_user=""
[ "$(id -u)" = 0 ] && pg_user=postgres
pg_dir() {
  local dir=$state/postgres
  if [ -n "$pg_user" ]; then
    mkdir -p "$dir"
    if ! su postgres -s /bin/sh -c "test -x '$state'" 2>/dev/null; then
      local base; base=/var/tmp/perazzisync-$(printf '%s' "$repo" | cksum | cut -d' ' -f1)
      dir=$base/postgres
      mkdir -p "$dir"
      # Made under any umask: the postgres user must be able to pass through it.
      chmod 0711 "$base"
    fi
    chown postgres: "$dir"
  fi
  printf '%s' "$dir"
}

run_pg() {
  if [ -n "$pg_user" ]; then su "$pg_user" -s /bin/sh -c "$(printf '%q ' "$@")"; else "$@"; fi
}

pg_password() {
  local file=$state/postgres.password
  if [ ! -s "$file" ]; then
    (umask 077; head -c 24 /dev/urandom | base64 | tr -d '/+=' > "$file")
  fi
  cat "$file"
}

start_postgres() {
  local dir; dir=$(pg_dir)
  local password; password=$(pg_password)
  if [ ! -s "$dir/data/PG_VERSION" ]; then
    log "initialising PostgreSQL in $dir/data"
    local pwfile; pwfile=$(mktemp)
    printf '%s\n' "$password" > "$pwfile"
    [ -n "$pg_user" ] && chown "$pg_user" "$pwfile"
    run_pg "$pg_bin/initdb" -D "$dir/data" -U postgres --auth=scram-sha-256 --pwfile="$pwfile" \
      --encoding=UTF8 --locale=C.UTF-8 >&2
    rm -f "$pwfile"
  fi
  if run_pg "$pg_bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
    log "PostgreSQL already running on 127.0.0.1:$pg_port"
  else
    log "starting PostgreSQL on 127.0.0.1:$pg_port"
    run_pg "$pg_bin/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -p $pg_port -k $dir -c max_connections=300 -c fsync=${PERAZZI_PG_FSYNC:-on}" \
      start >&2 || { tail -20 "$dir/postgres.log" >&2; die "PostgreSQL did not start"; }
  fi
  for _ in $(seq 60); do
    "$pg_bin/pg_isready" -q -h 127.0.0.1 -p "$pg_port" && return
    sleep 1
  done
  die "PostgreSQL is not accepting connections on 127.0.0.1:$pg_port"
}

rabbit_env() {
  local dir=$state/rabbitmq
  export HOME=$dir/home RABBITMQ_NODENAME=$node RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 \
    RABBITMQ_NODE_PORT=$amqp_port RABBITMQ_DIST_PORT=$dist_port \
    RABBITMQ_MNESIA_BASE=$dir/mnesia RABBITMQ_LOG_BASE=$dir/log \
    RABBITMQ_ENABLED_PLUGINS_FILE=$dir/enabled_plugins RABBITMQ_CONFIG_FILE=$dir/rabbitmq \
    RABBITMQ_ADVANCED_CONFIG_FILE=$dir/advanced.config RABBITMQ_CONF_ENV_FILE=$dir/rabbitmq-env.conf \
    ERL_EPMD_ADDRESS=127.0.0.1
  # The node's distribution port (RABBITMQ_DIST_PORT) on loopback too, not on every interface.
  export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
}

start_rabbitmq() {
  local dir=$state/rabbitmq
  mkdir -p "$dir/home" "$dir/log"
  [ -f "$dir/enabled_plugins" ] || echo '[rabbitmq_management].' > "$dir/enabled_plugins"
  cat > "$dir/rabbitmq.conf" <<CONF
listeners.tcp.default = 127.0.0.1:$amqp_port
management.tcp.ip = 127.0.0.1
management.tcp.port = $mgmt_port
# Queue counts in the management API refreshed every second rather than every 5 s.
collect_statistics_interval = 1000
CONF
  : > "$dir/rabbitmq-env.conf"
  [ -f "$dir/advanced.config" ] || echo '[].' > "$dir/advanced.config"
  rabbit_env
  if "$rabbit_bin/rabbitmqctl" -q ping >/dev/null 2>&1; then
    log "RabbitMQ already running on 127.0.0.1:$amqp_port"
  else
    log "starting RabbitMQ on 127.0.0.1:$amqp_port (management UI on 127.0.0.1:$mgmt_port)"
    nohup "$rabbit_bin/rabbitmq-server" > "$dir/log/server.out" 2>&1 &
  fi
  for _ in $(seq 120); do
    "$rabbit_bin/rabbitmq-diagnostics" -q check_port_connectivity >/dev/null 2>&1 && return
    sleep 1
  done
  tail -30 "$dir/log/server.out" >&2 || true
  die "RabbitMQ is not accepting connections on 127.0.0.1:$amqp_port"
}

stop_all() {
  local dir; dir=$(pg_dir)
  if [ -s "$dir/data/PG_VERSION" ]; then run_pg "$pg_bin/pg_ctl" -D "$dir/data" -m fast stop >&2 || true; fi
  rabbit_env
  "$rabbit_bin/rabbitmqctl" -q stop >&2 2>/dev/null || true
  log "stopped"
}

case "${1:-start}" in
  start)
    mkdir -p "$state"
    printf 'pg=%s\namqp=%s\nmgmt=%s\ndist=%s\n' "$pg_port" "$amqp_port" "$mgmt_port" "$dist_port" > "$state/ports"
    install_missing
    start_postgres
    start_rabbitmq
    printf "export ConnectionStrings__Postgres='Host=127.0.0.1;Port=%s;Username=postgres;Password=%s;Database=postgres'\n" \
      "$pg_port" "$(pg_password)"
    printf "export ConnectionStrings__RabbitMq='amqp://guest:guest@127.0.0.1:%s/'\n" "$amqp_port"
    printf "export PERAZZI_RABBIT_MGMT_URL='http://127.0.0.1:%s/'\n" "$mgmt_port"
    ;;
  stop) stop_all ;;
  *) die "usage: $0 start|stop" ;;
esac
