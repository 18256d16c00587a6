"""The staff analytics reports as the Analytics page's browser tests see them.

`install(page)` answers the page's report requests (its queries of crmReportRun, crmCohorts,
crmF2, crmProductRepeat, crmLtv, crmBasketRuns and crmBasketPairs, and `POST
export/analytics.csv`) at the HTTP level (Playwright's `page.route`) with the rows below, shaped
exactly as the API answers them (/work/analytics-api.md; `test_pages` validates the page's
queries against the schema); every other request (the model card's `crmPredictionFits`, the
other pages' queries) goes to the live server. The rows are chosen for exact assertions on
the page: sorting with unknown figures, months not over yet, shares not observed yet, both
kinds of pairs, the export request as sent.

`store_reports()` stores real reports and pairs instead (the nightly task's own
`compute_reports` and `compute_baskets` over a small ledger): a test runs the page on the real
API and CSV export by calling it rather than `install`.
"""

import json
from dataclasses import dataclass, field
from datetime import timedelta

from saleor_crm_plugin.dashboard.views import ANALYTICS_QUERIES
from tests.factories import T0, product_order

# The page's requests answered here, by the query's text (views.ANALYTICS_QUERIES).
STUBBED = ("runs", "cohorts", "f2", "repeat", "pairs", "ltv")

REPORT_RUN = {
    "asOf": "2026-03-01T00:00:00+00:00",
    "computedAt": "2026-03-01T03:00:12+00:00",
    "seconds": json.dumps({"repeat": 0.4, "f2": 0.1, "cohorts": 0.2, "ltv": 0.1}),
    "currencies": ["JPY", "USD"],
}
# Two channels: the page opens on the one of the most orders (channel-jpy), not the first.
BASKET_RUNS = [
    {
        "channel": channel,
        "kind": kind,
        "windowDays": window,
        "asOf": "2026-03-01T00:00:00+00:00",
        "transactions": transactions,
        "products": 40,
        "pairs": pairs,
        "minCount": 3,
        "minSupport": 0.001,
        "computedAt": "2026-03-01T03:00:20+00:00",
    }
    for channel, kind, window, transactions, pairs in [
        ("channel-eur", "ORDER", None, 50, 0),
        ("channel-jpy", "ORDER", None, 1200, 3),
        ("channel-jpy", "CUSTOMER", 90, 300, 2),
    ]
]


def _money(amount, currency):
    return {"amount": amount, "currency": currency}


def _cohort(currency, month, since, customers, active, revenue, cumulative, complete=True):
    return {
        "cohortMonth": month,
        "monthsSince": since,
        "customers": customers,
        "active": active,
        "retention": active / customers,
        "revenue": _money(revenue, currency),
        "revenuePerCustomer": _money(revenue / customers, currency),
        "cumulativePerCustomer": _money(cumulative, currency),
        "complete": complete,
    }


# Three JPY cohorts (the last months not over yet) and one USD cohort.
COHORTS = {
    "JPY": [
        _cohort("JPY", "2025-12", 0, 20, 20, 60000, 3000),
        _cohort("JPY", "2025-12", 1, 20, 8, 24000, 4200),
        _cohort("JPY", "2025-12", 2, 20, 5, 15000, 4950, complete=False),
        _cohort("JPY", "2026-01", 0, 10, 10, 30000, 3000),
        _cohort("JPY", "2026-01", 1, 10, 3, 9000, 3900, complete=False),
        _cohort("JPY", "2026-02", 0, 5, 5, 15000, 3000, complete=False),
    ],
    "USD": [
        _cohort("USD", "2026-01", 0, 4, 4, 200, 50),
        _cohort("USD", "2026-01", 1, 4, 1, 40, 60, complete=False),
    ],
}


def _f2(month, by, value, name, buyers, shares):
    row = {"firstMonth": month, "by": by, "value": value, "name": name, "firstBuyers": buyers}
    for days, (observed, second) in zip((30, 60, 90), shares, strict=True):
        row[f"observed{days}"] = observed
        row[f"second{days}"] = second
        row[f"share{days}"] = second / observed if observed else None
    return row


F2 = {
    "ALL": [
        _f2("", "ALL", "", "", 35, [(35, 10), (30, 12), (20, 9)]),
        _f2("2025-12", "ALL", "", "", 20, [(20, 6), (20, 8), (20, 9)]),
        _f2("2026-01", "ALL", "", "", 10, [(10, 3), (10, 4), (0, 0)]),
        _f2("2026-02", "ALL", "", "", 5, [(5, 1), (0, 0), (0, 0)]),
    ],
    "SUBSCRIPTION_START": [
        _f2("", "SUBSCRIPTION_START", "yes", "", 8, [(8, 5), (7, 6), (5, 4)]),
        _f2("", "SUBSCRIPTION_START", "no", "", 27, [(27, 5), (23, 6), (15, 5)]),
    ],
    "FIRST_PRODUCT": [
        _f2("", "FIRST_PRODUCT", "p-beans", "Beans 1 kg", 21, [(21, 8), (18, 9), (12, 7)]),
        _f2("", "FIRST_PRODUCT", "p-mug", "Mug", 14, [(14, 2), (12, 3), (8, 2)]),
    ],
}


def _repeat(item, name, buyers, repeat_buyers, first, shares, median, interval):
    row = {
        "item": item,
        "name": name,
        "buyers": buyers,
        "repeatBuyers": repeat_buyers,
        "repeatRate": repeat_buyers / buyers,
        "firstBuyers": first,
        "medianDaysToSecond": median,
        "repeatIntervalDays": interval,
    }
    for days, (observed, second) in zip((30, 60, 90, 180), shares, strict=True):
        row[f"observed{days}"] = observed
        row[f"second{days}"] = second
        row[f"share{days}"] = second / observed if observed else None
    return row


REPEAT = {
    "PRODUCT": [
        _repeat(
            "p-beans", "Beans 1 kg", 40, 22, 21, [(21, 8), (18, 9), (12, 7), (8, 6)], 33.0, 30.0
        ),
        _repeat("p-mug", "Mug", 25, 3, 14, [(14, 2), (12, 3), (8, 2), (5, 2)], 71.5, None),
        _repeat("p-filter", "Paper filters", 30, 12, 0, [(0, 0)] * 4, None, 45.0),
    ],
    "VARIANT": [
        _repeat("v-beans-1kg", "Beans 1 kg / Dark", 28, 15, 15, [(15, 6)] * 4, 31.0, 30.0),
    ],
    "CATEGORY": [
        _repeat("c-coffee", "Coffee", 52, 30, 30, [(30, 12)] * 4, 32.0, 30.0),
    ],
}
_REPEAT_KEYS = {
    "NAME": "name",
    "BUYERS": "buyers",
    "REPEAT_BUYERS": "repeatBuyers",
    "REPEAT_RATE": "repeatRate",
    "SHARE_30": "share30",
    "SHARE_60": "share60",
    "SHARE_90": "share90",
    "SHARE_180": "share180",
    "MEDIAN_DAYS_TO_SECOND": "medianDaysToSecond",
    "REPEAT_INTERVAL_DAYS": "repeatIntervalDays",
}


def _pair(a, name_a, b, name_b, together, support, ab, ba, lift):
    return {
        "productA": a,
        "nameA": name_a,
        "productB": b,
        "nameB": name_b,
        "together": together,
        "support": support,
        "confidenceAB": ab,
        "confidenceBA": ba,
        "lift": lift,
    }


PAIRS = {
    "ORDER": [
        _pair("p-beans", "Beans 1 kg", "p-filter", "Paper filters", 60, 0.05, 0.4, 0.5, 2.5),
        _pair("p-mug", "Mug", "p-beans", "Beans 1 kg", 90, 0.075, 0.6, 0.3, 1.2),
        _pair("p-mug", "Mug", "p-filter", "Paper filters", 12, 0.01, 0.08, 0.1, 3.1),
    ],
    "CUSTOMER": [
        _pair("p-beans", "Beans 1 kg", "p-filter", "Paper filters", 40, 0.133, 0.5, 0.6, 1.9),
        _pair("p-mug", "Mug", "p-beans", "Beans 1 kg", 20, 0.067, 0.3, 0.2, 0.9),
    ],
}
_PAIR_KEYS = {
    "LIFT": "lift",
    "SUPPORT": "support",
    "CONFIDENCE": "confidenceAB",
    "TOGETHER": "together",
}


def _ltv(value, name, customers, revenue, average, median, currency):
    return {
        "value": value,
        "name": name,
        "customers": customers,
        "revenue": _money(revenue, currency),
        "average": _money(average, currency),
        "median": _money(median, currency),
    }


LTV = {
    ("JPY", "SEGMENT"): [
        _ltv("Champions", "Champions", 5, 90000, 18000, 16000, "JPY"),
        _ltv("Hibernating", "Hibernating", 20, 60000, 3000, 3000, "JPY"),
    ],
    ("JPY", "RANK"): [_ltv("GOLD", "Gold", 4, 80000, 20000, 19000, "JPY")],
    # a long name and seven-figure amounts: wider than a third of a 1,200 px page
    ("JPY", "FIRST_PRODUCT"): [
        _ltv("p-beans", "Beans 1 kg", 21, 105000, 5000, 4200, "JPY"),
        _ltv(
            "p-gift",
            "Seasonal gift box: sencha, matcha and wagashi",
            3,
            3703701,
            1234567,
            1198000,
            "JPY",
        ),
    ],
    ("USD", "SEGMENT"): [_ltv("Champions", "Champions", 1, 120, 120, 120, "USD")],
}


def _connection(rows):
    return {
        "totalCount": len(rows),
        "edges": [{"node": row, "cursor": str(i)} for i, row in enumerate(rows)],
    }


def _sorted(rows, key, descending):
    # as the server sorts: the figure, unknown (null) last whichever the direction
    known = sorted(
        (r for r in rows if r[key] is not None), key=lambda r: r[key], reverse=descending
    )
    return known + [r for r in rows if r[key] is None]


def answer(name: str, variables: dict) -> dict:
    """The `data` the agreed API answers to the page's query `name` with these variables."""
    if name == "runs":
        return {"crmReportRun": REPORT_RUN, "crmBasketRuns": BASKET_RUNS}
    if name == "cohorts":
        return {"crmCohorts": COHORTS.get(variables["currency"], [])}
    if name == "f2":
        return {
            alias: _connection(F2[by])
            for alias, by in [
                ("months", "ALL"),
                ("subscription", "SUBSCRIPTION_START"),
                ("product", "FIRST_PRODUCT"),
            ]
        }
    if name == "repeat":
        sort = variables.get("sortBy") or {"field": "REPEAT_RATE", "direction": "DESC"}
        rows = _sorted(
            REPEAT[variables.get("level") or "PRODUCT"],
            _REPEAT_KEYS[sort["field"]],
            sort["direction"] == "DESC",
        )
        return {"crmProductRepeat": _connection(rows)}
    if name == "pairs":
        rows = [] if variables["channel"] != "channel-jpy" else PAIRS[variables["kind"]]
        key = _PAIR_KEYS[variables.get("sortBy") or "LIFT"]
        return {"crmBasketPairs": _connection(_sorted(rows, key, descending=True))}
    if name == "ltv":
        currency = variables["currency"]
        return {
            alias: _connection(LTV.get((currency, by), []))
            for alias, by in [
                ("segment", "SEGMENT"),
                ("rank", "RANK"),
                ("product", "FIRST_PRODUCT"),
            ]
        }
    raise AssertionError(f"no stub for {name}")


@dataclass
class Seen:
    """What the page sent: each stubbed query (name, variables), each CSV export request."""

    queries: list = field(default_factory=list)
    exports: list = field(default_factory=list)


def install(page, empty: bool = False) -> Seen:
    """Answer the page's report queries and CSV exports; `empty`: nothing computed yet."""
    by_text = {ANALYTICS_QUERIES[name]: name for name in STUBBED}
    seen = Seen()

    def graphql(route):
        body = json.loads(route.request.post_data or "{}")
        name = by_text.get(body.get("query"))
        if name is None:
            route.continue_()
            return
        variables = body.get("variables") or {}
        seen.queries.append((name, variables))
        if empty and name == "runs":
            data = {"crmReportRun": None, "crmBasketRuns": []}
        else:
            data = answer(name, variables)
        route.fulfill(status=200, content_type="application/json", body=json.dumps({"data": data}))

    def export(route):
        request = route.request
        body = json.loads(request.post_data or "{}")
        seen.exports.append(
            {
                "method": request.method,
                "url": request.url,
                "authorization": request.headers.get("authorization"),
                "body": body,
            }
        )
        route.fulfill(
            status=200,
            content_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{body["report"]}.csv"'},
            body="item,name\np-beans,Beans 1 kg\n",
        )

    page.route("**/graphql/", graphql)
    page.route("**/export/analytics.csv", export)
    return seen


# --- real reports ---------------------------------------------------------------------------

REAL_AS_OF = T0 + timedelta(days=200)


def store_reports():
    """Five JPY customers and one USD customer with orders of Tea, Cup and Bowl, scored (RFM)
    and their reports and pairs computed as of `REAL_AS_OF`, as the nightly task does; returns
    the report run in force."""
    from zoneinfo import ZoneInfo

    from saleor_crm_plugin.analytics.basket_services import compute_baskets
    from saleor_crm_plugin.analytics.report_services import compute_reports
    from saleor_crm_plugin.customers.ingest import ingest_orders
    from saleor_crm_plugin.segments.services import recompute_rfm

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
    recompute_rfm(ZoneInfo("Asia/Tokyo"), as_of=REAL_AS_OF)
    compute_baskets(REAL_AS_OF, window_days=30, min_count=1, min_share=0.0)
    return compute_reports(REAL_AS_OF, REAL_AS_OF, ["REGULAR"])
