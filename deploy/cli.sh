#!/usr/bin/env bash
# Runs the perazzisync Cli with the settings deploy/run.sh gives the hosts: .env (written on the
# first run), and the database and broker run.sh started, with or without Docker.
#
#   deploy/cli.sh demo                                   # the POS path in a minute, no store needed
#   deploy/cli.sh hooks ensure --destination https://…   # subscribe the store
#   deploy/cli.sh hooks status                           # exit 0 only when all is well
#   deploy/cli.sh --help                                 # every verb
set -euo pipefail
cd "$(dirname "$0")/.."

. deploy/settings.sh
if [ -z "${ConnectionStrings__Postgres:-}" ] || [ -z "${ConnectionStrings__RabbitMq:-}" ]; then
  if with_docker; then
    # docker compose publishes both on loopback (docker-compose.yml).
    export ConnectionStrings__Postgres="Host=127.0.0.1;Port=5432;Username=postgres;Password=$(env_value POSTGRES_PASSWORD);Database=postgres"
    export ConnectionStrings__RabbitMq="amqp://perazzi:$(env_value RABBITMQ_PASSWORD)@127.0.0.1:5672/"
  else
    # Assigned first: `eval "$(…)"` would carry on with nothing when the services failed to start.
    services=$(deploy/services.sh start)
    eval "$services"
  fi
fi
export MASSTRANSIT_USAGE_TELEMETRY=false
dotnet build src/PerazziSync.Cli -c Release -nologo -v quiet >&2
exec dotnet src/PerazziSync.Cli/bin/Release/net10.0/perazzisync.dll "$@"
