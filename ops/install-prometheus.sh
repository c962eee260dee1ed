#!/usr/bin/env bash
# Installs promtool (Debian package `prometheus`) for the tests that check rules and PromQL. Idempotent;
# needs root. Debian starts a system prometheus on install; it is stopped and disabled (tests only use promtool).
set -euo pipefail
if command -v promtool >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-prometheus: need root to apt-get install prometheus (for promtool)" >&2
  exit 1
fi
echo "install-prometheus: installing prometheus (promtool)"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends prometheus >/dev/null
if command -v service >/dev/null 2>&1; then
  service prometheus stop >/dev/null 2>&1 || true
fi
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  systemctl disable --now prometheus >/dev/null 2>&1 || true
fi
