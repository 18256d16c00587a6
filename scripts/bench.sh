#!/usr/bin/env bash
# Run the benchmarks under bench/ on their own PostgreSQL and Redis (see bench/README.md).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
source scripts/services.sh

ensure_venv test
# A production-sized cache (the 1M-customer ledger is about 3 GB): with the default 128 MB
# the figures measure this machine's disk, not the queries.
export CRM_PG_OPTIONS=${CRM_PG_OPTIONS:--c shared_buffers=4GB -c work_mem=64MB -c effective_cache_size=8GB}
start_services
"$CRM_PG_BIN/createdb" -h 127.0.0.1 -p "$CRM_PG_PORT" -U crm crm_bench
export DATABASE_URL="$CRM_PG_URL/crm_bench"
export CELERY_BROKER_URL="$CRM_REDIS_URL"
# The first argument may name another benchmark script: bash scripts/bench.sh bench/rfm.py
script=bench/ingest.py
if [ "${1:-}" != "" ] && [ -f "$1" ]; then script=$1; shift; fi
.venv/bin/python "$script" "$@"
