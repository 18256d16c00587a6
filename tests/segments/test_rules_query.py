from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from saleor_crm_plugin.customers.ingest import digest_for, ingest_customers, ingest_orders
from saleor_crm_plugin.customers.models import CustomerProfile, CustomerSpend
from saleor_crm_plugin.customers.snapshots import LineSnapshot
from saleor_crm_plugin.sandbox.models import SandboxUser
from saleor_crm_plugin.segments.rule_services import builtin_segments
from saleor_crm_plugin.segments.rules import compile_rule, row_currency, validate_rule
from saleor_crm_plugin.segments.services import recompute_rfm
from tests.factories import T0, customer, order

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


# Whose profile a digest is: the customers of the fixture and the tests.
NAMES = {
    digest_for(f"{name}@example.com"): name
    for name in ["ann", "bob", "gus"] + [f"x{i}" for i in range(4)]
}


def _who(rule):
    q = compile_rule(validate_rule(rule), AS_OF, TOKYO)
    profiles = CustomerProfile.objects.filter(q, anonymized_at__isnull=True)
    return sorted(NAMES[p.email_digest] for p in profiles)


CASES = [
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
    ({"field": "points_balance", "op": "gte", "value": 0}, ["ann", "bob", "gus"]),  # all at 0
    ({"field": "active_subscription", "op": "eq", "value": True}, []),
    ({"field": "active_subscription", "op": "eq", "value": False}, ["ann", "bob", "gus"]),
]
CASE_IDS = [
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
]


@pytest.mark.parametrize(("rule", "expected"), CASES, ids=CASE_IDS)
def test_rule_selects_exactly(store, rule, expected):
    assert _who(rule) == expected


def _who_by_rows(rule):
    """`_who`, counted over the spend rows of the rule's `row_currency` (one per customer)."""
    valid = validate_rule(rule)
    currency = row_currency(valid)
    assert currency is not None, "the rule needs a spend row"
    rows = CustomerSpend.objects.filter(
        compile_rule(valid, AS_OF, TOKYO, row=currency), currency=currency, profile_active=True
    )
    selected = [NAMES[row.profile.email_digest] for row in rows.select_related("profile")]
    assert len(selected) == len(set(selected)), "one row per customer"
    return sorted(selected)


JPY_BUYER = {"field": "total_spent", "op": "gte", "value": 1, "currency": "JPY"}
USD_BUYER = {"field": "average_order", "op": "gt", "value": 0, "currency": "USD"}


@pytest.mark.parametrize("rule", [case[0] for case in CASES], ids=CASE_IDS)
@pytest.mark.parametrize("anchor", [JPY_BUYER, USD_BUYER], ids=["jpy-row", "usd-row"])
def test_a_rule_counted_over_spend_rows_selects_the_same_customers(store, rule, anchor):
    # given: bob buys in JPY too (two currencies; his last order is now the JPY one)
    ingest_orders(
        [
            order(
                "b2",
                user_id="2",
                email="bob@example.com",
                total="300",
                placed_at=AS_OF - timedelta(days=5),
            )
        ]
    )
    # ... and one more USD buyer, deleted from the store since (aggregates stay, not selected)
    ingest_orders([order("d1", user_id="9", email="x3@example.com", currency="USD", total="5")])
    ingest_customers([customer("9", email="x3@example.com", updated_at=AS_OF, deleted=True)])

    # when / then: the same customers either way, the rule alone and negated
    for combined in (
        {"all": [anchor, rule]},
        {"all": [rule, anchor, {"not": rule}]},
        {"all": [anchor, {"not": rule}]},
        {"any": [{"all": [anchor, rule]}, anchor]},
    ):
        assert _who_by_rows(combined) == _who(combined), combined


def test_which_rules_need_a_spend_row():
    def needs(rule):
        return row_currency(validate_rule(rule))

    segment = {"field": "segment", "op": "in", "value": ["Lost"], "group": "USD"}
    assert needs(JPY_BUYER) == "JPY"
    assert needs(segment) == "USD"
    assert needs({"field": "r", "op": "gte", "value": 4, "group": "EUR"}) == "EUR"
    assert needs({"field": "order_count", "op": "gte", "value": 2}) is None
    # spent below a bound holds for a customer with no orders in the currency
    assert needs({"field": "total_spent", "op": "lte", "value": 5, "currency": "JPY"}) is None
    assert needs({"field": "average_order", "op": "lte", "value": 5, "currency": "JPY"}) == "JPY"
    assert needs({"all": [{"field": "order_count", "op": "gte", "value": 2}, segment]}) == "USD"
    assert needs({"any": [JPY_BUYER, segment]}) is None
    assert needs({"any": [JPY_BUYER, {"all": [JPY_BUYER, segment]}]}) == "JPY"
    assert needs({"not": JPY_BUYER}) is None


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
    # the same over the JPY spend rows, where the scores are
    for rule in (
        {"field": "segment", "op": "in", "value": ["Lost", "Hibernating"], "group": "JPY"},
        {
            "all": [
                {"field": "r", "op": "eq", "value": 5, "group": "JPY"},
                {"field": "f", "op": "eq", "value": 5, "group": "JPY"},
            ]
        },
        {
            "all": [
                {"field": "r", "op": "gte", "value": 1, "group": "JPY"},
                {"not": {"field": "segment", "op": "in", "value": ["Lost"], "group": "JPY"}},
            ]
        },
        {"all": [JPY_BUYER, {"not": {"field": "m", "op": "gte", "value": 3, "group": "JPY"}}]},
    ):
        assert _who_by_rows(rule) == _who(rule), rule


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


def _predict(fit, name, **figures):
    from saleor_crm_plugin.analytics.models import CustomerPrediction

    profile = CustomerProfile.objects.get(email_digest=digest_for(f"{name}@example.com"))
    values = {"p_alive": 0.5, "expected_30": 0.1, "expected_90": 0.3, "expected_365": 1.0}
    values.update(figures)
    CustomerPrediction.objects.create(
        profile=profile, currency=fit.currency, fit=fit, scored_at=AS_OF, **values
    )


def test_prediction_conditions_select_by_the_customers_prediction_in_the_currency(store):
    from decimal import Decimal

    from saleor_crm_plugin.analytics.models import PredictionFit

    # given: JPY predictions for ann (slipping away, worth a lot) and gus, USD ones for bob
    jpy, usd = (
        PredictionFit.objects.create(
            currency=currency, model="bgnbd", as_of=AS_OF, status="ok", in_force=True
        )
        for currency in ("JPY", "USD")
    )
    _predict(jpy, "ann", p_alive=0.2, clv=Decimal(25000), overdue=3.5, typical_gap_days=30)
    _predict(jpy, "gus", p_alive=0.9, clv=Decimal(500), expected_365=2.5)
    _predict(usd, "bob", p_alive=0.1, clv=Decimal("31.50"))
    win_back = {
        "all": [
            {"field": "p_alive", "op": "lt", "value": 0.3, "currency": "JPY"},
            {"field": "predicted_clv", "op": "gt", "value": 20000, "currency": "JPY"},
        ]
    }

    # when / then
    assert _who(win_back) == ["ann"]
    assert _who({"field": "p_alive", "op": "lt", "value": 0.3, "currency": "USD"}) == ["bob"]
    assert _who({"field": "expected_orders_365", "op": "gte", "value": 2, "currency": "JPY"}) == [
        "gus"
    ]
    assert _who({"field": "overdue", "op": "gt", "value": 2, "currency": "JPY"}) == ["ann"]
    assert _who({"field": "typical_gap_days", "op": "lte", "value": 30, "currency": "JPY"}) == [
        "ann"
    ]
    # bob has no JPY prediction: no JPY condition holds for him, so its negation does
    assert _who({"not": {"field": "p_alive", "op": "gte", "value": 0.5, "currency": "JPY"}}) == [
        "ann",
        "bob",
    ]
    # counted over the JPY spend rows (the rule needs one), the same customers
    assert row_currency(validate_rule(win_back)) == "JPY"
    assert _who_by_rows(win_back) == ["ann"]


@pytest.mark.parametrize(
    ("condition", "path", "message"),
    [
        ({"value": 1.5}, "$.value", "1.5 is above 1, the largest it can be"),
        ({"value": -0.1}, "$.value", "-0.1 is not a number of 0 or more"),
        ({"value": "often"}, "$.value", "'often' is not a number"),
        ({"currency": None}, "$.currency", None),
    ],
    ids=["above-one", "negative", "not-a-number", "no-currency"],
)
def test_a_wrong_prediction_condition_names_its_value(condition, path, message):
    from saleor_crm_plugin.segments.rules import RuleError

    rule = {"field": "p_alive", "op": "lt", "value": 0.3, "currency": "JPY", **condition}
    if rule["currency"] is None:
        del rule["currency"]
    with pytest.raises(RuleError) as raised:
        validate_rule(rule)
    assert raised.value.field == path
    if message:
        assert raised.value.message == message
    else:
        assert raised.value.message == "is required for p_alive"
