#!/usr/bin/env bash
# Runs the product: PostgreSQL, RabbitMQ, the schema migration, the receiver and the worker.
# With a Docker engine: docker compose (see docker-compose.yml). Without one: the services from
# deploy/services.sh, then the hosts as local processes until Ctrl+C.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -f .env ]; then
  # This machine's settings; .env is not committed. Passwords and the webhook secret are
  # generated; the store and its API token must come from you.
  umask 077
  {
    echo "COMPOSE_PROJECT_NAME=perazzisync"
    echo "POSTGRES_PASSWORD=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')"
    echo "RABBITMQ_PASSWORD=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')"
    echo "# Your store's hash, and the access token of a store-level API account (Orders, Customers: read-only)."
    echo "BigCommerce__StoreHash="
    echo "BigCommerce__AccessToken="
    echo "# Standard Webhooks secret of your hooks: the base64 of your app's client secret."
    echo "BigCommerce__WebhookSecret=$(head -c 32 /dev/urandom | base64)"
    echo "# Standard Webhooks secret shared with the Perazzi POS (base64)."
    echo "Pos__WebhookSecret=$(head -c 32 /dev/urandom | base64)"
  } > .env
  echo "[run] wrote .env" >&2
fi
if ! grep -q '^GRAFANA_ADMIN_PASSWORD=' .env; then
  # Added by a later release: an older .env gets it too.
  echo "GRAFANA_ADMIN_PASSWORD=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')" >> .env
fi

# Settings from .env, unless the environment already has them.
while IFS= read -r line; do
  # Split at the first '=' only: base64 values end in '='.
  key=${line%%=*} value=${line#*=}
  case "$key" in
    BigCommerce__*|Receiver__*|Pos__*)
      if [ -z "${!key:-}" ] && [ -n "$value" ]; then export "$key=$value"; fi ;;
  esac
done < .env
missing=()
for key in BigCommerce__StoreHash BigCommerce__AccessToken BigCommerce__WebhookSecret Pos__WebhookSecret; do
  [ -n "${!key:-}" ] || missing+=("$key")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "[run] set ${missing[*]} in .env (or the environment) and run again: the hosts need your store and the webhook secrets." >&2
  exit 2
fi

if command -v docker >/dev/null && docker info >/dev/null 2>&1; then
  exec docker compose up --build
fi

services=$(deploy/services.sh start) || { echo "[run] PostgreSQL and RabbitMQ could not be started (see above)" >&2; exit 1; }
eval "$services"
export MASSTRANSIT_USAGE_TELEMETRY=false
dotnet build PerazziSync.sln -c Release -v quiet -nologo
bin=bin/Release/net10.0
dotnet "src/PerazziSync.Cli/$bin/perazzisync.dll" migrate

receiver_url=${RECEIVER_URLS:-http://127.0.0.1:8080}
worker_url=${WORKER_URLS:-http://127.0.0.1:8081}
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; wait' EXIT INT TERM
ASPNETCORE_URLS=$worker_url dotnet "src/PerazziSync.Worker/$bin/PerazziSync.Worker.dll" & pids+=($!)
ASPNETCORE_URLS=$receiver_url dotnet "src/PerazziSync.Receiver/$bin/PerazziSync.Receiver.dll" & pids+=($!)
echo "[run] receiver on $receiver_url, worker on $worker_url, RabbitMQ management UI on $PERAZZI_RABBIT_MGMT_URL (guest/guest). Ctrl+C stops the hosts; 'deploy/services.sh stop' stops PostgreSQL and RabbitMQ." >&2
wait -n
