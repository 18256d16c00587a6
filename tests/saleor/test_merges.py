"""Duplicates inside a real Saleor 3.23: the search reads Saleor's accounts, address books and
guest orders; staff merge a guest into the account and undo it through our GraphQL; Saleor's
own user and orders are left as they are."""

import json

import graphene
import pytest

pytest.importorskip("saleor", reason="needs a real Saleor 3.23 importable as `saleor`")

from saleor.core.jwt import create_access_token

from saleor_crm_plugin.customers.merge_models import DuplicateCandidate, ProfileMerge
from saleor_crm_plugin.customers.models import CustomerProfile, OrderRecord

pytestmark = [pytest.mark.saleor, pytest.mark.django_db]

GRAPHQL_URL = "/plugins/global/saleor.crm/graphql/"
SIDE = "customerId userId email isGuest orders"
CANDIDATES = f"""{{ crmDuplicateCandidates(first: 10) {{ totalCount edges {{ node {{
  evidence customer {{ {SIDE} }} other {{ {SIDE} }} }} }} }} }}"""
MERGE = """mutation M($customerId: ID!, $into: ID!) {
  crmCustomerMerge(customerId: $customerId, intoCustomerId: $into, reason: "one person") {
    merge { id inForce survivor { orders } absorbed { orders } }
    errors { field message code } } }"""
UNMERGE = """mutation U($mergeId: ID!) { crmCustomerUnmerge(mergeId: $mergeId) {
  merge { inForce survivor { orders } absorbed { orders } } errors { field message code } } }"""


def _post(client, query, variables, token):
    response = client.post(
        GRAPHQL_URL,
        data=json.dumps({"query": query, "variables": variables}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert response.status_code == 200, response.content
    return response.json()


def test_staff_merge_and_unmerge_a_guest_and_the_account_of_one_person(
    crm_plugin, client, staff_user, permission_manage_users, customer_user, order_list, recorded
):
    # given: the customer's order on her account, and a guest order she placed with her
    # address plus a tag (billed to the address of her address book)
    from saleor_crm_plugin.tasks import find_duplicates_task

    staff_user.user_permissions.add(permission_manage_users)
    own, guest_order = order_list[0], order_list[1]
    guest_order.user = None
    guest_order.user_email = "Test+shop@Example.com"
    guest_order.save(update_fields=["user", "user_email", "updated_at"])
    with recorded():
        crm_plugin.order_created(own)
        crm_plugin.order_created(guest_order)
    account = CustomerProfile.objects.get(user_id=str(customer_user.pk))
    guest = CustomerProfile.objects.get(user_id__isnull=True)
    token = create_access_token(staff_user)

    # when: the nightly search runs, and staff list the pairs
    report = find_duplicates_task.apply().get()
    listed = _post(client, CANDIDATES, {}, token)

    # then: one pair, on the mailbox, the phone and the name with postal code of the address
    assert report["pairs"] == 1
    page = listed["data"]["crmDuplicateCandidates"]
    assert page["totalCount"] == 1
    pair = page["edges"][0]["node"]
    assert pair["evidence"] == ["EMAIL", "PHONE", "NAME_POSTAL"]
    sides = {side["isGuest"]: side for side in (pair["customer"], pair["other"])}
    assert sides[False]["userId"] == graphene.Node.to_global_id("User", customer_user.pk)
    assert (sides[False]["email"], sides[True]["email"]) == (
        "test@example.com",
        "Test+shop@Example.com",
    )

    # when: staff merge the guest into the account
    merged = _post(
        client,
        MERGE,
        {"customerId": sides[True]["customerId"], "into": sides[False]["customerId"]},
        token,
    )["data"]["crmCustomerMerge"]

    # then
    assert merged["errors"] == []
    assert merged["merge"]["survivor"]["orders"] == 2
    assert merged["merge"]["absorbed"]["orders"] == 0
    assert OrderRecord.objects.get(order_id=str(guest_order.pk)).merged_from_id == guest.pk
    # a later event of the guest order lands on the account while merged
    with recorded():
        crm_plugin.order_updated(guest_order)
    assert OrderRecord.objects.get(order_id=str(guest_order.pk)).profile_id == account.pk

    # when: staff undo it
    undone = _post(client, UNMERGE, {"mergeId": merged["merge"]["id"]}, token)["data"][
        "crmCustomerUnmerge"
    ]

    # then: each side has its own again; Saleor's user and orders are as they were
    assert undone["errors"] == []
    assert undone["merge"]["inForce"] is False
    assert (undone["merge"]["survivor"]["orders"], undone["merge"]["absorbed"]["orders"]) == (1, 1)
    assert OrderRecord.objects.get(order_id=str(guest_order.pk)).profile_id == guest.pk
    assert ProfileMerge.objects.get().unmerged_by == f"staff:{staff_user.pk}"
    guest_order.refresh_from_db()
    customer_user.refresh_from_db()
    assert guest_order.user_id is None
    assert guest_order.user_email == "Test+shop@Example.com"
    assert customer_user.email == "test@example.com"
    assert DuplicateCandidate.objects.count() == 1
