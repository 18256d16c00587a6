#!/usr/bin/env bash
# The README's demo: the plugin on its sandbox store (SQLite under ./.saleor-crm/ by default).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
ensure_venv sandbox
exec .venv/bin/saleor-crm demo "$@"
