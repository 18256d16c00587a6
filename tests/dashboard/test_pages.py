"""The Dashboard pages over HTTP in the sandbox, at the paths Saleor serves them."""

import base64
import json
import logging
import re

import pytest
from freezegun import freeze_time

from saleor_crm_plugin.campaigns import flows
from saleor_crm_plugin.customers.models import CustomerProfile
from saleor_crm_plugin.loyalty.services import adjust
from tests.factories import T0
from tests.graphql.conftest import make_user
from tests.graphql.test_recommendations import NOW, tea_store

pytestmark = pytest.mark.django_db
BASE = "/plugins/global/saleor.crm/dashboard"


def _user_id(user):
    return base64.b64encode(f"User:{user.pk}".encode()).decode()


def _config(html: str) -> dict:
    found = re.search(
        r'<script id="crm-config" type="application/json">(.*?)</script>', html, re.DOTALL
    )
    return json.loads(found.group(1))


def test_a_page_is_a_shell_in_the_dashboards_theme_and_language(client):
    light = client.get(f"{BASE}/overview?theme=light")
    dark_ja = client.get(f"{BASE}?theme=dark&locale=ja-JP")

    assert light.status_code == dark_ja.status_code == 200
    html = light.content.decode()
    assert '<html lang="en" data-theme="light">' in html
    assert _config(html)["graphql"] == "/plugins/global/saleor.crm/graphql/"
    assert 'src="/plugins/global/saleor.crm/dashboard/static/dashboard.js"' in html
    ja = dark_ja.content.decode()
    assert '<html lang="ja" data-theme="dark">' in ja
    assert '<span data-t="crm">CRM</span> · <span data-t="overview">概要</span>' in ja
    assert _config(ja)["text"]["customers_by_segment"] == "セグメント別の顧客"


def test_the_store_setting_gives_the_language_when_dashboard_does_not(client, settings):
    settings.CRM_CONFIG = {**settings.CRM_CONFIG, "dashboard-language": "ja"}
    from saleor_crm_plugin.host import reset_host

    reset_host()
    assert '<html lang="ja"' in client.get(f"{BASE}/overview").content.decode()
    assert '<html lang="en"' in client.get(f"{BASE}/overview?locale=en").content.decode()


def test_the_words_of_each_language_are_served_for_a_switch(client):
    ja = client.get(f"{BASE}/i18n/ja.json")
    en = client.get(f"{BASE}/i18n/en.json")

    assert ja.status_code == en.status_code == 200
    assert ja.json()["lang"] == "ja"
    assert ja.json()["text"]["overview"] == "概要"
    assert en.json()["text"]["overview"] == "Overview"
    assert set(ja.json()["text"]) == set(en.json()["text"])
    assert client.get(f"{BASE}/i18n/de.json").status_code == 404
    assert client.get(f"{BASE}/i18n/ja").status_code == 404


def test_the_language_dashboard_last_told_a_page_renders_the_widget_and_pages(
    client, ann, staff_user
):
    # given: dashboard.js kept Dashboard's `localeChanged` in its cookie
    client.cookies["saleor_crm_locale"] = "ja"

    # when
    widget = _widget(client, staff_user.api_token, ann).content.decode()
    page = client.get(f"{BASE}/loyalty").content.decode()
    asked = client.get(f"{BASE}/loyalty?locale=en").content.decode()

    # then
    assert '<html lang="ja"' in widget
    assert '<span data-t="rank">ランク</span>' in widget
    assert '<input type="hidden" name="locale" value="ja">' in widget
    assert '<html lang="ja"' in page
    assert '<html lang="en"' in asked


def test_static_files_are_served_and_nothing_else(client):
    script = client.get(f"{BASE}/static/dashboard.js")
    assert script.status_code == 200
    assert script["Content-Type"].startswith("text/javascript")
    assert b"handshake" in b"".join(script.streaming_content)
    assert client.get(f"{BASE}/static/../views.py").status_code == 404
    assert client.get(f"{BASE}/static/vendor/../../views.py").status_code == 404
    assert client.get(f"{BASE}/static/vendor/chart.js-LICENSE.md").status_code == 404
    assert client.get(f"{BASE}/static/__init__.py").status_code == 404
    assert client.get(f"{BASE}/nowhere").status_code == 404


def test_the_vendored_chart_library_is_served(client):
    # given: Chart.js 4's UMD build, shipped in the package (static/vendor/README.md)
    answer = client.get(f"{BASE}/static/vendor/chart.umd.js")

    # then
    body = b"".join(answer.streaming_content)
    assert answer.status_code == 200
    assert answer["Content-Type"] == "text/javascript; charset=utf-8"
    assert body.startswith(b"/*!\n * Chart.js v4.6.2\n")
    assert len(body) == 212_615


@pytest.fixture
def ann(db):
    user = make_user("ann@example.com")
    profile = CustomerProfile.objects.create(user_id=str(user.pk), order_count=2)
    adjust(profile.pk, 250, "welcome", T0, reason="welcome", actor="staff:1", currency="JPY")
    return user


def _widget(client, token, customer, **extra):
    data = {"customerId": _user_id(customer), "saleorApiUrl": "http://x/graphql/", **extra}
    if token is not None:
        data["accessToken"] = token
    return client.post(f"{BASE}/widget/customer", data)


def test_the_customer_widget_shows_the_customer_to_staff(client, ann, staff_user):
    answer = _widget(client, staff_user.api_token, ann, theme="dark")
    assert answer.status_code == 200
    html = answer.content.decode()
    assert 'data-theme="dark"' in html
    assert 'id="crm-rank">Regular<' in html
    assert 'id="crm-points-available">250<' in html
    # the token goes back only in the widget's own forms (as Dashboard posted it), never a URL
    for attribute in re.findall(r'(?:href|src|action)="([^"]*)"', html):
        assert staff_user.api_token not in attribute
    assert html.count(staff_user.api_token) == html.count('name="accessToken"')


def test_an_unexpected_error_in_the_widget_is_logged_and_its_text_not_shown(
    client, ann, staff_user, monkeypatch, caplog
):
    # given
    from saleor_crm_plugin.graphql.loyalty import resolvers

    def broken(*args, **kwargs):
        raise RuntimeError("secret-dsn postgres://crm:hunter2@10.0.0.5/crm")

    monkeypatch.setattr(resolvers, "membership", broken)

    # when
    with caplog.at_level(logging.ERROR, logger="saleor_crm_plugin.graphql.core.errors"):
        answer = _widget(client, staff_user.api_token, ann)

    # then
    assert answer.status_code == 200
    assert "hunter2" not in answer.content.decode()
    logged = [r for r in caplog.records if r.name == "saleor_crm_plugin.graphql.core.errors"]
    assert [(r.getMessage(), r.exc_info[0]) for r in logged] == [
        ("CRM GraphQL: unexpected error at ['crmCustomer', 'membership']", RuntimeError)
    ]


def test_no_token_a_bad_one_a_customer_or_staff_without_permission_see_nothing(
    client, ann, staff_without_permission, caplog
):
    caplog.set_level(logging.DEBUG)
    cases = [
        (None, 401),
        ("forged-token", 401),
        (ann.api_token, 403),
        (staff_without_permission.api_token, 403),
    ]
    for token, status in cases:
        answer = _widget(client, token, ann)
        assert answer.status_code == status, token
        html = answer.content.decode()
        assert "crm-points-available" not in html
        assert "250" not in html
    assert "forged-token" not in caplog.text
    assert ann.api_token not in caplog.text
    assert client.get(f"{BASE}/widget/customer").status_code == 405


def test_dashboard_posting_no_token_says_no_access_rather_than_sign_in(client, ann):
    # Dashboard 3.23 posts the widget with an empty token for a user without its permissions
    withheld = _widget(client, "", ann).content.decode()
    no_field = _widget(client, None, ann).content.decode()

    assert "You do not have access to this page." in withheld
    assert "Open this page from Saleor Dashboard." in no_field
    assert "crm-points-available" not in withheld


def test_a_customer_the_crm_does_not_know_gets_a_message(client, staff_user):
    stranger = make_user("new@example.com")
    answer = _widget(client, staff_user.api_token, stranger, locale="ja")
    assert answer.status_code == 200
    assert "CRM プロフィールはまだありません" in answer.content.decode()


def test_the_pages_graphql_is_at_the_plugins_path_in_the_sandbox_too(client, staff_user):
    answer = client.post(
        "/plugins/global/saleor.crm/graphql/",
        data=json.dumps({"query": "{ crmPointsLiability { currency available } }"}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {staff_user.api_token}",
    )
    assert answer.status_code == 200
    assert answer.json() == {"data": {"crmPointsLiability": []}}


def test_staff_adjust_points_and_pin_a_rank_from_the_widget(client, ann, staff_user, post_json):
    given = _widget(
        client,
        staff_user.api_token,
        ann,
        action="adjust",
        points="+50",
        reason="sorry for the delay",
        requestId="r-1",
    )
    again = _widget(
        client, staff_user.api_token, ann, action="adjust", points="50", reason="x", requestId="r-1"
    )
    assert given.status_code == again.status_code == 200
    assert 'id="crm-points-available">300<' in given.content.decode()
    assert 'id="crm-points-available">300<' in again.content.decode()  # the same request once
    assert "Saved." in given.content.decode()
    # the storefront API reports the new balance
    me = post_json("{ me { crmPoints { available } } }", ann.api_token)
    assert me["data"]["me"]["crmPoints"]["available"] == 300

    pinned = _widget(
        client, staff_user.api_token, ann, action="pin", code="GOLD", reason="VIP from the shop"
    )
    assert 'id="crm-rank">Gold<' in pinned.content.decode()


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"action": "adjust", "points": "lots", "reason": "x"}, "points: &#x27;lots&#x27; is not"),
        ({"action": "adjust", "points": "5", "reason": ""}, "reason"),
        ({"action": "pin", "code": "DIAMOND", "reason": "x"}, "code"),
    ],
)
def test_a_bad_widget_action_says_which_field_and_changes_nothing(
    client, ann, staff_user, fields, message
):
    answer = _widget(client, staff_user.api_token, ann, requestId="r-2", **fields)
    html = answer.content.decode()
    assert 'class="denied" role="status"' in html
    assert message in html
    assert 'id="crm-points-available">250<' in html
    assert 'id="crm-rank">Regular<' in html


def test_a_customer_cannot_adjust_through_the_widget(client, ann):
    answer = _widget(client, ann.api_token, ann, action="adjust", points="9999", reason="me")
    assert answer.status_code == 403
    from saleor_crm_plugin.loyalty.services import balance

    assert balance(CustomerProfile.objects.get(user_id=str(ann.pk)).pk, T0).available == 250


def test_the_analytics_page_is_a_shell_with_the_chart_library_in_english_and_japanese(client):
    # when
    en = client.get(f"{BASE}/analytics?theme=light").content.decode()
    ja = client.get(f"{BASE}/analytics?theme=dark&locale=ja").content.decode()
    overview = client.get(f"{BASE}/overview").content.decode()

    # then: Chart.js (vendored) on this page only, before the page's script
    chart = '<script src="/plugins/global/saleor.crm/dashboard/static/vendor/chart.umd.js">'
    assert en.index(chart) < en.index(
        'src="/plugins/global/saleor.crm/dashboard/static/dashboard.js"'
    )
    assert chart not in overview
    assert '<span data-t="crm">CRM</span> · <span data-t="analytics">Analytics</span>' in en
    assert '<html lang="ja" data-theme="dark">' in ja
    assert '<span data-t="analytics">分析</span>' in ja
    config = _config(en)
    assert config["exportAnalytics"] == "/plugins/global/saleor.crm/export/analytics.csv"
    assert config["analyticsHour"] == 3
    assert set(config["query"]) == {"fits", "runs", "cohorts", "f2", "repeat", "pairs", "ltv"}
    assert _config(ja)["text"]["model_card"] == "予測モデル"
    # no data in the shell: the page reads it with the staff token
    assert "crmPredictionFits" not in en.split('<script id="crm-config"')[0]


def test_dashboard_lists_the_analytics_page_under_customers(client):
    from saleor_crm_plugin.dashboard.app import extensions

    pages = [
        (e.identifier, e.label, e.url)
        for e in extensions("https://shop.example.com/plugins/global/saleor.crm/dashboard")
        if e.target == "app_page"
    ]
    assert ("crm-analytics", "CRM · Analytics", "/analytics") in pages
    assert [url for _identifier, _label, url in pages] == [
        "/overview",
        "/customers",
        "/segments",
        "/analytics",
        "/loyalty",
        "/subscriptions",
        "/campaigns",
        "/duplicates",
        "/import",
    ]
    assert client.get(f"{BASE}/analytics").status_code == 200


def test_the_campaigns_page_is_a_shell_with_its_queries_in_english_and_japanese(client):
    # when
    en = client.get(f"{BASE}/campaigns?theme=light").content.decode()
    ja = client.get(f"{BASE}/campaigns?theme=dark&locale=ja").content.decode()

    # then: Chart.js (sends per day) before the page's script, the words of both languages
    chart = '<script src="/plugins/global/saleor.crm/dashboard/static/vendor/chart.umd.js">'
    assert en.index(chart) < en.index(
        'src="/plugins/global/saleor.crm/dashboard/static/dashboard.js"'
    )
    assert '<span data-t="crm">CRM</span> · <span data-t="campaigns">Campaigns</span>' in en
    assert '<html lang="ja" data-theme="dark">' in ja
    assert '<span data-t="campaigns">キャンペーン</span>' in ja
    config = _config(en)
    assert set(config["query"]) == {
        "list",
        "report",
        "sends",
        "preview",
        "customer",
        "save",
        "install",
        "enable",
        "delete",
        "sendNow",
        "testSend",
        "saveTemplate",
    }
    assert config["text"]["measured_lift"] == "Measured lift against the control group"
    assert _config(ja)["text"]["measured_lift"] == "対照群と比べた効果 (リフト)"
    assert _config(ja)["text"]["attribution"] == "アトリビューション (効果の測定値ではありません)"
    # no data in the shell: the page reads it with the staff token
    assert "crmCampaignFlows" not in en.split('<script id="crm-config"')[0]
    from saleor_crm_plugin.dashboard.app import extensions

    page = next(
        e
        for e in extensions("https://shop.example.com/plugins/global/saleor.crm/dashboard")
        if e.identifier == "crm-campaigns"
    )
    assert (page.label, page.mount, page.target, page.url, page.permissions) == (
        "CRM · Campaigns",
        "navigation_customers",
        "app_page",
        "/campaigns",
        ("MANAGE_USERS",),
    )


def test_the_campaigns_pages_requests_are_valid_and_answer_staff_only(
    post_json, staff_user, client
):
    from graphql import parse, validate

    from saleor_crm_plugin.dashboard.views import CAMPAIGNS_QUERIES
    from saleor_crm_plugin.graphql.schema import schema

    # given
    customer = make_user("ann@example.com")

    # when
    listed = post_json(CAMPAIGNS_QUERIES["list"], staff_user.api_token)
    denied = post_json(CAMPAIGNS_QUERIES["list"], customer.api_token)

    # then
    for name, query in CAMPAIGNS_QUERIES.items():
        assert validate(schema, parse(query)) == [], name
    assert listed["data"]["crmCampaignFlows"] == []
    assert {b["name"] for b in listed["data"]["crmCampaignBuiltIns"]} == set(flows.BUILT_IN)
    assert "thank_you" in {t["name"] for t in listed["data"]["crmMessageTemplates"]}
    assert denied["errors"][0]["extensions"]["exception"]["code"] == "PermissionDenied"


def test_the_analytics_pages_queries_are_valid_against_the_schema(post_json, staff_user):
    from graphql import parse, validate

    from saleor_crm_plugin.dashboard.views import ANALYTICS_QUERIES
    from saleor_crm_plugin.graphql.schema import schema

    # the model card's query answers now
    fits = post_json(ANALYTICS_QUERIES["fits"], staff_user.api_token)
    assert fits == {"data": {"crmPredictionFits": [], "crmRfm": []}}
    # the reports' queries are written against /work/analytics-api.md's shape
    if "crmCohorts" not in schema.get_query_type().fields:
        pytest.skip("the report queries (crmCohorts, crmF2 ...) are not in this schema yet")
    for name, query in ANALYTICS_QUERIES.items():
        assert validate(schema, parse(query)) == [], name


@pytest.mark.parametrize(("scoring", "shown"), [(None, "五分位"), ("fixed", "固定区分")])
def test_the_widget_shows_how_the_scores_in_force_were_set(client, staff_user, scoring, shown):
    from datetime import timedelta
    from zoneinfo import ZoneInfo

    from saleor_crm_plugin.customers.ingest import ingest_orders
    from saleor_crm_plugin.segments.bins import DEFAULT_FIXED_BINS_TEXT, parse_fixed_bins
    from saleor_crm_plugin.segments.services import recompute_rfm
    from tests.factories import order

    # given: ann and four other customers (quintiles need five), scored by quintiles or by the
    # store's fixed bins
    ann = make_user("ann@example.com")
    ingest_orders(
        [
            order(
                f"a{n}",
                user_id=str(ann.pk),
                email=ann.email,
                total="3000",
                placed_at=T0 + timedelta(days=n),
            )
            for n in range(3)
        ]
        + [order(f"g{n}", email=f"g{n}@example.com", total="1000", placed_at=T0) for n in range(4)]
    )
    bins = parse_fixed_bins(DEFAULT_FIXED_BINS_TEXT) if scoring else None
    recompute_rfm(ZoneInfo("Asia/Tokyo"), as_of=T0 + timedelta(days=10), bins=bins)

    # when
    html = _widget(client, staff_user.api_token, ann, locale="ja").content.decode()

    # then
    assert (
        f'(<span data-t="scoring">採点方式</span>: <span data-t="scoring_{scoring or "quintiles"}">{shown}</span>)'
        in html
    )


@freeze_time(NOW)
def test_the_widget_shows_the_picks_of_the_channel_of_most_orders(client, staff_user):
    from datetime import timedelta

    from saleor_crm_plugin.customers.ingest import ingest_orders
    from tests.factories import order

    # given: ann's three orders in the JPY channel, then her last one in the USD channel
    ann, dan = tea_store()
    ingest_orders(
        [
            order(
                "a-usd",
                user_id=str(ann.pk),
                email=ann.email,
                total="20",
                currency="USD",
                placed_at=NOW - timedelta(days=1),
            )
        ]
    )

    # when
    html = _widget(client, staff_user.api_token, ann).content.decode()
    ja = _widget(client, staff_user.api_token, ann, locale="ja").content.decode()
    nothing = _widget(client, staff_user.api_token, dan).content.decode()

    # then: the picks `me { crmRecommendations }` gives her, best first
    section = html[html.index('<section id="crm-picks">') :]
    section = section[: section.index("</section>")]
    assert '<span data-t="recommendations">Recommended for them</span> · channel-jpy' in section
    assert re.findall(r'<p class="crm-pick">(.*?)</p>', section) == [
        'Sencha · <span data-t="time_to_restock">Time to restock</span> <span class="muted">100%'
        ' · <span data-t="last_bought">last bought</span> 2025-03-23</span>',
        'Teaware · <span data-t="bought_with">Bought with</span>: Matcha (ledger) <span '
        'class="muted">75% · <span data-t="last_bought">last bought</span> 2025-05-22</span>',
        'Wagashi · <span data-t="bought_with">Bought with</span>: Sencha (ledger) <span '
        'class="muted">50% · <span data-t="last_bought">last bought</span> 2025-03-23</span>',
    ]
    assert '<span data-t="time_to_restock">そろそろ再購入の時期</span>' in ja
    assert '<span data-t="bought_with">併せて購入</span>: Matcha (ledger)' in ja
    # dan's own purchases are all he could be offered in his channel
    assert '<section id="crm-picks">' in nothing
    assert 'data-t="none">None</p>\n  </section>' in nothing


def test_the_widget_shows_no_picks_before_a_first_order(client, ann, staff_user):
    html = _widget(client, staff_user.api_token, ann).content.decode()
    assert 'id="crm-rank">Regular<' in html
    assert "crm-picks" not in html


def _progress_html(html: str) -> str:
    line = html[html.index('<span data-t="next_rank">') :]
    return line[: line.index("</p>")]


@freeze_time(NOW)
def test_the_widget_says_a_customer_who_qualifies_is_promoted_at_the_next_review(
    client, staff_user
):
    from datetime import timedelta

    from saleor_crm_plugin.customers.ingest import ingest_orders
    from tests.factories import order

    # given: Silver needs 3 orders; eve has 3, and no rank review has run since
    eve = make_user("eve@example.com")
    ingest_orders(
        [
            order(f"e{n}", user_id=str(eve.pk), email=eve.email, placed_at=NOW - timedelta(days=n))
            for n in (1, 2, 3)
        ]
    )

    # when
    html = _widget(client, staff_user.api_token, eve).content.decode()
    ja = _widget(client, staff_user.api_token, eve, locale="ja").content.decode()

    # then: what the next review does, never an empty label
    assert _progress_html(html) == (
        '<span data-t="next_rank">Next rank</span>: Silver · <span data-t="to_next_rank">'
        'To the next rank</span>:\n      <span id="crm-qualifies" data-t="qualifies_next_review">'
        "qualifies — promoted at the next rank review</span>"
    )
    assert (
        '<span id="crm-qualifies" data-t="qualifies_next_review">'
        "条件達成済み — 次回のランク見直しで昇格</span>" in ja
    )


def test_the_widget_tells_what_is_left_to_the_next_rank(client, ann, staff_user):
    html = _widget(client, staff_user.api_token, ann).content.decode()

    assert _progress_html(html).endswith(
        '<span id="crm-to-next-rank">3 <span data-t="orders_unit">orders</span></span>'
    )
    assert "crm-qualifies" not in html


def test_the_rule_builder_starts_in_the_currency_of_the_most_customers(client):
    from saleor_crm_plugin.segments.models import ScoreCutPoints

    # given: nothing scored yet
    before = _config(client.get(f"{BASE}/segments").content.decode())
    # ...then RFM groups of a USD store that also sells in JPY
    for group, customers in [("JPY", 40), ("USD", 900), ("PLN", 3)]:
        ScoreCutPoints.objects.create(
            group=group,
            recency=[],
            frequency=[],
            monetary=[],
            customers=customers,
            computed_at=T0,
        )

    # when
    after = _config(client.get(f"{BASE}/segments").content.decode())

    # then: no currency to guess before; the biggest group after
    assert before["currency"] == ""
    assert after["currency"] == "USD"


def test_the_analytics_page_knows_when_a_fit_is_too_thin(client):
    from saleor_crm_plugin.analytics.lifetime import THIN_CUSTOMERS, THIN_REPEAT_CUSTOMERS

    config = _config(client.get(f"{BASE}/analytics").content.decode())

    assert config["thin"] == {"customers": 300, "repeatCustomers": 100}
    assert (THIN_CUSTOMERS, THIN_REPEAT_CUSTOMERS) == (300, 100)
    assert config["text"]["thin_data_warning"].startswith("Learnt from {customers} customers")


def test_the_duplicates_page_is_a_shell_with_valid_requests_in_both_languages(
    client, post_json, staff_user
):
    from graphql import parse, validate

    from saleor_crm_plugin.dashboard.views import DUPLICATES_PAGE_QUERY, MERGE, UNMERGE
    from saleor_crm_plugin.graphql.schema import schema

    # when
    en = client.get(f"{BASE}/duplicates?theme=light").content.decode()
    ja = client.get(f"{BASE}/duplicates?theme=light&locale=ja").content.decode()
    listed = post_json(DUPLICATES_PAGE_QUERY, staff_user.api_token)

    # then
    assert '<span data-t="crm">CRM</span> · <span data-t="duplicates">Duplicates</span>' in en
    assert '<span data-t="duplicates">重複顧客</span>' in ja
    config = _config(en)
    assert config["query"] == DUPLICATES_PAGE_QUERY
    assert (config["mutations"]["merge"], config["mutations"]["unmerge"]) == (MERGE, UNMERGE)
    assert _config(ja)["text"]["keep_this"] == "もう一方をこちらに統合"
    for query in (DUPLICATES_PAGE_QUERY, MERGE, UNMERGE):
        assert validate(schema, parse(query)) == []
    assert listed == {
        "data": {
            "crmDuplicateCandidates": {"totalCount": 0, "edges": []},
            "crmCustomerMerges": {"totalCount": 0, "edges": []},
        }
    }


def test_the_widget_adjusts_in_the_currency_staff_name_when_the_customer_has_none(
    client, staff_user
):
    # given: a customer with no order (no currency of their own)
    bob = make_user("bob@example.com")
    CustomerProfile.objects.create(user_id=str(bob.pk))
    fields = {"action": "adjust", "points": "+30", "reason": "goodwill", "requestId": "r-9"}

    # when
    refused = _widget(client, staff_user.api_token, bob, **fields)
    given = _widget(client, staff_user.api_token, bob, currency="usd", **fields)

    # then
    assert "currency: is required: the customer has no currency of their own" in (
        refused.content.decode()
    )
    assert 'id="crm-points-available">30<' in given.content.decode()
    from saleor_crm_plugin.loyalty.models import PointsEntry

    assert PointsEntry.objects.get().currency == "USD"


def test_the_import_page_is_a_shell_with_its_queries_in_english_and_japanese(client):
    # when
    en = client.get(f"{BASE}/import?theme=light").content.decode()
    ja = client.get(f"{BASE}/import?theme=dark&locale=ja").content.decode()

    # then
    assert '<span data-t="crm">CRM</span> · <span data-t="import">Import</span>' in en
    assert '<span data-t="import">インポート</span>' in ja
    assert set(_config(en)["query"]) == {"list", "start", "apply", "run"}
    assert _config(ja)["text"]["skip_refused"] == "拒否された行をスキップ"
    assert "crmImportRuns" not in en.split('<script id="crm-config"')[0]
