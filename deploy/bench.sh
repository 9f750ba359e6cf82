#!/usr/bin/env bash
# Runs a benchmark against real PostgreSQL and RabbitMQ, found or started as deploy/test.sh does,
# with the product built in Release. Prints a Markdown table.
#   deploy/bench.sh all [--seconds 20] [--records 20000] [--rows 200000]   # everything, one summary table
#   deploy/bench.sh receiver [--seconds 60] [--rate 500] [--concurrency 32]
#   deploy/bench.sh worker [--orders 100] [--callbacks 1000] [--spread 10] [--quota 150] [--window 30]
#   deploy/bench.sh pos [--small 100000] [--rows 1000000]
#   deploy/bench.sh apply [--records 20000]
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${ConnectionStrings__Postgres:-}" ] || [ -z "${ConnectionStrings__RabbitMq:-}" ]; then
  if ! { command -v docker >/dev/null && docker info >/dev/null 2>&1; }; then
    eval "$(deploy/services.sh start)"
  fi
fi
export MASSTRANSIT_USAGE_TELEMETRY=false

dotnet build tests/PerazziSync.Benchmarks -c Release -nologo -v quiet >&2
exec dotnet tests/PerazziSync.Benchmarks/bin/Release/net10.0/PerazziSync.Benchmarks.dll "$@"
