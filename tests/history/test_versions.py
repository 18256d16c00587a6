"""Rule versions kept by the rules' own writers, and the state that reads them (PostgreSQL)."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from freezegun import freeze_time

from saleor_crm_plugin.conf import parse_config
from saleor_crm_plugin.customers.ingest import ingest_orders
from saleor_crm_plugin.customers.models import CustomerProfile, CustomerSpend
from saleor_crm_plugin.history.models import RuleVersion
from saleor_crm_plugin.history.services import customer_state_at
from saleor_crm_plugin.host import get_host, reset_host
from saleor_crm_plugin.loyalty.membership import evaluate_ranks, save_rank_settings
from saleor_crm_plugin.segments.bins import parse_fixed_bins
from saleor_crm_plugin.segments.rule_services import delete_segment, save_segment
from saleor_crm_plugin.segments.services import recompute_rfm
from tests.factories import T0, order

pytestmark = pytest.mark.django_db
DAY = timedelta(days=1)
TOKYO = ZoneInfo("Asia/Tokyo")
FIRST = "Regular (R)\nSilver (S): orders 2"
SECOND = "Regular (R)\nSilver (S): orders 3"


@pytest.fixture(autouse=True)
def _store(settings):
    settings.CRM_CONFIG = {**settings.CRM_CONFIG, "ranks": FIRST, "rank-window": "lifetime"}
    reset_host()


def _rows(kind):
    return list(
        RuleVersion.objects.filter(kind=kind)
        .order_by("valid_from", "pk")
        .values_list("key", "version", "valid_from", "actor")
    )


def test_the_rank_table_is_kept_once_per_version_from_when_it_took_effect():
    # given
    host = get_host()
    config = host.config()
    ingest_orders([order("o1", email="ann@example.com")])
    ids = list(CustomerProfile.objects.values_list("pk", flat=True))

    # when: evaluated twice under the first table, then a second one saved and evaluated
    evaluate_ranks(config, ids, T0)
    evaluate_ranks(config, ids, T0 + DAY)
    saved = save_rank_settings(
        host,
        ranks=SECOND,
        window=None,
        inactive_months=None,
        version=config.loyalty.ladder_version,
        actor="staff:1",
        now=T0 + 2 * DAY,
    )
    evaluate_ranks(saved, ids, T0 + 3 * DAY)

    # then
    assert _rows(RuleVersion.RANKS) == [
        ("", config.loyalty.ladder_version, T0, ""),
        ("", saved.loyalty.ladder_version, T0 + 2 * DAY, "staff:1"),
    ]
    assert RuleVersion.objects.filter(kind=RuleVersion.RANKS).last().content == {
        "text": SECOND,
        "window": "lifetime",
        "inactive_months": None,
    }


def test_each_recompute_keeps_its_cut_points_and_a_group_no_longer_scored_ends():
    # given: five JPY customers and one USD customer (fixed bins for JPY only)
    bins = parse_fixed_bins("R 7 30 60 120\nF 2 3 4 6\nM JPY 1000 3000 6000 10000")
    ingest_orders([order(f"j{i}", email=f"c{i}@example.com") for i in range(5)])
    ingest_orders([order(f"u{i}", email=f"u{i}@example.com", currency="USD") for i in range(5)])
    segments = parse_config({}).segment_map

    # when: quintiles for both, then the fixed bins (USD stays on quintiles), then without
    # the USD customers (deleted in the store)
    recompute_rfm(TOKYO, as_of=T0 + DAY, segments=segments)
    recompute_rfm(TOKYO, as_of=T0 + 2 * DAY, segments=segments, bins=bins)
    CustomerProfile.objects.filter(spends__currency="USD").update(anonymized_at=T0)
    CustomerSpend.objects.filter(currency="USD").update(profile_active=False)
    recompute_rfm(TOKYO, as_of=T0 + 3 * DAY, segments=segments, bins=bins)

    # then
    rows = [
        (key, valid_from, content and content["method"])
        for key, valid_from, content in RuleVersion.objects.filter(kind=RuleVersion.RFM)
        .order_by("valid_from", "key")
        .values_list("key", "valid_from", "content")
    ]
    assert rows == [
        ("JPY", T0 + DAY, "quintiles"),
        ("USD", T0 + DAY, "quintiles"),
        ("JPY", T0 + 2 * DAY, "fixed"),
        ("USD", T0 + 2 * DAY, "quintiles"),
        ("JPY", T0 + 3 * DAY, "fixed"),
        ("USD", T0 + 3 * DAY, None),
    ]
    jpy = RuleVersion.objects.get(kind=RuleVersion.RFM, key="JPY", valid_from=T0 + 2 * DAY)
    assert jpy.content["frequency"] == [1.5, 2.5, 3.5, 5.5]
    assert jpy.content["segments"]["Champions"] == [[5], [4, 5]]


NOW = datetime(2026, 3, 1, 3, 0, tzinfo=UTC)


def test_a_rule_segment_is_answered_under_the_definition_in_force_at_the_date():
    # given: Ann's two orders; a segment saved as "2 orders or more", changed to 3, deleted
    config = get_host().config()
    ingest_orders(
        [
            order("o1", email="ann@example.com", placed_at=NOW - 40 * DAY),
            order("o2", email="ann@example.com", placed_at=NOW - 35 * DAY),
        ]
    )
    profile = CustomerProfile.objects.get()
    rule = {"field": "order_count", "op": "gte", "value": 2}
    with freeze_time(NOW - 30 * DAY):
        segment = save_segment("Repeat", rule, config)
    with freeze_time(NOW - 20 * DAY):
        save_segment("Repeat", {**rule, "value": 3}, config, segment)
    with freeze_time(NOW - 10 * DAY):
        segment_id = segment.pk
        delete_segment(segment)

    # when
    def matches(at):
        state = customer_state_at(profile, at, config, NOW)
        return [(match.key, match.name, match.matched) for match in state.segments]

    # then
    assert matches(NOW - 32 * DAY) == []
    assert matches(NOW - 25 * DAY) == [(str(segment_id), "Repeat", True)]
    assert matches(NOW - 15 * DAY) == [(str(segment_id), "Repeat", False)]
    assert matches(NOW - 5 * DAY) == []
    deleted = (
        RuleVersion.objects.filter(kind=RuleVersion.RULE_SEGMENT).order_by("valid_from").last()
    )
    assert (deleted.valid_from, deleted.content) == (NOW - 10 * DAY, None)
