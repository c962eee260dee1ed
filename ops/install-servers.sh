#!/usr/bin/env bash
# Installs the servers the integration tests start themselves (rabbitmq-server, redis-server) when they are
# missing. Idempotent and quiet; needs root (CI runs as root). Debian may start system instances on install;
# those are stopped and disabled so tests only ever talk to the private instances their fixtures start.
set -euo pipefail

missing=()
command -v rabbitmq-server >/dev/null 2>&1 || [ -x /usr/sbin/rabbitmq-server ] || missing+=(rabbitmq-server)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "install-servers: need root to apt-get install ${missing[*]}" >&2
  exit 1
fi

echo "install-servers: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

# Stop instances the packages may have started (only the system services, by their service names).
for service in rabbitmq-server redis-server; do
  if command -v service >/dev/null 2>&1; then
    service "$service" stop >/dev/null 2>&1 || true
  fi
  if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    systemctl disable --now "$service" >/dev/null 2>&1 || true
  fi
done
