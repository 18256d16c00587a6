from pathlib import Path

from saleor_crm_plugin.graphql.schema import schema

SDL = Path(__file__).parents[2] / "saleor_crm_plugin" / "graphql" / "schema.graphql"


def test_committed_sdl_matches_the_code():
    # when
    printed = str(schema).strip()

    # then
    assert printed == SDL.read_text().strip(), "the schema changed: run `make schema` and commit it"


def test_every_audit_action_has_its_enum_value_and_dashboard_label():
    from saleor_crm_plugin.audit.models import AuditEvent
    from saleor_crm_plugin.dashboard.text import MESSAGES
    from saleor_crm_plugin.graphql.loyalty.enums import CRMAuditAction

    values = {member.value for member in CRMAuditAction._meta.enum}
    assert values == set(AuditEvent.ACTIONS)
    assert {name for name in MESSAGES if name.startswith("action_")} == {
        f"action_{member.name}" for member in CRMAuditAction._meta.enum
    }
