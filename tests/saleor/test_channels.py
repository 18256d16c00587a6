"""The campaign channels' secret settings inside a real Saleor 3.23: Saleor's API masks them,
the plugin reads them whole."""

import pytest

pytest.importorskip("saleor", reason="needs a real Saleor 3.23 importable as `saleor`")

from saleor.graphql.tests.utils import get_graphql_content
from saleor.plugins.manager import get_plugins_manager

from saleor_crm_plugin.host.saleor import SaleorHost

pytestmark = [pytest.mark.saleor, pytest.mark.django_db]

SECRET = "whsec-0123456789abcdef"
TOKEN = "line-token/ABCDEFGH+ijkl="
PLUGIN_UPDATE = """
mutation($input: PluginUpdateInput!) {
  pluginUpdate(id: "saleor.crm", input: $input) {
    plugin { globalConfiguration { configuration { name value type } } }
    errors { field message code }
  }
}
"""
PLUGIN = """
{ plugin(id: "saleor.crm") { globalConfiguration { configuration { name value type } } } }
"""


def _fields(configuration) -> dict:
    return {
        item["name"]: (item["value"], item["type"])
        for item in configuration
        if item["name"]
        in ("webhook-secret", "webhook-url", "line-channel-access-token", "smtp-password")
    }


def test_secret_settings_are_masked_by_saleor_and_read_whole_by_the_plugin(
    crm_plugin, staff_api_client, permission_manage_plugins
):
    # given: staff save the secrets through Saleor's pluginUpdate (Dashboard's path)
    response = staff_api_client.post_graphql(
        PLUGIN_UPDATE,
        {
            "input": {
                "configuration": [
                    {"name": "webhook-secret", "value": SECRET},
                    {"name": "webhook-url", "value": "https://hooks.example.com/crm"},
                    {"name": "line-channel-access-token", "value": TOKEN},
                    {"name": "smtp-password", "value": "p4ss word"},
                ]
            }
        },
        permissions=[permission_manage_plugins],
    )
    data = get_graphql_content(response)["data"]["pluginUpdate"]
    assert data["errors"] == []

    # when: read back through Saleor's API
    queried = get_graphql_content(staff_api_client.post_graphql(PLUGIN))["data"]["plugin"][
        "globalConfiguration"
    ]["configuration"]

    # then: Saleor shows the last 4 characters of each secret, in the mutation and the query
    masked = {
        "webhook-secret": ("cdef", "SECRET"),
        "webhook-url": ("https://hooks.example.com/crm", "STRING"),
        "line-channel-access-token": ("jkl=", "SECRET"),
        "smtp-password": ("word", "SECRET"),
    }
    assert _fields(data["plugin"]["globalConfiguration"]["configuration"]) == masked
    assert _fields(queried) == masked

    # and the plugin, as Saleor builds it and as the tasks read it, has the real values
    plugin = get_plugins_manager(allow_replica=False).get_plugin("saleor.crm")
    for config in (plugin.crm_config, SaleorHost().config()):
        assert (config.webhook_secret, config.line_channel_access_token) == (SECRET, TOKEN)
        assert (config.smtp_password, config.webhook_url) == (
            "p4ss word",
            "https://hooks.example.com/crm",
        )


def test_a_webhook_url_without_a_secret_is_refused_with_the_field(
    crm_plugin, staff_api_client, permission_manage_plugins
):
    response = staff_api_client.post_graphql(
        PLUGIN_UPDATE,
        {"input": {"configuration": [{"name": "webhook-url", "value": "https://h.example/x"}]}},
        permissions=[permission_manage_plugins],
    )

    errors = get_graphql_content(response)["data"]["pluginUpdate"]["errors"]
    assert [(e["field"], e["message"]) for e in errors] == [
        (
            "webhook-url",
            "webhook-url: needs a webhook secret to sign the events: set webhook-secret first",
        )
    ]
