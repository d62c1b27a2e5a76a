#!/usr/bin/env bash
# Lints api/openapi.yaml with Redocly CLI (an npm devDependency, installed by scripts/deps.sh from
# the lockfile; runs offline). redocly.yaml makes every rule an error: a warning fails too, unless
# redocly.yaml turns its rule down and says why.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
cli=node_modules/@redocly/cli/bin/cli.js
[ -f "$cli" ] || { echo "lint-api: $cli is missing (scripts/deps.sh test installs it)" >&2; exit 1; }
echo "== lint api/openapi.yaml (redocly)"
out=$(REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true NO_UPDATE_NOTIFIER=1 \
      node "$cli" lint --config redocly.yaml --format=stylish api/openapi.yaml 2>&1) || { echo "$out" >&2; exit 1; }
if echo "$out" | grep -qE '^\s+[0-9]+:[0-9]+\s+(warning|error)'; then echo "$out" >&2; exit 1; fi
echo "api/openapi.yaml: no errors, no warnings"
