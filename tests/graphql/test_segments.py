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
        CREATE, {"name": "Buyers again", "rule": json.dumps(REPEAT)}, token=staff_user.api_token
    )

    # then
    payload = response["data"]["crmSegmentCreate"]
    assert payload["errors"] == []
    assert payload["segment"]["name"] == "Buyers again"
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


UPDATE = """
mutation Update($id: ID!, $name: String!, $rule: JSONString!) {
  crmSegmentUpdate(id: $id, input: {name: $name, rule: $rule}) {
    segment { id name customers history { customers } } errors { field code message } } }
"""
DELETE = """
mutation Delete($id: ID!) { crmSegmentDelete(id: $id) { deletedId errors { field code message } } }
"""
MEMBERS = """
query($segment: String) {
  crmCustomers(first: 10, filter: {segment: $segment}, sortBy: {field: ORDER_COUNT, direction: DESC}) {
    totalCount edges { node { email orderCount } } } }
"""


def _create(post, staff_user, name, rule):
    response = post(CREATE, {"name": name, "rule": rule}, token=staff_user.api_token)
    return response["data"]["crmSegmentCreate"]["segment"]


def test_staff_updates_a_segment_and_its_history_follows(post, staff_user, buyers):
    # given: the rule can be given as a JSON object in the variables
    segment = _create(post, staff_user, "Regulars", REPEAT)

    # when
    response = post(
        UPDATE,
        {"id": segment["id"], "name": "Loyal regulars", "rule": {**REPEAT, "value": 3}},
        token=staff_user.api_token,
    )

    # then
    payload = response["data"]["crmSegmentUpdate"]
    assert payload["errors"] == []
    assert payload["segment"]["name"] == "Loyal regulars"
    assert payload["segment"]["customers"] == 1
    assert [p["customers"] for p in payload["segment"]["history"]] == [2, 1]
    assert RuleSegment.objects.get().rule == {**REPEAT, "value": 3}


@pytest.mark.parametrize(
    ("segment_id", "name", "rule", "error"),
    [
        (
            None,
            "Regulars",
            {"field": "order_count", "op": "gte"},
            {"field": "rule.value", "code": "INVALID", "message": "is required"},
        ),
        (
            None,
            "Dormant",
            REPEAT,
            {
                "field": "name",
                "code": "UNIQUE",
                "message": "'Dormant' is the name of a built-in segment",
            },
        ),
        (
            "Q1JNQnVpbHRJblNlZ21lbnQ6ZG9ybWFudA==",
            "Sleepers",
            REPEAT,
            {
                "field": "id",
                "code": "INVALID",
                "message": "built-in segments cannot be changed or deleted",
            },
        ),
        (
            "nonsense",
            "Sleepers",
            REPEAT,
            {"field": "id", "code": "INVALID", "message": "'nonsense' is not a saved segment"},
        ),
    ],
    ids=["bad-rule", "built-in-name", "built-in-id", "bad-id"],
)
def test_bad_update_changes_nothing(post, staff_user, buyers, segment_id, name, rule, error):
    # given
    segment = _create(post, staff_user, "Regulars", REPEAT)

    # when
    response = post(
        UPDATE,
        {"id": segment_id or segment["id"], "name": name, "rule": rule},
        token=staff_user.api_token,
    )

    # then
    assert response["data"]["crmSegmentUpdate"] == {"segment": None, "errors": [error]}
    saved = RuleSegment.objects.get()
    assert (saved.name, saved.rule, saved.sizes.count()) == ("Regulars", REPEAT, 1)


def test_staff_deletes_a_segment(post, staff_user, buyers):
    # given
    segment = _create(post, staff_user, "Regulars", REPEAT)

    # when
    deleted = post(DELETE, {"id": segment["id"]}, token=staff_user.api_token)
    again = post(DELETE, {"id": segment["id"]}, token=staff_user.api_token)

    # then
    assert deleted["data"]["crmSegmentDelete"] == {"deletedId": segment["id"], "errors": []}
    assert again["data"]["crmSegmentDelete"]["errors"][0]["field"] == "id"
    assert not RuleSegment.objects.exists()


def test_customer_cannot_update_or_delete(post, staff_user, buyers):
    # given
    segment = _create(post, staff_user, "Regulars", REPEAT)
    customer = make_user("c1@example.com")

    # when
    update = post(
        UPDATE, {"id": segment["id"], "name": "Mine", "rule": REPEAT}, token=customer.api_token
    )
    delete = post(DELETE, {"id": segment["id"]}, token=customer.api_token)

    # then
    for response in (update, delete):
        assert response["errors"][0]["extensions"]["exception"]["code"] == "PermissionDenied"
    assert RuleSegment.objects.get().name == "Regulars"


def test_members_of_a_saved_or_built_in_segment(post, staff_user, buyers):
    # given
    _create(post, staff_user, "Regulars", {**REPEAT, "value": 3})

    # when
    saved = post(MEMBERS, {"segment": "Regulars"}, token=staff_user.api_token)
    built_in = post(MEMBERS, {"segment": "Repeat buyers"}, token=staff_user.api_token)
    unknown = post(MEMBERS, {"segment": "Whales"}, token=staff_user.api_token)

    # then
    assert [e["node"]["email"] for e in saved["data"]["crmCustomers"]["edges"]] == [
        "c2@example.com"
    ]
    assert built_in["data"]["crmCustomers"]["totalCount"] == 2
    assert unknown["errors"][0]["extensions"]["exception"]["field"] == "filter.segment"
    assert unknown["errors"][0]["message"] == "filter.segment: there is no segment named 'Whales'"
