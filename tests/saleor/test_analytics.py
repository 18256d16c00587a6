"""What the analytics ask of a real Saleor 3.23: the products a channel's shoppers can buy."""

import pytest

pytest.importorskip("saleor", reason="needs a real Saleor 3.23 importable as `saleor`")

pytestmark = pytest.mark.django_db


def test_only_products_a_shopper_of_the_channel_can_buy_now_are_offered(product, channel_USD):
    # given: Saleor's published product with a priced variant in the USD channel
    from graphql_relay import to_global_id

    from saleor_crm_plugin.host.saleor import SaleorHost

    host = SaleorHost()
    product_id = to_global_id("Product", product.pk)
    listing = product.channel_listings.get(channel=channel_USD)

    # then: it is offered there, by its name, and nowhere else
    assert host.available_products([product_id], channel_USD.slug) == {product_id: product.name}
    assert host.available_products([product_id], "no-such-channel") == {}
    assert host.available_products(["not-an-id", ""], channel_USD.slug) == {}

    # when: it is not for sale yet, then unpublished, then its channel is switched off
    listing.available_for_purchase_at = None
    listing.save(update_fields=["available_for_purchase_at"])
    assert host.available_products([product_id], channel_USD.slug) == {}

    listing.available_for_purchase_at = product.created_at
    listing.is_published = False
    listing.save(update_fields=["available_for_purchase_at", "is_published"])
    assert host.available_products([product_id], channel_USD.slug) == {}

    listing.is_published = True
    listing.save(update_fields=["is_published"])
    assert host.available_products([product_id], channel_USD.slug) == {product_id: product.name}
    channel_USD.is_active = False
    channel_USD.save(update_fields=["is_active"])
    assert host.available_products([product_id], channel_USD.slug) == {}
