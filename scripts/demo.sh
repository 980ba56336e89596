#!/usr/bin/env bash
# make demo: runbook 1 end to end on a local sandbox (see demo/main.go).
set -euo pipefail
cd "$(dirname "$0")/.."
exec go run ./demo -dbshift bin/dbshift "$@"
