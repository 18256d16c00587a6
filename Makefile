.PHONY: demo test lint schema bench

# Run the sandbox demo: a generated store history, the summary, and the GraphQL endpoint.
demo:
	bash scripts/demo.sh

# Install what the tests need (PostgreSQL, Redis, a Python 3.12 venv), start, test, stop.
test:
	bash scripts/test.sh

lint:
	.venv/bin/ruff check saleor_crm_plugin tests bench
	.venv/bin/ruff format --check saleor_crm_plugin tests bench

# Write the committed GraphQL SDL from the code.
schema:
	.venv/bin/saleor-crm schema > saleor_crm_plugin/graphql/schema.graphql

bench:
	bash scripts/bench.sh
