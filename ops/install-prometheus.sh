#!/usr/bin/env bash
# Installs Prometheus and promtool (Debian package `prometheus`) when missing: the telemetry tests run the real
# `promtool check metrics|rules`, `promtool test rules` and start private Prometheus servers of their own.
# Idempotent and quiet; needs root (CI runs as root). A system Prometheus the package may start is stopped and
# disabled, so tests only ever talk to the instances they start.
set -euo pipefail

if command -v promtool >/dev/null 2>&1 && command -v prometheus >/dev/null 2>&1; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "install-prometheus: need root to apt-get install prometheus" >&2
  exit 1
fi

echo "install-prometheus: installing prometheus (with promtool)"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends prometheus >/dev/null

if command -v service >/dev/null 2>&1; then
  service prometheus stop >/dev/null 2>&1 || true
fi
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  systemctl disable --now prometheus >/dev/null 2>&1 || true
fi
