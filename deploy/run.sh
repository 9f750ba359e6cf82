#!/usr/bin/env bash
# Runs the product: PostgreSQL, RabbitMQ, the schema migration, the receiver and the worker.
# With a Docker engine: docker compose (see docker-compose.yml). Without one: the services from
# deploy/services.sh, then the hosts as local processes until Ctrl+C.
set -euo pipefail
cd "$(dirname "$0")/.."

if command -v docker >/dev/null && docker info >/dev/null 2>&1; then
  if [ ! -f .env ]; then
    # Passwords for this machine's containers; .env is not committed.
    umask 077
    printf 'COMPOSE_PROJECT_NAME=perazzisync\nPOSTGRES_PASSWORD=%s\nRABBITMQ_PASSWORD=%s\n' \
      "$(head -c 24 /dev/urandom | base64 | tr -d '/+=')" "$(head -c 24 /dev/urandom | base64 | tr -d '/+=')" > .env
  fi
  exec docker compose up --build
fi

eval "$(deploy/services.sh start)"
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
