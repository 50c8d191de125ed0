#!/usr/bin/env bash
# Hello: a shell script that greets `name` (default "world") and echoes its parameters as JSON.
set -euo pipefail

json_string() {
    local s=$1
    s=${s//\\/\\\\}
    s=${s//\"/\\\"}
    s=${s//$'\n'/\\n}
    s=${s//$'\r'/\\r}
    s=${s//$'\t'/\\t}
    printf '"%s"' "$s"
}

script_name=${SCRIPT_NAME:-hello}
parameters=${SCRIPT_PARAMETERS:-}
# SCRIPT_PARAMETERS is a JSON object; anything else is replaced so the output stays JSON.
if [[ ! $parameters =~ ^[[:space:]]*\{.*\}[[:space:]]*$ ]]; then
    parameters='{}'
fi

name=world
if [[ $parameters =~ \"name\"[[:space:]]*:[[:space:]]*\"([^\"\\]*)\" ]]; then
    name=${BASH_REMATCH[1]}
fi

greeting="Hello, ${name}! (from ${script_name})"
echo "hello.sh: ${greeting}" >&2

# Only the JSON result goes to stdout.
printf '{"status": "success", "message": %s, "data": {"greeting": %s, "script_name": %s, "page_context": %s, "parameters": %s}}\n' \
    "$(json_string "$greeting")" "$(json_string "$greeting")" "$(json_string "$script_name")" \
    "$(json_string "${PAGE_CONTEXT:-}")" "$parameters"
