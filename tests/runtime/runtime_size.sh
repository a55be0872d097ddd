#!/usr/bin/env bash
# Prints the stripped size of the shared runtime and fails above the budget.
#   runtime_size.sh LIB BUDGET_BYTES
set -euo pipefail
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
strip -o "$tmp" "$1"
size=$(stat -c %s "$tmp")
echo "stripped $(basename "$1"): $size bytes (budget $2)"
[ "$size" -le "$2" ]
