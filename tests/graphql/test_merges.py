"""Duplicate candidates, merge, unmerge and the merge history through our GraphQL endpoint."""

import base64
import json
from datetime import timedelta

import pytest
from django.utils import timezone

from saleor_crm_plugin.customers.merge_models import DuplicateCandidate, ProfileMerge
from saleor_crm_plugin.customers.models import CustomerProfile, OrderRecord
from saleor_crm_plugin.sandbox.models import SandboxOrder
from saleor_crm_plugin.tasks import find_duplicates_task, ingest_orders_task
from tests.factories import order
from tests.graphql.conftest import make_user

pytestmark = pytest.mark.django_db

SIDE = "customerId userId email isGuest orders spend { currency amount } points rank"
CANDIDATES = f"""{{ crmDuplicateCandidates(first: 10) {{ totalCount edges {{ node {{
  evidence customer {{ {SIDE} }} other {{ {SIDE} }} }} }} }} }}"""
MERGE = f"""mutation M($customerId: ID!, $into: ID!, $evidence: [CRMDuplicateEvidence!]) {{
  crmCustomerMerge(customerId: $customerId, intoCustomerId: $into, reason: "one person",
                   evidence: $evidence) {{
    merge {{ id inForce evidence reason moved absorbed {{ {SIDE} }} survivor {{ {SIDE} }} }}
    errors {{ field message code }}
  }}
}}"""
UNMERGE = f"""mutation U($mergeId: ID!) {{
  crmCustomerUnmerge(mergeId: $mergeId) {{
    merge {{ inForce unmergedBy returned absorbed {{ {SIDE} }} survivor {{ {SIDE} }} }}
    errors {{ field message code }}
  }}
}}"""
HISTORY = """query H($customerId: ID) { crmCustomerMerges(first: 10, customerId: $customerId) {
  totalCount edges { node { inForce mergedBy absorbed { isGuest } survivor { isGuest } } } } }"""


@pytest.fixture
def hanako(db):
    """Hanako's account (one order) and her guest order under the address typed with dots."""
    user = make_user("hanakosato@gmail.com")
    yesterday = timezone.now() - timedelta(days=1)
    SandboxOrder.store(
        order("a1", user_id=str(user.pk), email=user.email, total="3000", placed_at=yesterday)
    )
    SandboxOrder.store(
        order("g1", email="Hanako.Sato+shop@gmail.com", total="2000", placed_at=yesterday)
    )
    ingest_orders_task.delay(["a1", "g1"]).get()
    return user


def test_staff_find_merge_and_unmerge_a_guest_and_an_account(post, staff_user, hanako):
    # given
    report = find_duplicates_task.delay().get()
    account = CustomerProfile.objects.get(user_id=str(hanako.pk))
    guest = CustomerProfile.objects.get(user_id__isnull=True)
    # when
    listed = post(CANDIDATES, token=staff_user.api_token)
    # then
    assert report["pairs"] == 1
    assert "errors" not in listed
    page = listed["data"]["crmDuplicateCandidates"]
    assert page["totalCount"] == 1
    pair = page["edges"][0]["node"]
    assert pair["evidence"] == ["EMAIL"]
    sides = {side["isGuest"]: side for side in (pair["customer"], pair["other"])}
    assert sides[False]["email"] == "hanakosato@gmail.com"
    assert sides[False]["orders"] == 1
    assert sides[True]["email"] == "hanako.sato+shop@gmail.com"  # as the store keeps it
    assert sides[True]["spend"] == [{"currency": "JPY", "amount": "2000"}]
    # when: staff merge the guest into the account
    merged = post(
        MERGE,
        {
            "customerId": sides[True]["customerId"],
            "into": sides[False]["customerId"],
            "evidence": ["EMAIL"],
        },
        token=staff_user.api_token,
    )["data"]["crmCustomerMerge"]
    # then
    assert merged["errors"] == []
    assert merged["merge"]["inForce"] is True
    assert merged["merge"]["evidence"] == ["EMAIL"]
    assert merged["merge"]["survivor"]["orders"] == 2
    assert merged["merge"]["survivor"]["spend"] == [{"currency": "JPY", "amount": "5000"}]
    assert merged["merge"]["absorbed"]["orders"] == 0
    assert OrderRecord.objects.get(order_id="g1").profile_id == account.pk
    assert (
        post(CANDIDATES, token=staff_user.api_token)["data"]["crmDuplicateCandidates"]["totalCount"]
        == 0
    )
    # when: staff undo it
    undone = post(UNMERGE, {"mergeId": merged["merge"]["id"]}, token=staff_user.api_token)["data"][
        "crmCustomerUnmerge"
    ]
    # then
    assert undone["errors"] == []
    assert undone["merge"]["inForce"] is False
    assert undone["merge"]["unmergedBy"] == f"staff:{staff_user.pk}"
    assert json.loads(undone["merge"]["returned"])["order"] == ["g1"]
    assert undone["merge"]["absorbed"]["orders"] == 1
    assert undone["merge"]["survivor"]["orders"] == 1
    assert OrderRecord.objects.get(order_id="g1").profile_id == guest.pk
    history = post(HISTORY, {"customerId": sides[True]["customerId"]}, token=staff_user.api_token)[
        "data"
    ]["crmCustomerMerges"]
    assert history == {
        "totalCount": 1,
        "edges": [
            {
                "node": {
                    "inForce": False,
                    "mergedBy": f"staff:{staff_user.pk}",
                    "absorbed": {"isGuest": True},
                    "survivor": {"isGuest": False},
                }
            }
        ],
    }


def test_merging_a_customer_into_themselves_names_the_field(post, staff_user, hanako):
    # given
    account = CustomerProfile.objects.get(user_id=str(hanako.pk))
    user_id = base64.b64encode(f"User:{hanako.pk}".encode()).decode()
    # when
    answer = post(MERGE, {"customerId": user_id, "into": user_id}, token=staff_user.api_token)
    # then
    assert answer["data"]["crmCustomerMerge"] == {
        "merge": None,
        "errors": [
            {
                "field": "intoCustomerId",
                "message": "a customer cannot be merged into themselves",
                "code": "SAME_CUSTOMER",
            }
        ],
    }
    assert not ProfileMerge.objects.exists()
    assert account.orders.count() == 1


def test_an_unknown_customer_is_not_found(post, staff_user, hanako):
    answer = post(MERGE, {"customerId": "nonsense", "into": "nonsense"}, token=staff_user.api_token)
    assert answer["data"]["crmCustomerMerge"]["errors"] == [
        {
            "field": "customerId",
            "message": "'nonsense' is not a customer the CRM knows",
            "code": "NOT_FOUND",
        }
    ]


def test_merges_need_manage_users(post, staff_without_permission, hanako):
    # given
    find_duplicates_task.delay().get()
    # when
    listed = post(CANDIDATES, token=staff_without_permission.api_token)
    # then
    assert listed["data"] is None or listed["data"]["crmDuplicateCandidates"] is None
    assert listed["errors"][0]["message"] == (
        "You need one of the following permissions: MANAGE_USERS"
    )
    assert DuplicateCandidate.objects.count() == 1
