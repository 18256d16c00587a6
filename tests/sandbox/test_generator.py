from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from saleor_crm_plugin.customers.snapshots import order_from_dict
from saleor_crm_plugin.sandbox.generator import generate_store
from saleor_crm_plugin.sandbox.models import SandboxOrder, SandboxUser

pytestmark = pytest.mark.django_db

AS_OF = datetime(2026, 6, 30, tzinfo=UTC)


def _store():
    return (
        list(SandboxUser.objects.order_by("email").values_list("email", "date_joined")),
        list(SandboxOrder.objects.order_by("order_id").values_list("order_id", "email", "data")),
    )


def test_same_seed_gives_the_same_store():
    # given
    generate_store(customers=60, seed=5, as_of=AS_OF)
    first = _store()
    SandboxOrder.objects.all().delete()
    SandboxUser.objects.all().delete()

    # when
    generate_store(customers=60, seed=5, as_of=AS_OF)

    # then
    assert _store()[0] == first[0]
    assert [(o, e) for o, e, _ in _store()[1]] == [(o, e) for o, e, _ in first[1]]
    assert [{**d, "user_id": None} for _, _, d in _store()[1]] == [
        {**d, "user_id": None} for _, _, d in first[1]
    ]


def test_history_looks_like_a_real_store():
    # when
    summary = generate_store(customers=300, seed=11, as_of=AS_OF)

    # then
    snapshots = [
        order_from_dict(data) for data in SandboxOrder.objects.values_list("data", flat=True)
    ]
    assert summary.orders == len(snapshots)
    per_customer = Counter(s.email for s in snapshots)
    once = sum(1 for n in per_customer.values() if n == 1)
    assert once / len(per_customer) > 0.4, "most customers buy once"
    assert max(per_customer.values()) >= 20, "a few buy very often"
    assert {s.currency for s in snapshots} == {"JPY", "USD"}
    assert all(
        s.total_gross == s.total_gross.to_integral_value() for s in snapshots if s.currency == "JPY"
    )
    assert all(s.placed_at <= AS_OF for s in snapshots)
    assert min(s.placed_at for s in snapshots).year == 2023
    statuses = Counter(s.status.value for s in snapshots)
    assert statuses["fulfilled"] > statuses["canceled"] > 0
    assert any(Decimal(0) < s.refunded_amount < s.total_gross for s in snapshots)
    assert 0 < summary.guests < summary.registered


def test_some_customers_bought_as_guests_before_registering():
    # when
    generate_store(customers=300, seed=3, as_of=AS_OF)

    # then
    registered = set(SandboxUser.objects.values_list("email", flat=True))
    guest_orders_of_members = SandboxOrder.objects.filter(user__isnull=True, email__in=registered)
    assert guest_orders_of_members.exists()


def test_customers_must_be_positive():
    with pytest.raises(ValueError, match="customers: must be at least 1, not 0"):
        generate_store(customers=0)


def test_the_store_has_a_catalogue_and_baskets_with_companions():
    from saleor_crm_plugin.host.sandbox import SandboxHost

    generate_store(customers=300, seed=7, as_of=AS_OF)
    snapshots = [
        order_from_dict(data) for data in SandboxOrder.objects.values_list("data", flat=True)
    ]

    # gift boxes are sold in the JPY channel only; every product a line names is catalogued
    host = SandboxHost()
    bought = {line.product_id for s in snapshots for line in s.lines}
    assert set(host.available_products(bought, "channel-jpy")) == bought
    usd = host.available_products(bought, "default-channel")
    assert set(usd) == {pid for pid in bought if "-GI-" not in pid}
    assert all("Gift box" not in name for name in usd.values())
    assert host.available_products(bought, "no-such-channel") == {}
    # Matcha goes with Teaware more often than any tea goes with it by chance
    kinds = Counter()
    for snapshot in snapshots:
        names = {line.product_name.split()[0] for line in snapshot.lines}
        if "Matcha" in names:
            kinds["matcha"] += 1
            kinds["matcha+teaware"] += "Teaware" in names
    assert kinds["matcha+teaware"] / kinds["matcha"] > 0.3
