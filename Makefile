.PHONY: demo test lint schema messages bench

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

# The pages' words: update the catalogues (locale/*/LC_MESSAGES/django.po) from the code, then
# compile them (django.mo, committed). Needs GNU gettext (Debian: apt-get install gettext).
messages:
	cd saleor_crm_plugin && DJANGO_SETTINGS_MODULE=saleor_crm_plugin.sandbox.settings \
		../.venv/bin/django-admin makemessages --locale ja --no-obsolete --no-location --no-wrap \
		--ignore "sandbox/*" --ignore "migrations/*"
	cd saleor_crm_plugin && DJANGO_SETTINGS_MODULE=saleor_crm_plugin.sandbox.settings \
		../.venv/bin/django-admin compilemessages --locale ja

bench:
	bash scripts/bench.sh
