"""The stored reports and basket pairs through the staff API (`crmProductRepeat`, `crmF2`,
`crmCohorts`, `crmLtv`, `crmBasketRuns`, `crmBasketPairs`) and `POST export/analytics.csv`."""

import csv
import io
import json
from datetime import timedelta

import pytest

from saleor_crm_plugin.analytics.basket_services import compute_baskets
from saleor_crm_plugin.analytics.models import CohortRow, ProductRepeatRow
from saleor_crm_plugin.analytics.report_services import compute_reports
from saleor_crm_plugin.customers.ingest import ingest_orders
from saleor_crm_plugin.customers.models import CustomerProfile, CustomerSpend
from tests.factories import T0, product_order
from tests.graphql.conftest import make_user

pytestmark = pytest.mark.django_db

AS_OF = T0 + timedelta(days=200)  # T0 is 2025-01-10 03:00 UTC; AS_OF 2025-07-29
CSV_URL = "/export/analytics.csv"
REPEAT = """query Repeat($level: CRMRepeatLevel, $channel: String, $firstMonth: String,
  $sortBy: CRMProductRepeatSortingInput, $first: Int, $after: String) {
  crmProductRepeat(level: $level, channel: $channel, firstMonth: $firstMonth, sortBy: $sortBy,
    first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { node { item name buyers repeatBuyers repeatRate firstBuyers
      observed30 second30 share30 observed60 second60 share60 observed90 second90 share90
      observed180 second180 share180 medianDaysToSecond repeatIntervalDays } } } }"""
F2 = """query F2($by: CRMF2By, $channel: String, $firstMonth: String) {
  crmF2(by: $by, channel: $channel, firstMonth: $firstMonth, first: 100) {
    totalCount edges { node { firstMonth by value name firstBuyers observed30 second30 share30
      observed60 second60 share60 observed90 second90 share90 } } } }"""
COHORTS = """query Cohorts($currency: String!, $channel: String) {
  crmCohorts(currency: $currency, channel: $channel) { cohortMonth monthsSince customers active
    retention revenue { amount currency } revenuePerCustomer { amount currency }
    cumulativePerCustomer { amount currency } complete } }"""
LTV = """query Ltv($currency: String!, $by: CRMLtvBy!) {
  crmLtv(currency: $currency, by: $by, first: 10) { totalCount edges { node { value name
    customers revenue { amount currency } average { amount currency }
    median { amount currency } } } } }"""
PAIRS = """query Pairs($channel: String!, $kind: CRMBasketKind, $sortBy: CRMBasketPairSort,
  $first: Int, $after: String) {
  crmBasketPairs(channel: $channel, kind: $kind, sortBy: $sortBy, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { node { productA nameA productB nameB together support confidenceAB confidenceBA
      lift } } } }"""
RUNS = """{ crmReportRun { asOf computedAt seconds currencies }
  crmBasketRuns { channel kind windowDays asOf transactions products pairs minCount minSupport
    computedAt } }"""


@pytest.fixture
def reports(db):
    """The store (JPY in channel-jpy, one USD customer in default-channel), its reports and
    basket pairs computed as of AS_OF, customer a in the JPY segment Champions.

    a: Tea on day 0 (2025-01-10) and day 20          b: Tea + Cup on day 3, Cup on day 100
    c: Cup + Bowl on day 5                            d: Tea + Bowl on day 40, Bowl on day 50
    f: Tea + Cup on day 60                            e: Cup for 12.34 USD on day 40
    """
    ingest_orders(
        [
            product_order("a1", "a", 0, {"P1": "1000"}),
            product_order("a2", "a", 20, {"P1": "500"}),
            product_order("b1", "b", 3, {"P1": "1000", "P2": "2000"}),
            product_order("b2", "b", 100, {"P2": "2000"}),
            product_order("c1", "c", 5, {"P2": "1000", "P3": "1500"}),
            product_order("d1", "d", 40, {"P1": "1000", "P3": "1500"}),
            product_order("d2", "d", 50, {"P3": "1500"}),
            product_order("f1", "f", 60, {"P1": "1000", "P2": "2000"}),
            product_order("e1", "e", 40, {"P2": "12.34"}, currency="USD"),
        ]
    )
    a = CustomerProfile.objects.get(user_id="a")
    CustomerSpend.objects.filter(profile=a, currency="JPY").update(segment="Champions")
    compute_baskets(AS_OF, window_days=30, min_count=1, min_share=0.0)
    return compute_reports(AS_OF, AS_OF, ["bronze", "silver"])


def _nodes(connection) -> list[dict]:
    return [edge["node"] for edge in connection["edges"]]


def _field(answer) -> str:
    return answer["errors"][0]["extensions"]["exception"]["field"]


def _money(amount, currency="JPY") -> dict:
    return {"amount": amount, "currency": currency}


# --- permission ---------------------------------------------------------------------------


QUERIES = {
    "crmReportRun": "{ crmReportRun { asOf } }",
    "crmProductRepeat": "{ crmProductRepeat(first: 5) { totalCount } }",
    "crmF2": "{ crmF2(first: 5) { totalCount } }",
    "crmCohorts": '{ crmCohorts(currency: "JPY") { cohortMonth } }',
    "crmLtv": '{ crmLtv(currency: "JPY", by: RANK, first: 5) { totalCount } }',
    "crmBasketRuns": "{ crmBasketRuns { channel } }",
    "crmBasketPairs": '{ crmBasketPairs(channel: "channel-jpy", first: 5) { totalCount } }',
}


@pytest.mark.parametrize("query", QUERIES.values(), ids=QUERIES.keys())
def test_customers_anonymous_and_staff_without_manage_users_are_refused(
    post, reports, staff_without_permission, query
):
    # given
    customer = make_user("a@example.com")

    # when
    answers = [
        post(query, token=customer.api_token),
        post(query),
        post(query, token=staff_without_permission.api_token),
    ]

    # then
    for answer in answers:
        assert answer["data"] is None or next(iter(answer["data"].values())) is None
        assert len(answer["errors"]) == 1
        assert answer["errors"][0]["extensions"]["exception"]["code"] == "PermissionDenied"
        assert answer["errors"][0]["message"] == (
            "You need one of the following permissions: MANAGE_USERS"
        )


# --- the reports ----------------------------------------------------------------------------


def test_before_the_first_computation_everything_is_empty(post, staff_user):
    # when
    answer = post(
        """{ crmReportRun { asOf } crmBasketRuns { channel }
        crmProductRepeat(first: 5) { totalCount edges { cursor } }
        crmCohorts(currency: "JPY") { cohortMonth }
        crmBasketPairs(channel: "channel-jpy", first: 5) { totalCount } }""",
        token=staff_user.api_token,
    )

    # then
    assert "errors" not in answer
    assert answer["data"] == {
        "crmReportRun": None,
        "crmBasketRuns": [],
        "crmProductRepeat": {"totalCount": 0, "edges": []},
        "crmCohorts": [],
        "crmBasketPairs": {"totalCount": 0},
    }


def test_the_run_in_force_and_what_the_pairs_were_counted_over(post, staff_user, reports):
    # when
    answer = post(RUNS, token=staff_user.api_token)

    # then
    assert "errors" not in answer
    run = answer["data"]["crmReportRun"]
    assert run["asOf"] == AS_OF.isoformat()
    assert run["computedAt"] == reports.computed_at.isoformat()
    assert json.loads(run["seconds"]) == reports.seconds
    assert "repeat:product" in json.loads(run["seconds"])
    assert run["currencies"] == sorted({row.currency for row in CohortRow.objects.all()})
    computed = AS_OF.isoformat()
    assert answer["data"]["crmBasketRuns"] == [
        # channel-jpy: 8 orders with a product, of 5 customers; Tea, Cup and Bowl
        {
            "channel": "channel-jpy",
            "kind": "ORDER",
            "windowDays": None,
            "asOf": computed,
            "transactions": 8,
            "products": 3,
            "pairs": 3,
            "minCount": 1,
            "minSupport": 0.0,
            "computedAt": computed,
        },
        {
            "channel": "channel-jpy",
            "kind": "CUSTOMER",
            "windowDays": 30,
            "asOf": computed,
            "transactions": 5,
            "products": 3,
            "pairs": 3,
            "minCount": 1,
            "minSupport": 0.0,
            "computedAt": computed,
        },
        {
            "channel": "default-channel",
            "kind": "ORDER",
            "windowDays": None,
            "asOf": computed,
            "transactions": 1,
            "products": 1,
            "pairs": 0,
            "minCount": 1,
            "minSupport": 0.0,
            "computedAt": computed,
        },
        {
            "channel": "default-channel",
            "kind": "CUSTOMER",
            "windowDays": 30,
            "asOf": computed,
            "transactions": 1,
            "products": 1,
            "pairs": 0,
            "minCount": 1,
            "minSupport": 0.0,
            "computedAt": computed,
        },
    ]


def test_repeat_rate_per_product_by_hand(post, staff_user, reports):
    # when: every channel and first-order month, most buyers first (the default)
    answer = post(REPEAT, {"first": 10}, token=staff_user.api_token)

    # then
    assert "errors" not in answer
    connection = answer["data"]["crmProductRepeat"]
    nodes = _nodes(connection)
    assert connection["totalCount"] == 3
    # Tea and Cup: 4 buyers each (ties by item), Bowl 2
    assert [(n["item"], n["buyers"]) for n in nodes] == [("P1", 4), ("P2", 4), ("P3", 2)]
    # Tea: a (days 0, 20), b (day 3), d (day 40), f (day 60); only a bought it twice. Their
    # second orders (any product): a after 20 days, b 97, d 10, f none. The 180-day window is
    # over for a and b only (d's first order is 160 days old, f's 140).
    assert nodes[0] == {
        "item": "P1",
        "name": "Tea",
        "buyers": 4,
        "repeatBuyers": 1,
        "repeatRate": 0.25,
        "firstBuyers": 4,
        "observed30": 4,
        "second30": 2,
        "share30": 0.5,
        "observed60": 4,
        "second60": 2,
        "share60": 0.5,
        "observed90": 4,
        "second90": 2,
        "share90": 0.5,
        "observed180": 2,
        "second180": 2,
        "share180": 1.0,
        "medianDaysToSecond": 20.0,
        "repeatIntervalDays": 20.0,
    }
    # the API answers the stored rows
    stored = ProductRepeatRow.objects.get(
        run=reports, level="product", channel="", first_month="", item="P3"
    )
    assert (nodes[2]["repeatRate"], nodes[2]["share30"], nodes[2]["repeatIntervalDays"]) == (
        stored.repeat_rate,
        stored.share_30,
        stored.repeat_interval_days,
    )
    assert (stored.repeat_rate, stored.repeat_interval_days) == (0.5, 10.0)  # d: days 40, 50


@pytest.mark.parametrize(
    ("sort_by", "month", "items"),
    [
        ({"field": "REPEAT_RATE", "direction": "DESC"}, None, ["P3", "P1", "P2"]),
        ({"field": "REPEAT_RATE", "direction": "ASC"}, None, ["P1", "P2", "P3"]),
        ({"field": "NAME", "direction": "ASC"}, None, ["P3", "P2", "P1"]),  # Bowl, Cup, Tea
        ({"field": "BUYERS", "direction": "ASC"}, None, ["P3", "P1", "P2"]),
        # first buyers older than 180 days: Tea a, b (both again), Cup b, c (b), Bowl c
        ({"field": "SHARE_180", "direction": "DESC"}, None, ["P1", "P2", "P3"]),
        # February's new customers d (Tea, Bowl on days 40 and 50) and e (Cup): only Bowl has
        # an interval; the unknown come last, ascending too
        ({"field": "REPEAT_INTERVAL_DAYS", "direction": "ASC"}, "2025-02", ["P3", "P1", "P2"]),
    ],
    ids=["rate-desc", "rate-asc", "name", "buyers-asc", "share-180", "nulls-last"],
)
def test_repeat_rows_are_sorted(post, staff_user, reports, sort_by, month, items):
    # when
    answer = post(
        REPEAT, {"first": 10, "sortBy": sort_by, "firstMonth": month}, token=staff_user.api_token
    )

    # then
    assert [n["item"] for n in _nodes(answer["data"]["crmProductRepeat"])] == items


def test_repeat_rows_are_paged(post, staff_user, reports):
    # given
    sort_by = {"field": "REPEAT_RATE", "direction": "DESC"}

    # when
    first = post(REPEAT, {"first": 2, "sortBy": sort_by}, token=staff_user.api_token)
    cursor = first["data"]["crmProductRepeat"]["pageInfo"]["endCursor"]
    rest = post(
        REPEAT, {"first": 2, "after": cursor, "sortBy": sort_by}, token=staff_user.api_token
    )

    # then
    page, next_page = first["data"]["crmProductRepeat"], rest["data"]["crmProductRepeat"]
    assert [n["item"] for n in _nodes(page)] == ["P3", "P1"]
    assert (page["totalCount"], page["pageInfo"]["hasNextPage"]) == (3, True)
    assert [n["item"] for n in _nodes(next_page)] == ["P2"]
    assert (next_page["totalCount"], next_page["pageInfo"]["hasNextPage"]) == (3, False)


def test_repeat_rows_of_a_level_channel_and_first_month(post, staff_user, reports):
    # when: the categories, and the variants of February's new customers in channel-jpy (d)
    categories = post(REPEAT, {"first": 10, "level": "CATEGORY"}, token=staff_user.api_token)
    february = post(
        REPEAT,
        {"first": 10, "level": "VARIANT", "channel": "channel-jpy", "firstMonth": "2025-02"},
        token=staff_user.api_token,
    )

    # then: C1 (Tea, Cup): a, b, d, f and c, e; b and a bought C1 on two days
    c1, c2 = _nodes(categories["data"]["crmProductRepeat"])
    assert (c1["item"], c1["name"], c1["buyers"], c1["repeatBuyers"]) == ("C1", "", 6, 2)
    assert (c2["item"], c2["buyers"], c2["repeatBuyers"]) == ("C2", 2, 1)
    assert [
        (n["item"], n["name"], n["buyers"], n["repeatBuyers"], n["second30"])
        for n in _nodes(february["data"]["crmProductRepeat"])
    ] == [("v-P1", "Tea", 1, 0, 1), ("v-P3", "Bowl", 1, 1, 1)]


def test_f2_per_first_month_by_hand(post, staff_user, reports):
    # when
    answer = post(F2, {}, token=staff_user.api_token)

    # then: first orders a, b, c in January, d and e in February, f in March; a's second came
    # after 20 days, d's after 10, b's after 97; every 90-day window is over but f's
    assert "errors" not in answer
    nodes = _nodes(answer["data"]["crmF2"])
    assert [(n["firstMonth"], n["by"], n["value"], n["firstBuyers"]) for n in nodes] == [
        ("", "ALL", "", 6),
        ("2025-01", "ALL", "", 3),
        ("2025-02", "ALL", "", 2),
        ("2025-03", "ALL", "", 1),
    ]
    assert nodes[0] == {
        "firstMonth": "",
        "by": "ALL",
        "value": "",
        "name": "",
        "firstBuyers": 6,
        "observed30": 6,
        "second30": 2,
        "share30": 2 / 6,
        "observed60": 6,
        "second60": 2,
        "share60": 2 / 6,
        "observed90": 6,
        "second90": 2,
        "share90": 2 / 6,
    }
    january = nodes[1]
    assert (january["second30"], january["share30"], january["observed90"]) == (1, 1 / 3, 3)


def test_f2_by_first_product_of_one_month_and_channel(post, staff_user, reports):
    # when
    answer = post(
        F2,
        {"by": "FIRST_PRODUCT", "firstMonth": "", "channel": "channel-jpy"},
        token=staff_user.api_token,
    )

    # then: Tea first for a, b, d, f (a and d ordered again within 30 days); Cup for b, c, f;
    # Bowl for c and d
    assert [
        (n["by"], n["value"], n["name"], n["firstBuyers"], n["second30"], n["share30"])
        for n in _nodes(answer["data"]["crmF2"])
    ] == [
        ("FIRST_PRODUCT", "P1", "Tea", 4, 2, 0.5),
        ("FIRST_PRODUCT", "P2", "Cup", 3, 0, 0.0),
        ("FIRST_PRODUCT", "P3", "Bowl", 2, 1, 0.5),
    ]


def test_cohort_table_of_a_currency_by_hand(post, staff_user, reports):
    # when
    answer = post(COHORTS, {"currency": "jpy"}, token=staff_user.api_token)

    # then: January's cohort a, b, c spent 7,000 in January (a twice), b 2,000 in April
    assert "errors" not in answer
    cells = answer["data"]["crmCohorts"]
    january = [c for c in cells if c["cohortMonth"] == "2025-01"]
    assert [c["monthsSince"] for c in january] == list(range(7))  # January to July
    assert january[0] == {
        "cohortMonth": "2025-01",
        "monthsSince": 0,
        "customers": 3,
        "active": 3,
        "retention": 1.0,
        "revenue": _money(7000.0),
        "revenuePerCustomer": _money(2333.0),  # 7,000 / 3 in yen
        "cumulativePerCustomer": _money(2333.0),
        "complete": True,
    }
    assert january[3] == {
        "cohortMonth": "2025-01",
        "monthsSince": 3,
        "customers": 3,
        "active": 1,
        "retention": 1 / 3,
        "revenue": _money(2000.0),
        "revenuePerCustomer": _money(667.0),
        "cumulativePerCustomer": _money(3000.0),  # 9,000 / 3
        "complete": True,
    }
    assert january[6]["complete"] is False  # July is not over on the 29th
    # d in February (2,500, then 1,500 in March), f in March; e's dollars are not here
    assert {c["cohortMonth"] for c in cells} == {"2025-01", "2025-02", "2025-03"}
    february = [c for c in cells if c["cohortMonth"] == "2025-02"]
    assert [(c["revenue"]["amount"], c["cumulativePerCustomer"]["amount"]) for c in february][
        :2
    ] == [(2500.0, 2500.0), (1500.0, 4000.0)]


def test_ltv_by_segment_and_rank_by_hand(post, staff_user, reports):
    # when
    segments = post(LTV, {"currency": "JPY", "by": "SEGMENT"}, token=staff_user.api_token)
    ranks = post(LTV, {"currency": "JPY", "by": "RANK"}, token=staff_user.api_token)

    # then: a (Champions) spent 1,500; b 5,000, c 2,500, d 4,000 and f 3,000 have no segment
    assert _nodes(segments["data"]["crmLtv"]) == [
        {
            "value": "",
            "name": "",
            "customers": 4,
            "revenue": _money(14500.0),
            "average": _money(3625.0),
            "median": _money(3500.0),
        },
        {
            "value": "Champions",
            "name": "",
            "customers": 1,
            "revenue": _money(1500.0),
            "average": _money(1500.0),
            "median": _money(1500.0),
        },
    ]
    # nobody holds a rank: everyone under the lowest
    assert ranks["data"]["crmLtv"]["totalCount"] == 1
    (bronze,) = _nodes(ranks["data"]["crmLtv"])
    assert (bronze["value"], bronze["customers"], bronze["revenue"], bronze["median"]) == (
        "bronze",
        5,
        _money(16000.0),
        _money(3000.0),
    )


# --- basket pairs -----------------------------------------------------------------------------


def test_pairs_of_a_channel_by_hand_and_paged(post, staff_user, reports):
    # when
    first = post(PAIRS, {"channel": "channel-jpy", "first": 2}, token=staff_user.api_token)
    cursor = first["data"]["crmBasketPairs"]["pageInfo"]["endCursor"]
    rest = post(
        PAIRS, {"channel": "channel-jpy", "first": 2, "after": cursor}, token=staff_user.api_token
    )

    # then: 8 orders; Tea in 5, Cup in 4, Bowl in 3; Tea + Cup in b1 and f1
    assert "errors" not in first
    page = first["data"]["crmBasketPairs"]
    assert (page["totalCount"], page["pageInfo"]["hasNextPage"]) == (3, True)
    nodes = _nodes(page) + _nodes(rest["data"]["crmBasketPairs"])
    assert nodes[0] == {
        "productA": "P1",
        "nameA": "Tea",
        "productB": "P2",
        "nameB": "Cup",
        "together": 2,
        "support": 0.25,
        "confidenceAB": 0.4,
        "confidenceBA": 0.5,
        "lift": 0.8,  # 2 * 8 / (5 * 4)
    }
    assert [(n["productA"], n["productB"], n["lift"]) for n in nodes] == [
        ("P1", "P2", 0.8),
        ("P2", "P3", pytest.approx(8 / 12)),
        ("P1", "P3", pytest.approx(8 / 15)),
    ]
    assert rest["data"]["crmBasketPairs"]["pageInfo"]["hasNextPage"] is False


def test_customer_pairs_sorted_by_confidence(post, staff_user, reports):
    # when: bought by the same customer within 30 days: 5 customers; Tea a, b, d, f; Cup b,
    # c, f; Bowl c, d. Tea + Cup: b and f; Cup + Bowl: c; Tea + Bowl: d
    answer = post(
        PAIRS,
        {"channel": "channel-jpy", "kind": "CUSTOMER", "sortBy": "CONFIDENCE", "first": 10},
        token=staff_user.api_token,
    )

    # then: the stronger direction: 2/3, 1/2, 1/2 (ties as stored, by lift)
    assert [
        (n["productA"], n["productB"], n["together"], n["confidenceAB"], n["confidenceBA"])
        for n in _nodes(answer["data"]["crmBasketPairs"])
    ] == [
        ("P1", "P2", 2, 0.5, 2 / 3),
        ("P2", "P3", 1, 1 / 3, 0.5),
        ("P1", "P3", 1, 0.25, 0.5),
    ]


# --- bad arguments ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "variables", "field", "message"),
    [
        (
            REPEAT,
            {"first": 5, "firstMonth": "2025-1"},
            "firstMonth",
            "'2025-1' is not a month as YYYY-MM",
        ),
        (REPEAT, {"first": 500}, "first", "must be between 0 and 100, not 500"),
        (REPEAT, {}, "first", "give `first` or `last` to page through the list"),
        (
            REPEAT,
            {"first": 5, "after": "nonsense"},
            "after",
            "'nonsense' is not a cursor of this connection",
        ),
        (F2, {"firstMonth": "May"}, "firstMonth", "'May' is not a month as YYYY-MM"),
        (
            COHORTS,
            {"currency": "yen"},
            "currency",
            "'yen' is not an ISO 4217 currency code in use",
        ),
        (
            LTV,
            {"currency": "XY", "by": "RANK"},
            "currency",
            "'XY' is not an ISO 4217 currency code (three letters)",
        ),
    ],
    ids=["month", "page-size", "no-first", "cursor", "f2-month", "cohort-currency", "ltv"],
)
def test_a_bad_argument_is_named(post, staff_user, reports, query, variables, field, message):
    # when
    answer = post(query, variables, token=staff_user.api_token)

    # then
    assert len(answer["errors"]) == 1
    assert _field(answer) == field
    assert answer["errors"][0]["message"] == f"{field}: {message}"
    assert not any((answer["data"] or {}).values())


# --- CSV ------------------------------------------------------------------------------------


def _post_csv(client, body, token=None, url=CSV_URL):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    data = body if isinstance(body, str) else json.dumps(body)
    return client.post(url, data=data, content_type="application/json", **headers)


def _csv(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_repeat_csv_is_streamed_as_the_query_sorts_it(client, staff_user, reports):
    # when
    response = _post_csv(
        client,
        {
            "report": "repeat",
            "level": "PRODUCT",
            "sortBy": {"field": "NAME", "direction": "ASC"},
            "first": 1,  # the query's paging: the CSV holds the whole table
        },
        staff_user.api_token,
    )

    # then
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="repeat-rate-product.csv"'
    rows = _csv(response)
    assert [(r["item"], r["name"], r["buyers"], r["repeat_rate"]) for r in rows] == [
        ("P3", "Bowl", "2", "0.5"),
        ("P2", "Cup", "4", "0.25"),
        ("P1", "Tea", "4", "0.25"),
    ]
    assert (rows[2]["level"], rows[2]["channel"], rows[2]["first_month"]) == ("product", "", "")
    assert (rows[2]["median_days_to_second"], rows[2]["share_180"]) == ("20.0", "1.0")
    assert rows[0]["share_180"] == "0.0"  # c's 180 days are over, without a second order


def test_unknown_figures_are_empty_in_the_csv(client, staff_user, reports):
    # when: March's new customer f: no 180 days observed, no second order
    response = _post_csv(
        client, {"report": "repeat", "firstMonth": "2025-03"}, staff_user.api_token
    )

    # then
    rows = _csv(response)
    assert [(r["item"], r["observed_180"], r["share_180"]) for r in rows] == [
        ("P1", "0", ""),
        ("P2", "0", ""),
    ]
    assert {r["median_days_to_second"] for r in rows} == {""}


def test_pairs_csv_through_the_plugin_path(client, staff_user, reports):
    # when
    response = _post_csv(
        client,
        {"report": "pairs", "channel": "channel-jpy", "sortBy": "LIFT"},
        staff_user.api_token,
        url="/plugins/global/saleor.crm/export/analytics.csv",
    )

    # then
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="basket-pairs-order.csv"'
    rows = _csv(response)
    assert [(r["product_a"], r["product_b"], r["together"]) for r in rows] == [
        ("P1", "P2", "2"),
        ("P2", "P3", "1"),
        ("P1", "P3", "1"),
    ]
    assert rows[0] == {
        "channel": "channel-jpy",
        "kind": "order",
        "window_days": "",
        "product_a": "P1",
        "name_a": "Tea",
        "product_b": "P2",
        "name_b": "Cup",
        "together": "2",
        "count_a": "5",
        "count_b": "4",
        "transactions": "8",
        "support": "0.25",
        "confidence_ab": "0.4",
        "confidence_ba": "0.5",
        "lift": "0.8",
    }


@pytest.mark.parametrize(
    ("body", "file_name", "lines"),
    [
        (
            {"report": "cohorts", "currency": "usd"},
            "cohorts-USD.csv",
            [",USD,2025-02,0,1,1,1.0,12.340,12.340,12.340,True"],
        ),
        (
            {"report": "ltv", "currency": "JPY", "by": "RANK"},
            "ltv-rank-JPY.csv",
            ["JPY,rank,bronze,,5,16000.000,3200.000,3000.000"],
        ),
        (
            {"report": "f2", "by": "SUBSCRIPTION_START", "firstMonth": "", "channel": None},
            "f2-subscription.csv",
            [
                ",,subscription,no,,6,6,2,0.3333333333333333,6,2,0.3333333333333333,6,2,"
                "0.3333333333333333"
            ],
        ),
    ],
    ids=["cohorts", "ltv", "f2"],
)
def test_other_reports_as_csv(client, staff_user, reports, body, file_name, lines):
    # when
    response = _post_csv(client, body, staff_user.api_token)

    # then
    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="{file_name}"'
    text = b"".join(response.streaming_content).decode()
    assert text.splitlines()[1 : 1 + len(lines)] == lines


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"report": "basket"}, "report", "'basket' is not one of repeat, f2, cohorts, ltv, pairs"),
        ({}, "report", "is required: one of repeat, f2, cohorts, ltv, pairs"),
        ({"report": "repeat", "firstMonth": "2025-1"}, "firstMonth", "'2025-1' is not a month"),
        ({"report": "repeat", "level": "BRAND"}, "level", "'BRAND' is not one of"),
        (
            {"report": "repeat", "sortBy": {"field": "PRICE", "direction": "DESC"}},
            "sortBy.field",
            "'PRICE' is not one of REPEAT_RATE",
        ),
        ({"report": "repeat", "sortBy": "NAME"}, "sortBy", "must be an object"),
        ({"report": "repeat", "colour": "red"}, "colour", "is not an argument of the repeat"),
        ({"report": "ltv", "currency": "JPY"}, "by", "is required: one of SEGMENT, RANK"),
        ({"report": "cohorts"}, "currency", "is required"),
        ({"report": "pairs", "kind": "ORDER"}, "channel", "is required"),
        ({"report": "pairs", "channel": 5}, "channel", "must be a string, not 5"),
        ("[1, 2]", "body", "the request body must be a JSON object"),
        ("{", "body", "the request body is not JSON"),
    ],
    ids=[
        "report",
        "no-report",
        "month",
        "level",
        "sort-field",
        "sort-shape",
        "unknown",
        "ltv-by",
        "currency",
        "channel",
        "channel-type",
        "not-object",
        "not-json",
    ],
)
def test_a_bad_csv_request_names_the_field(client, staff_user, reports, body, field, message):
    # when
    response = _post_csv(client, body, staff_user.api_token)

    # then
    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert error["field"] == field
    assert error["message"].startswith(message)


def test_customers_and_anonymous_cannot_download_reports(client, reports):
    # given
    customer = make_user("a@example.com")
    body = {"report": "repeat"}

    # when
    as_customer = _post_csv(client, body, customer.api_token)
    with_bad_token = _post_csv(client, body, "not-a-token")
    anonymous = _post_csv(client, body)
    by_get = client.get(CSV_URL)

    # then: a token that authenticates nobody is told so
    assert [r.status_code for r in (as_customer, with_bad_token, anonymous)] == [403, 401, 403]
    assert with_bad_token.json() == {
        "errors": [
            {"field": "token", "message": "Invalid token. User does not exist or is inactive."}
        ]
    }
    assert as_customer.json() == {
        "errors": [
            {
                "field": "permission",
                "message": "You need one of the following permissions: MANAGE_USERS",
            }
        ]
    }
    assert by_get.status_code == 405
