#!/usr/bin/env bash
# Run tests/saleor inside a real Saleor 3.23 that you installed by hand (see README).
# Needs SALEOR_VENV (a venv where `import saleor` works and this package is installed with
# `pip install -e .`) and DATABASE_URL (a PostgreSQL where the test database can be created).
set -euo pipefail
cd "$(dirname "$0")/.."
: "${SALEOR_VENV:?set SALEOR_VENV to the venv that has Saleor 3.23 installed}"
: "${DATABASE_URL:?set DATABASE_URL to a PostgreSQL server Saleor can use}"
export SECRET_KEY=${SECRET_KEY:-tests}
fixtures=(saleor.tests.fixtures saleor.app.tests.fixtures saleor.plugins.tests.fixtures
  saleor.graphql.tests.fixtures saleor.webhook.tests.fixtures saleor.tax.tests.fixtures
  saleor.channel.tests.fixtures saleor.page.tests.fixtures saleor.menu.tests.fixtures
  saleor.warehouse.tests.fixtures saleor.thumbnail.tests.fixtures saleor.order.tests.fixtures
  saleor.product.tests.fixtures saleor.site.tests.fixtures saleor.shipping.tests.fixtures
  saleor.permission.tests.fixtures saleor.giftcard.tests.fixtures saleor.discount.tests.fixtures
  saleor.checkout.tests.fixtures saleor.attribute.tests.fixtures saleor.account.tests.fixtures
  saleor.graphql.account.tests.fixtures saleor.payment.tests.fixtures
  saleor.webhook.tests.circuit_breaker.fixtures)
args=()
for module in "${fixtures[@]}"; do args+=(-p "$module"); done
exec "$SALEOR_VENV/bin/python" -m pytest tests/saleor --ds=tests.saleor.settings \
  -o addopts="-ra --reuse-db -p no:cacheprovider" "${args[@]}" "$@"
