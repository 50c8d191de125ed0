#!/usr/bin/env bash
# Writes web/openapi.json from the running code's API (drf-spectacular), in a throw-away home.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
scriptdeck="${SCRIPTDECK_BIN:-$here/../.venv/bin/scriptdeck}"
home="$(mktemp -d)"
trap 'rm -rf "$home"' EXIT
SCRIPTDECK_HOME="$home" "$scriptdeck" manage spectacular --format openapi-json \
  --file "$here/openapi.json" --validate
