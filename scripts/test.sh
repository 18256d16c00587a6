#!/usr/bin/env bash
# Run the test suite on a fresh machine: install what is missing (PostgreSQL, Redis, Debian's
# chromium for the browser tests, a Python 3.12 venv), start PostgreSQL and Redis on 127.0.0.1 with their data in a temporary directory,
# run pytest, and stop them again. Arguments are passed to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
source scripts/services.sh

ensure_venv test
ensure_chromium
start_services
export CRM_TEST_DATABASE_URL="$CRM_PG_URL/crm"
export CRM_TEST_REDIS_URL="$CRM_REDIS_URL"
.venv/bin/python -m pytest "$@"
