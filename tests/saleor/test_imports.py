"""Moving in inside a real Saleor 3.23: a Shopify customers export with balances and ranks.

Dry run (nothing written in Saleor or the CRM), then the import (Saleor users with their
address and private metadata, the existing customer matched and left as it is), then the same
file again (nothing changes); the customers' points and ranks show through our storefront API
with their own Saleor tokens.
"""

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

pytest.importorskip("saleor", reason="needs a real Saleor 3.23 importable as `saleor`")

import graphene
from saleor.account.models import User
from saleor.core.jwt import create_access_token
from saleor.order.models import Order
from saleor.warehouse.models import Stock

from saleor_crm_plugin.customers.models import CustomerProfile, OrderRecord
from saleor_crm_plugin.host.saleor import SaleorHost
from saleor_crm_plugin.imports.services import import_file, import_orders
from saleor_crm_plugin.loyalty.models import MemberRank, PointsEntry

pytestmark = [pytest.mark.saleor, pytest.mark.django_db]

GRAPHQL_URL = "/plugins/global/saleor.crm/graphql/"
NOW = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)
SHOPIFY = (
    "Customer ID,First Name,Last Name,Email,Accepts Email Marketing,Default Address Address1,"
    "Default Address City,Default Address Province Code,Default Address Country Code,"
    "Default Address Zip,Phone,Total Spent,Total Orders,Tags,Birth Date,Points,Points Currency,"
    "Points Expire At,Rank\n"
    "7011000001,Hanako,Yamada,Hanako.Yamada@example.jp,yes,1-2-3 Jingumae,Shibuya-ku,JP-13,JP,"
    "150-0001,+81 90 1234 5678,52400.00,7,vip,1988-04-12,1200,USD,2030-06-30,GOLD\n"
    "7011000002,Leslie,Wade,test@example.com,no,,,,,,,10.00,1,,,300,USD,,SILVER\n"
)
ME = "{ me { crmPoints { balance available } crmMembership { rank { code } pinned } } }"


def _import(dry_run=False):
    return import_file(
        lambda: SHOPIFY.splitlines(keepends=True),
        kind="customers",
        layout="shopify",
        source="shopify",
        file_name="customers_export.csv",
        host=SaleorHost(),
        now=NOW,
        actor="staff:1",
        dry_run=dry_run,
    )


def _state():
    return (
        sorted(User.objects.values_list("email", "updated_at", "private_metadata")),
        sorted(CustomerProfile.objects.values_list("user_id", "updated_at")),
        sorted(PointsEntry.objects.values_list("key", "points")),
        sorted(MemberRank.objects.values_list("profile_id", "code", "pin_code", "updated_at")),
    )


def _me(client, user):
    response = client.post(
        GRAPHQL_URL,
        data=json.dumps({"query": ME}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {create_access_token(user)}",
    )
    assert response.status_code == 200, response.content
    return response.json()["data"]["me"]


def test_a_shopify_export_imports_once_and_shows_on_the_storefront(
    client, crm_plugin, customer_user
):
    # given: Leslie (test@example.com) is a Saleor customer already
    before = _state()

    # when: the dry run
    dry = _import(dry_run=True)

    # then: it says what would happen and writes nothing
    assert dry.counts == {
        "customers": {"created": 1, "matched": 1},
        "points": {"created": 2},
        "ranks": {"created": 2},
    }
    assert _state() == before

    # when: imported
    done = _import()

    # then: Hanako is a Saleor customer with her address and the CRM's metadata keys
    assert done.counts == {
        "customers": {"created": 1, "matched": 1},
        "points": {"created": 2, "unchanged": 0},
        "ranks": {"created": 2, "unchanged": 0},
    }
    hanako = User.objects.get(email="hanako.yamada@example.jp")
    assert (hanako.first_name, hanako.last_name, hanako.external_reference) == (
        "Hanako",
        "Yamada",
        "7011000001",
    )
    assert hanako.private_metadata == {"birth_date": "1988-04-12", "marketing_consent": "true"}
    address = hanako.default_shipping_address
    assert (address.street_address_1, address.city, address.postal_code, address.country.code) == (
        "1-2-3 Jingumae",
        "Shibuya-ku",
        "150-0001",
        "JP",
    )
    assert str(address.phone) == "+819012345678"
    assert list(hanako.addresses.all()) == [address]
    assert hanako.customer_type is not None
    assert not hanako.has_usable_password()
    # Leslie is matched and left as she was, but for the keys the CRM lacked
    customer_user.refresh_from_db()
    assert (customer_user.first_name, customer_user.private_metadata) == (
        "Leslie",
        {"secret_key": "secret_value", "marketing_consent": "false"},
    )

    # when: the same file again
    imported = _state()
    again = _import()

    # then: nothing created, nothing written
    assert again.created == 0
    assert _state() == imported

    # and: each customer sees their points and rank through the storefront API
    assert _me(client, hanako) == {
        "crmPoints": {"balance": 1200, "available": 1200},
        "crmMembership": {"rank": {"code": "GOLD"}, "pinned": True},
    }
    assert _me(client, customer_user) == {
        "crmPoints": {"balance": 300, "available": 300},
        "crmMembership": {"rank": {"code": "SILVER"}, "pinned": True},
    }


def _history_order(channel, variant, warehouse, tax_class, email, address, reference, total):
    """One fulfilled, charged order of another platform's history, as Saleor's
    `OrderBulkCreateInput` takes it."""
    created = "2024-03-05T10:00:00+00:00"
    return {
        "externalReference": reference,
        "channel": channel.slug,
        "createdAt": created,
        "status": "FULFILLED",
        "user": {"email": email},
        "billingAddress": address,
        "shippingAddress": address,
        "currency": channel.currency_code,
        "languageCode": "EN",
        "lines": [
            {
                "variantId": graphene.Node.to_global_id("ProductVariant", variant.id),
                "createdAt": created,
                "productName": "Green tea",
                "isShippingRequired": False,
                "isGiftCard": False,
                "quantity": 2,
                "totalPrice": {"gross": total, "net": total},
                "undiscountedTotalPrice": {"gross": total, "net": total},
                "taxRate": 0,
                "warehouse": graphene.Node.to_global_id("Warehouse", warehouse.id),
                "taxClassId": graphene.Node.to_global_id("TaxClass", tax_class.id),
            }
        ],
        "fulfillments": [
            {
                "lines": [
                    {
                        "variantId": graphene.Node.to_global_id("ProductVariant", variant.id),
                        "quantity": 2,
                        "orderLineIndex": 0,
                        "warehouse": graphene.Node.to_global_id("Warehouse", warehouse.id),
                    }
                ]
            }
        ],
        "transactions": [
            {
                "name": "Old platform",
                "pspReference": f"old-{reference}",
                "amountCharged": {"amount": total, "currency": channel.currency_code},
            }
        ],
    }


def test_order_history_goes_through_saleors_order_bulk_create_once(
    crm_plugin,
    customer_user,
    channel_USD,
    variant,
    warehouse,
    default_tax_class,
    graphql_address_data,
    recorded,
):
    # given: two orders of Leslie's history on the old platform
    orders = [
        _history_order(
            channel_USD,
            variant,
            warehouse,
            default_tax_class,
            customer_user.email,
            graphql_address_data,
            ref,
            total,
        )
        for ref, total in (("old-1001", "30.00"), ("old-1002", "12.50"))
    ]
    stock = list(Stock.objects.values_list("pk", "quantity", "quantity_allocated"))

    # when: a dry run, then imported through Saleor's orderBulkCreate (as `crm_import --kind orders`)
    assert import_orders(SaleorHost(), orders, dry_run=True) == {
        "created": [],
        "refused": [],
        "orders": 2,
    }
    assert not Order.objects.exists()
    with recorded():
        done = import_orders(SaleorHost(), orders)

    # then: Saleor has both orders for Leslie, their stock untouched (history, not a sale
    # today), and Saleor's order_bulk_created brought them into the ledger on her profile
    assert done["refused"] == []
    assert len(done["created"]) == 2
    saleor_orders = Order.objects.filter(pk__in=done["created"])
    assert {(o.user_id, o.status, o.external_reference) for o in saleor_orders} == {
        (customer_user.pk, "fulfilled", "old-1001"),
        (customer_user.pk, "fulfilled", "old-1002"),
    }
    assert list(Stock.objects.values_list("pk", "quantity", "quantity_allocated")) == stock
    profile = CustomerProfile.objects.get(user_id=str(customer_user.pk))
    records = OrderRecord.objects.filter(order_id__in=done["created"])
    assert sorted((r.profile_id, r.total_gross_amount) for r in records) == [
        (profile.pk, Decimal("12.50")),
        (profile.pk, Decimal("30.00")),
    ]
    assert profile.order_count == 2

    # when: the same orders again
    with recorded():
        again = import_orders(SaleorHost(), orders)

    # then: Saleor refuses each by its external reference and nothing changes
    assert again["created"] == []
    assert [row["index"] for row in again["refused"]] == [0, 1]
    assert all(row["errors"] for row in again["refused"])
    assert Order.objects.count() == 2
    profile.refresh_from_db()
    assert profile.order_count == 2
