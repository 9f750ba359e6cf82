#!/usr/bin/env bash
# Runs the benchmarks against real PostgreSQL and RabbitMQ, found or started as deploy/test.sh does,
# with the product built in Release, and prints a Markdown report: each figure of the product next
# to its raw reference measured in the same rounds, its target and whether it was met, headed by
# the machine it ran on and followed by what each reference does and does not do.
#
#   deploy/bench.sh all               # every benchmark, 3 rounds: over half an hour on 2 cores.
#                                     # Also writes docs/benchmarks.md and the README's copy of it.
#   deploy/bench.sh all --quick       # development sizes, a few minutes; writes nothing
#   deploy/bench.sh receiver|apply|pos|worker [--quick] [--rounds N] [options]   # one benchmark
#   deploy/bench.sh help              # every option, with its full and quick default
#
# Exit status: 0 every target met; 1 a target missed (the report says which); 2 a wrong command
# line; 3 the run failed (a wait timed out, a step did not do its work) and nothing is reported.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${ConnectionStrings__Postgres:-}" ] || [ -z "${ConnectionStrings__RabbitMq:-}" ]; then
  if ! { command -v docker >/dev/null && docker info >/dev/null 2>&1; }; then
    # Assigned first: `eval "$(…)"` would carry on with nothing when the services failed to start.
    services=$(deploy/services.sh start)
    eval "$services"
  fi
fi

export MASSTRANSIT_USAGE_TELEMETRY=false
export PERAZZI_BENCH_SCRIPT=deploy/bench.sh

dotnet build tests/PerazziSync.Benchmarks -c Release -nologo -v quiet >&2
exec dotnet tests/PerazziSync.Benchmarks/bin/Release/net10.0/PerazziSync.Benchmarks.dll "$@"
