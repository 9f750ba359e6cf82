#!/usr/bin/env bash
# Runs the whole test suite against real PostgreSQL and RabbitMQ, twice: on databases prepared
# as Supabase prepares them (auth.users owned by GoTrue's role, the product not a superuser) and
# on plain PostgreSQL (the product's own bootstrap). PERAZZI_TEST_DATABASE=supabase or =plain runs
# only that one. When both run, what does not depend on how the database was prepared runs on the
# first only: the pure rules (no database), the fault-injection suite (faults of processes, the
# broker and the network, over writes the other projects prove on both), the hosts' start-up and
# deployment, telemetry, the classes of faults and memory bounds among the POS and operations
# tests (a database cut off or falling silent, a Cli killed mid-replay, a million bad lines, the
# broker's connection reset), the drop folder's handling of files, and the BigCommerce classes that
# use no database (the receiver alone, the fake store's requests). This keeps the whole run under
# half an hour on 2 cores.
# Uses ConnectionStrings__Postgres / ConnectionStrings__RabbitMq when both are set; otherwise,
# with a Docker engine the tests start containers themselves, and without one
# deploy/services.sh installs and starts both on loopback. Extra arguments go to `dotnet test`.
# Ends with the totals of the whole run on a line of their own: `N passed, N failed, N skipped`.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${ConnectionStrings__Postgres:-}" ] || [ -z "${ConnectionStrings__RabbitMq:-}" ]; then
  if command -v docker >/dev/null && docker info >/dev/null 2>&1; then
    echo "[test] Docker engine found: the tests start PostgreSQL and RabbitMQ with Testcontainers" >&2
  else
    # Without the services no test can run: say so and stop, rather than fail every test.
    if ! services=$(deploy/services.sh start); then
      echo "[test] PostgreSQL and RabbitMQ could not be started (see above); no test ran" >&2
      echo "0 passed, 0 failed"
      exit 1
    fi
    eval "$services"
  fi
fi
export MASSTRANSIT_USAGE_TELEMETRY=false
if ! command -v docker-compose >/dev/null; then
  # The deployment tests validate docker-compose.yml with it; it needs no Docker engine.
  echo "[test] installing docker-compose from the OS packages" >&2
  sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq >&2 && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose >&2 ||
    echo "[test] could not install docker-compose: the compose test will say so" >&2
fi

results=.test-results
rm -rf "$results"
status=0
dotnet build PerazziSync.sln -nologo -v quiet || status=$?
if [ "$status" -eq 0 ]; then
  for flavour in ${PERAZZI_TEST_DATABASE:-supabase plain}; do
    echo "[test] databases: $flavour" >&2
    # One result file per test project and flavour: default names carry only a timestamp and
    # two projects finishing in the same second would overwrite each other's.
    for project in tests/*.Tests/*.Tests.csproj; do
      name=$(basename "$project" .csproj)
      only=()
      if [ "$flavour" = plain ] && [ -z "${PERAZZI_TEST_DATABASE:-}" ]; then
        case $name in
          PerazziSync.Rules.Tests | PerazziSync.Reliability.Tests | PerazziSync.Hosts.Tests | PerazziSync.Observability.Tests) continue ;;
          PerazziSync.Pos.Tests | PerazziSync.Operations.Tests)
            only=(--filter "FullyQualifiedName!~.DatabaseOutageTests.&FullyQualifiedName!~.SilentDatabaseTests.&FullyQualifiedName!~.PosImportMemoryTests.&FullyQualifiedName!~.ReplayKillTests.&FullyQualifiedName!~.PosDropFolderTests.&FullyQualifiedName!~.BrokerConnectionLossTests.") ;;
          PerazziSync.BigCommerce.Tests)
            only=(--filter "FullyQualifiedName!~.BigCommerceWebhookTests.&FullyQualifiedName!~.BrokerOutageTests.&FullyQualifiedName!~.FakeStoreRequestTests.") ;;
        esac
      fi
      PERAZZI_TEST_DATABASE=$flavour dotnet test "$project" --no-build \
        --logger "trx;LogFileName=$name.$flavour.trx" --results-directory "$results" "${only[@]}" "$@" || status=$?
    done
  done
fi

counter() { # sums one attribute of the <Counters> element over every result file
  cat "$results"/*.trx 2>/dev/null | grep -o "<Counters [^>]*" | grep -o " $1=\"[0-9]*\"" | tr -dc '0-9\n' |
    awk '{ n += $1 } END { print n + 0 }'
}
passed=$(counter passed)
failed=$(( $(counter failed) + $(counter error) + $(counter timeout) + $(counter aborted) ))
skipped=$(counter notExecuted)
echo "$passed passed, $failed failed, $skipped skipped"
if [ "$status" -eq 0 ] && [ "$passed" -eq 0 ]; then
  echo "[test] no test ran" >&2
  exit 1
fi
exit "$status"
