from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from saleor_crm_plugin.customers.ingest import digest_for, ingest_orders
from saleor_crm_plugin.customers.models import CustomerProfile
from saleor_crm_plugin.customers.snapshots import LineSnapshot
from saleor_crm_plugin.sandbox.models import SandboxUser
from saleor_crm_plugin.segments.rule_services import builtin_segments
from saleor_crm_plugin.segments.rules import compile_rule, validate_rule
from saleor_crm_plugin.segments.services import recompute_rfm
from tests.factories import T0, order

pytestmark = pytest.mark.django_db

TOKYO = ZoneInfo("Asia/Tokyo")
AS_OF = datetime(2025, 6, 30, 3, 0, tzinfo=UTC)  # 12:00 in Tokyo


def _line(sku):
    return [
        LineSnapshot(
            line_id="1",
            quantity=1,
            unit_price_gross=1000,
            product_name="x",
            sku=sku,
            product_id=f"product-{sku}",
            category_id="category-tea" if sku.startswith("TEA") else "category-cup",
        )
    ]


@pytest.fixture
def store():
    # the store's accounts: ann in Tokyo who agreed to marketing, bob deactivated in the US
    SandboxUser.objects.create(
        pk=1,
        email="ann@example.com",
        country="JP",
        country_area="東京都",
        city="Shibuya",
        metadata={"marketing_consent": "no"},
        private_metadata={"marketing_consent": "true"},
        date_joined=T0,
        updated_at=T0,
    )
    SandboxUser.objects.create(
        pk=2,
        email="bob@example.com",
        is_active=False,
        country="US",
        country_area="CA",
        city="SAN FRANCISCO",
        metadata={"marketing_consent": "yes please"},
        date_joined=T0,
        updated_at=T0,
    )
    ingest_orders(
        [
            # ann: three orders, last one 10 days ago, bought TEA-1 recently
            order("a1", user_id="1", email="ann@example.com", total="1000", placed_at=T0),
            order(
                "a2",
                user_id="1",
                email="ann@example.com",
                total="2000",
                placed_at=T0 + timedelta(days=30),
            ),
            order(
                "a3",
                user_id="1",
                email="ann@example.com",
                total="1000",
                placed_at=AS_OF - timedelta(days=10),
                lines=_line("TEA-1"),
            ),
            # bob: one USD order 200 days ago
            order(
                "b1",
                user_id="2",
                email="bob@example.com",
                total="20.00",
                currency="USD",
                placed_at=AS_OF - timedelta(days=200),
                lines=_line("CUP-1"),
            ),
            # gus: a guest, one JPY order 90 days ago with TEA-1
            order(
                "g1",
                email="gus@example.com",
                total="500",
                placed_at=AS_OF - timedelta(days=90),
                lines=_line("TEA-1"),
            ),
        ]
    )


def _who(rule):
    q = compile_rule(validate_rule(rule), AS_OF, TOKYO)
    names = ["ann", "bob", "gus"] + [f"x{i}" for i in range(4)]
    digests = {digest_for(f"{name}@example.com"): name for name in names}
    return sorted(digests[p.email_digest] for p in CustomerProfile.objects.filter(q))


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ({"field": "order_count", "op": "gte", "value": 2}, ["ann"]),
        ({"field": "total_spent", "op": "gte", "value": 1000, "currency": "JPY"}, ["ann"]),
        ({"field": "total_spent", "op": "lt", "value": 1000, "currency": "JPY"}, ["bob", "gus"]),
        ({"field": "days_since_last_order", "op": "gte", "value": 90}, ["bob", "gus"]),
        ({"field": "days_since_last_order", "op": "eq", "value": 10}, ["ann"]),
        ({"field": "days_since_last_order", "op": "between", "value": [30, 120]}, ["gus"]),
        ({"field": "account", "op": "eq", "value": "guest"}, ["gus"]),
        ({"field": "bought_sku", "op": "eq", "value": "TEA-1"}, ["ann", "gus"]),
        ({"field": "bought_sku", "op": "eq", "value": "TEA-1", "within_days": 30}, ["ann"]),
        ({"not": {"field": "account", "op": "eq", "value": "guest"}}, ["ann", "bob"]),
        (
            {
                "any": [
                    {"field": "order_count", "op": "eq", "value": 3},
                    {"field": "total_spent", "op": "gt", "value": 10, "currency": "USD"},
                ]
            },
            ["ann", "bob"],
        ),
        ({"field": "last_order_at", "op": "after", "value": "2025-06-01T00:00:00+09:00"}, ["ann"]),
        ({"field": "bought_product", "op": "eq", "value": "product-CUP-1"}, ["bob"]),
        ({"field": "bought_category", "op": "eq", "value": "category-tea"}, ["ann", "gus"]),
        (
            {"field": "bought_category", "op": "eq", "value": "category-tea", "within_days": 60},
            ["ann"],
        ),
        ({"field": "country", "op": "in", "value": ["jp", "DE"]}, ["ann"]),
        ({"field": "country_area", "op": "in", "value": ["東京都"]}, ["ann"]),
        ({"field": "city", "op": "in", "value": ["San Francisco", "Osaka"]}, ["bob"]),
        ({"not": {"field": "city", "op": "in", "value": ["Shibuya"]}}, ["bob", "gus"]),
        ({"field": "marketing_consent", "op": "eq", "value": True}, ["ann"]),
        ({"field": "marketing_consent", "op": "eq", "value": False}, ["bob", "gus"]),
        ({"field": "account", "op": "eq", "value": "active"}, ["ann"]),
        ({"field": "account", "op": "eq", "value": "inactive"}, ["bob"]),
        ({"field": "account", "op": "eq", "value": "registered"}, ["ann", "bob"]),
        ({"field": "rank", "op": "in", "value": ["GOLD"]}, []),
        ({"field": "points_balance", "op": "gte", "value": 0}, []),
        ({"field": "active_subscription", "op": "eq", "value": True}, []),
        ({"field": "active_subscription", "op": "eq", "value": False}, ["ann", "bob", "gus"]),
    ],
    ids=[
        "order-count",
        "spend",
        "spend-below-counts-zero",
        "dormant",
        "days-exact",
        "days-between",
        "guest",
        "bought",
        "bought-recently",
        "not",
        "any",
        "after",
        "bought-product",
        "bought-category",
        "bought-category-recently",
        "country",
        "prefecture",
        "city-any-case",
        "not-city",
        "consent-private-first",
        "no-consent",
        "active",
        "inactive",
        "registered",
        "rank-none-yet",
        "points-none-yet",
        "subscription-none-yet",
        "no-subscription",
    ],
)
def test_rule_selects_exactly(store, rule, expected):
    assert _who(rule) == expected


def test_segment_and_score_conditions(store):
    # given: five more JPY buyers so the group is scored
    ingest_orders(
        [
            order(
                f"x{i}",
                email=f"x{i}@example.com",
                total="100",
                placed_at=AS_OF - timedelta(days=300 + i),
            )
            for i in range(4)
        ]
    )
    recompute_rfm(TOKYO, as_of=AS_OF)

    # when
    champions = _who(
        {
            "all": [
                {"field": "r", "op": "eq", "value": 5, "group": "JPY"},
                {"field": "f", "op": "eq", "value": 5, "group": "JPY"},
            ]
        }
    )
    sleeping = _who(
        {"field": "segment", "op": "in", "value": ["Lost", "Hibernating"], "group": "JPY"}
    )

    # then
    assert champions == ["ann"]
    assert sleeping == ["x2", "x3"]  # 302, 303 days; x0 is Promising, x1 About to Sleep


def test_built_in_segments(store):
    # given: x0 bought 60 and 50 days ago (usual gap 10 days: lapsed 40 days ago, not dormant)
    ingest_orders(
        [
            order("x0-1", email="x0@example.com", placed_at=AS_OF - timedelta(days=60)),
            order("x0-2", email="x0@example.com", placed_at=AS_OF - timedelta(days=50)),
        ]
    )
    segments = builtin_segments(dormant_days=90)

    # when
    members_of = {name: _who(rule) for name, rule in segments.items()}

    # then
    assert members_of == {
        "First-time buyers": ["bob", "gus"],
        "Repeat buyers": ["ann", "x0"],
        "Dormant": ["bob", "gus"],
        "About to lapse": ["x0"],
    }


def test_segments_are_recounted_and_their_sizes_recorded_by_the_task(store):
    # given
    from saleor_crm_plugin.segments.models import RuleSegment, RuleSegmentSize
    from saleor_crm_plugin.segments.rule_services import size_history
    from saleor_crm_plugin.tasks import evaluate_segments_task

    segment = RuleSegment.objects.create(
        name="Guests", rule={"field": "account", "op": "eq", "value": "guest"}, customers=0
    )
    broken = RuleSegment.objects.create(
        name="Broken", rule={"field": "colour", "op": "eq", "value": 1}, customers=7
    )

    # when
    first = evaluate_segments_task.delay().get()
    ingest_orders([order("g2", email="new-guest@example.com", placed_at=AS_OF)])
    second = evaluate_segments_task.delay().get()

    # then
    segment.refresh_from_db()
    broken.refresh_from_db()
    assert (first["Guests"], second["Guests"]) == (1, 2)
    assert (first["First-time buyers"], second["First-time buyers"]) == (2, 3)
    assert second["Broken"].startswith("not evaluated: $.field: 'colour' is not a field")
    assert broken.customers == 7
    assert segment.customers == 2
    assert [p.customers for p in size_history(segment)] == [1, 2]
    built_in = RuleSegment(name="First-time buyers")
    assert [p.customers for p in size_history(built_in)] == [2, 3]
    assert RuleSegmentSize.objects.filter(name="Broken").count() == 0
