import json
from datetime import timedelta

import pytest

from saleor_crm_plugin.customers.ingest import ingest_orders
from saleor_crm_plugin.sandbox.models import SandboxOrder
from saleor_crm_plugin.segments.models import RuleSegment
from tests.factories import T0, order
from tests.graphql.conftest import make_user

pytestmark = pytest.mark.django_db

PREVIEW = """
query Preview($rule: JSONString!) {
  crmSegmentPreview(rule: $rule, first: 5) { customers sample { email orderCount } } }
"""
CREATE = """
mutation Create($name: String!, $rule: JSONString!) {
  crmSegmentCreate(input: {name: $name, rule: $rule}) {
    segment { id name customers rule } errors { field code message } } }
"""
REPEAT = {"field": "order_count", "op": "gte", "value": 2}


@pytest.fixture
def buyers(db):
    snapshots = [
        order(f"o{i}-{n}", email=f"c{i}@example.com", placed_at=T0 + timedelta(days=n))
        for i in range(3)
        for n in range(i + 1)
    ]
    for snapshot in snapshots:
        SandboxOrder.store(snapshot)
    ingest_orders(snapshots)


def test_preview_counts_and_samples(post, staff_user, buyers):
    # when
    response = post(PREVIEW, {"rule": json.dumps(REPEAT)}, token=staff_user.api_token)

    # then
    assert "errors" not in response
    preview = response["data"]["crmSegmentPreview"]
    assert preview["customers"] == 2
    assert sorted(c["email"] for c in preview["sample"]) == ["c1@example.com", "c2@example.com"]


def test_preview_of_a_bad_rule_names_the_path(post, staff_user, buyers):
    # given
    rule = {"all": [REPEAT, {"field": "r", "op": "gte", "value": 4}]}

    # when
    response = post(PREVIEW, {"rule": json.dumps(rule)}, token=staff_user.api_token)

    # then
    assert response["data"]["crmSegmentPreview"] is None
    assert response["errors"][0]["message"] == "rule.all[1].group: is required for r"
    assert response["errors"][0]["extensions"]["exception"]["field"] == "rule.all[1].group"


def test_staff_saves_a_segment(post, staff_user, buyers):
    # when
    response = post(
        CREATE, {"name": "Repeat buyers", "rule": json.dumps(REPEAT)}, token=staff_user.api_token
    )

    # then
    payload = response["data"]["crmSegmentCreate"]
    assert payload["errors"] == []
    assert payload["segment"]["name"] == "Repeat buyers"
    assert payload["segment"]["customers"] == 2
    assert json.loads(payload["segment"]["rule"]) == REPEAT
    assert RuleSegment.objects.get().rule == REPEAT


@pytest.mark.parametrize(
    ("name", "rule", "error"),
    [
        (
            "Bad",
            {"field": "order_count", "op": "gte", "value": "two"},
            {"field": "rule.value", "code": "INVALID", "message": "'two' is not a whole number"},
        ),
        ("  ", REPEAT, {"field": "name", "code": "REQUIRED", "message": "is required"}),
        (
            "Taken",
            REPEAT,
            {
                "field": "name",
                "code": "UNIQUE",
                "message": "a segment named 'Taken' exists already",
            },
        ),
    ],
    ids=["bad-rule", "no-name", "duplicate-name"],
)
def test_bad_segment_is_refused_and_nothing_is_saved(post, staff_user, buyers, name, rule, error):
    # given
    RuleSegment.objects.create(name="Taken", rule=REPEAT)

    # when
    response = post(CREATE, {"name": name, "rule": json.dumps(rule)}, token=staff_user.api_token)

    # then
    payload = response["data"]["crmSegmentCreate"]
    assert payload == {"segment": None, "errors": [error]}
    assert list(RuleSegment.objects.values_list("name", flat=True)) == ["Taken"]


def test_customer_cannot_save_segments(post, buyers):
    # given
    customer = make_user("c1@example.com")

    # when
    response = post(CREATE, {"name": "Mine", "rule": json.dumps(REPEAT)}, token=customer.api_token)

    # then
    assert response["data"]["crmSegmentCreate"] is None
    assert response["errors"][0]["extensions"]["exception"]["code"] == "PermissionDenied"
    assert not RuleSegment.objects.exists()


def test_segment_list_starts_with_the_built_in_ones(post, staff_user, buyers):
    # given
    RuleSegment.objects.create(name="VIP", rule=REPEAT, customers=2)

    # when
    response = post("{ crmSegments { id name builtIn customers } }", token=staff_user.api_token)

    # then
    segments = response["data"]["crmSegments"]
    assert [(s["name"], s["builtIn"], s["customers"]) for s in segments] == [
        ("First-time buyers", True, 1),
        ("Repeat buyers", True, 2),
        ("Dormant", True, 3),
        ("About to lapse", True, 0),
        ("VIP", False, 2),
    ]
    assert len({s["id"] for s in segments}) == 5
