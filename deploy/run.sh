#!/usr/bin/env bash
# Runs the product: PostgreSQL, RabbitMQ, the schema migration, the receiver and the worker.
# With a Docker engine: docker compose (see docker-compose.yml). Without one: the services from
# deploy/services.sh, then the hosts as local processes until Ctrl+C. Settings: .env, written on
# the first run (deploy/settings.sh); without a store everything starts, BigCommerce waiting.
set -euo pipefail
cd "$(dirname "$0")/.."

. deploy/settings.sh
missing=()
for key in BigCommerce__WebhookSecret Pos__WebhookSecret; do
  [ -n "${!key:-}" ] || missing+=("$key")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "[run] set ${missing[*]} in .env (or the environment) and run again: the receiver checks callbacks with them." >&2
  exit 2
fi
if [ -z "${BigCommerce__StoreHash:-}" ] && [ -z "${BigCommerce__AccessToken:-}" ]; then
  echo "[run] no store yet: the POS side runs, the BigCommerce side waits for BigCommerce__StoreHash and BigCommerce__AccessToken in .env (README, \"Connect a store\"). Try it meanwhile: deploy/cli.sh demo" >&2
fi

if with_docker; then
  if [ -n "${Pos__DropFolder:-}" ]; then
    # The worker's container sees the drop folder as a bind mount, and must be able to move
    # files in it: it runs as this user (never as root) rather than the image's own.
    if [ "$(id -u)" = 0 ]; then chown 1654:1654 "$Pos__DropFolder"; else export PERAZZI_UID=$(id -u) PERAZZI_GID=$(id -g); fi
  fi
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
