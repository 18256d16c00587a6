from pathlib import Path

from saleor_crm_plugin.graphql.schema import schema

SDL = Path(__file__).parents[2] / "saleor_crm_plugin" / "graphql" / "schema.graphql"


def test_committed_sdl_matches_the_code():
    # when
    printed = str(schema).strip()

    # then
    assert printed == SDL.read_text().strip(), "the schema changed: run `make schema` and commit it"
