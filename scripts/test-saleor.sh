#!/usr/bin/env bash
# Run tests/saleor inside a real Saleor 3.23 that you installed by hand (see README).
# Needs SALEOR_VENV (a venv where `import saleor` works and this package is installed with
# `pip install -e .`) and DATABASE_URL (a PostgreSQL where the test database can be created).
set -euo pipefail
cd "$(dirname "$0")/.."
: "${SALEOR_VENV:?set SALEOR_VENV to the venv that has Saleor 3.23 installed}"
: "${DATABASE_URL:?set DATABASE_URL to a PostgreSQL server Saleor can use}"
export SECRET_KEY=${SECRET_KEY:-tests}
exec "$SALEOR_VENV/bin/python" -m pytest tests/saleor --ds=tests.saleor.settings \
  -o addopts="-ra --reuse-db -p no:cacheprovider" "$@"
