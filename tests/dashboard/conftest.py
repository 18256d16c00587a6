import json

import pytest

from tests.graphql.conftest import _sandbox_host, staff_user, staff_without_permission  # noqa: F401


@pytest.fixture
def post_json(client):
    def send(query, token):
        response = client.post(
            "/plugins/global/saleor.crm/graphql/",
            data=json.dumps({"query": query}),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {token}",
        )
        return response.json()

    return send
