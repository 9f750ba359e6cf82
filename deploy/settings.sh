# Sourced by deploy/run.sh and deploy/cli.sh: this machine's settings, from .env (not committed),
# written on the first run with generated passwords and secrets. Settings already in the
# environment win over .env. The store is left empty: without it the product runs its POS side
# and waits for a store (README, "Connect a store").

if [ ! -f .env ]; then
  # Only .env is private: in a subshell, so that this file, sourced, leaves the caller's umask
  # alone (with 077 the services' state directory under .local/ is closed to PostgreSQL's user).
  (umask 077
  {
    echo "COMPOSE_PROJECT_NAME=perazzisync"
    echo "POSTGRES_PASSWORD=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')"
    echo "RABBITMQ_PASSWORD=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')"
    echo "# Your store's hash, and the access token of a store-level API account (Orders, Customers: read-only)."
    echo "# Empty: the product runs without a store, its BigCommerce side waiting for one."
    echo "BigCommerce__StoreHash="
    echo "BigCommerce__AccessToken="
    echo "# Standard Webhooks secret of your hooks: the base64 of your app's client secret."
    echo "BigCommerce__WebhookSecret=$(head -c 32 /dev/urandom | base64)"
    echo "# Standard Webhooks secret shared with the Perazzi POS (base64)."
    echo "Pos__WebhookSecret=$(head -c 32 /dev/urandom | base64)"
  } > .env)
  echo "[settings] wrote .env" >&2
fi
# Added by later releases: an older .env gets them too.
if ! grep -q '^GRAFANA_ADMIN_PASSWORD=' .env; then
  echo "GRAFANA_ADMIN_PASSWORD=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')" >> .env
fi
if ! grep -q '^Pos__DropFolder=' .env; then
  echo "# Folder the worker polls for POS exports (perazzisync demo drops one there)." >> .env
  echo "Pos__DropFolder=${PERAZZI_STATE_DIR:-$PWD/.local}/pos-drop" >> .env
fi
if ! grep -q '^RECEIVER_URLS=' .env; then
  echo "# Where the receiver listens without Docker (and where perazzisync demo sends its callbacks)." >> .env
  echo "RECEIVER_URLS=${RECEIVER_URLS:-http://127.0.0.1:8080}" >> .env
fi

if [ -n "${WORKER_URLS:-}" ] && ! grep -q '^WORKER_URLS=' .env; then
  echo "WORKER_URLS=$WORKER_URLS" >> .env
fi

# Every setting of the product's hosts and Cli in .env (README, "Configuration"), but the
# connection strings, which deploy/services.sh gives; the compose passwords stay unexported.
while IFS= read -r line; do
  # Split at the first '=' only: base64 values end in '='.
  key=${line%%=*} value=${line#*=}
  case "$key" in
    ConnectionStrings__*|*[!A-Za-z0-9_]*|'') ;;
    *__*|OTEL_*|RECEIVER_URLS|WORKER_URLS)
      if [ -z "${!key:-}" ] && [ -n "$value" ]; then export "$key=$value"; fi ;;
  esac
done < .env
[ -z "${Pos__DropFolder:-}" ] || mkdir -p "$Pos__DropFolder"

# The docker compose path, as deploy/run.sh chooses it.
with_docker() { command -v docker >/dev/null && docker info >/dev/null 2>&1; }

# A value of .env that is not exported (the compose passwords).
env_value() { sed -n "s/^$1=//p" .env | head -1; }
