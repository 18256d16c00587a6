"""The CRM pages in headless Chromium (Debian's, driven by Playwright) against the sandbox.

A small host page plays Saleor Dashboard's side: it frames our page and answers its
`notifyReady` with the `handshake` carrying the staff token, and posts the customer widget's
form into a frame, as Dashboard does. Screenshots of each page land in `.artifacts/`.
"""

import base64
import shutil
import threading
import uuid
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

playwright = pytest.importorskip("playwright.sync_api")

from saleor_crm_plugin.customers.models import CustomerProfile  # noqa: E402
from saleor_crm_plugin.loyalty.services import adjust  # noqa: E402
from saleor_crm_plugin.sandbox.models import SandboxOrder  # noqa: E402
from tests.dashboard import analytics_stub  # noqa: E402
from tests.factories import T0, order, repeat_buyers, ten_scored_customers  # noqa: E402
from tests.graphql.conftest import make_user  # noqa: E402

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / ".artifacts" / "dashboard"
BASE = "/plugins/global/saleor.crm/dashboard"
pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium"),
]

# Dashboard's side of the handshake: frame the page, answer notifyReady with the token.
HOST_PAGE = """<!doctype html><html><body style="margin:0">
<iframe id="app" name="app" style="width:1200px;height:900px;border:0"></iframe>
<script>
  var token = %(token)s;
  window.addEventListener("message", function (event) {
    if (event.data && event.data.type === "notifyReady") {
      document.getElementById("app").contentWindow.postMessage(
        {type: "handshake", payload: {token: token, version: 1}}, "*");
      window.handshakes = (window.handshakes || 0) + 1;
    }
  });
  document.getElementById("app").src = %(url)s;
</script></body></html>"""
# Dashboard's POST widget: a form targeting the widget's frame, 200 px high until the widget
# reports its height (`widgetResize`), as Dashboard 3.23's IframePost does.
WIDGET_PAGE = """<!doctype html><html><body style="margin:0">
<iframe name="widget" style="width:420px;height:200px;border:0"></iframe>
<script>
  window.heights = [];
  window.addEventListener("message", function (event) {
    var data = event.data || {};
    if (data.type === "widgetResize" && typeof data.payload.actionId === "string") {
      document.querySelector("iframe[name=widget]").style.height = data.payload.height + "px";
      window.heights.push(data.payload.height);
    }
  });
</script>
<form id="f" method="POST" target="widget" action=%(url)s>
  <input type="hidden" name="accessToken" value=%(token)s>
  <input type="hidden" name="customerId" value=%(customer)s>
  <input type="hidden" name="theme" value="%(theme)s">
</form><script>document.getElementById("f").submit();</script></body></html>"""


def _js(value) -> str:
    import json

    return json.dumps(value)


@pytest.fixture
def browser(monkeypatch):
    # Playwright's sync API runs an event loop in this thread; Django's test database calls
    # from the same thread are still synchronous.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with playwright.sync_playwright() as driver:
        chromium = driver.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield chromium
        chromium.close()


@pytest.fixture
def store(db):
    return ten_scored_customers()


@pytest.fixture
def dashboard_origin():
    """Serve Dashboard's side at an origin of its own (127.0.0.1, while the live server is
    localhost), so our frames are third-party as in a store: a browser keeps no storage for
    frames under `set_content`'s blank page. A real server, not a routed page: Chromium
    refuses frames to a local address from a page it cannot place on the local network."""
    html = {"body": b""}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(html["body"])

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()

    def open_page(page, body):
        html["body"] = body.encode()
        page.goto(f"http://127.0.0.1:{server.server_port}/dashboard/?{uuid.uuid4().hex}")

    yield open_page
    server.shutdown()
    server.server_close()


def _shot(page, name, height=None):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    if height:  # the whole of a long page: a taller frame
        page.evaluate(f"document.getElementById('app').style.height = '{height}px'")
        page.set_viewport_size({"width": 1280, "height": height})
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_a_page_dashboard_gives_no_token_says_no_access(browser, live_server, db):
    # given: Dashboard's handshake without a token (a user lacking the extension's permissions)
    url = f"{live_server.url}{BASE}/actions?customerId=VXNlcjox"
    page = browser.new_page()

    # when
    page.set_content(HOST_PAGE % {"token": "null", "url": _js(url)})
    popup = page.frame_locator("#app")

    # then: not "Waiting for Saleor Dashboard…" forever
    popup.locator("#crm-status.denied").wait_for(timeout=15_000)
    assert popup.locator("#crm-status").inner_text() == "You do not have access to this page."
    assert popup.locator("#crm-content").inner_text() == ""
    page.close()


@pytest.mark.parametrize(("theme", "locale"), [("light", "en"), ("dark", "ja")])
def test_the_overview_loads_after_the_handshake(browser, live_server, store, theme, locale):
    staff = make_user("staff@example.com", staff=True, permissions=["MANAGE_USERS"])
    page = browser.new_page()
    url = f"{live_server.url}{BASE}/overview?theme={theme}&locale={locale}"
    page.set_content(HOST_PAGE % {"token": _js(staff.api_token), "url": _js(url)})
    frame = page.frame_locator("#app")

    frame.locator(".card").first.wait_for(timeout=15_000)

    text = frame.locator("main").inner_text()
    for en, ja in [
        ("Customers by segment", "セグメント別の顧客"),
        ("Customers by rank", "ランク別の顧客"),
        ("Segment sizes over time", "セグメント規模の推移"),
        ("Outstanding points", "未使用ポイント"),
    ]:
        assert (en if locale == "en" else ja) in text
    assert frame.locator("table.grid td").count() == 25  # the 5 x 5 R-by-F heat map
    # the scoring in force beside the scores (the store scores by quintiles)
    scoring = frame.locator(".crm-scoring[data-group=JPY]").inner_text()
    assert scoring == ("Scoring: quintiles" if locale == "en" else "採点方式: 五分位")
    assert frame.locator("html").get_attribute("data-theme") == theme
    assert page.evaluate("window.handshakes") == 1
    _shot(page, f"overview-{theme}-{locale}")
    page.close()


def test_the_page_follows_dashboards_language_without_a_reload(browser, live_server, store):
    # given: Dashboard 3.23.27 puts no locale in the address; after the handshake it sends
    # {type: "localeChanged", payload: {locale}} (app-sdk's LocaleChangedEvent), again on a switch
    staff = make_user("staff@example.com", staff=True, permissions=["MANAGE_USERS"])
    page = browser.new_page()
    url = f"{live_server.url}{BASE}/overview"
    page.set_content(HOST_PAGE % {"token": _js(staff.api_token), "url": _js(url)})
    frame = page.frame_locator("#app")
    frame.locator(".card").first.wait_for(timeout=15_000)
    assert "Customers by segment" in frame.locator("main").inner_text()
    app = page.frame(url=url)
    app.evaluate("window.loadedOnce = true")

    def tell(locale):
        page.evaluate(
            "locale => document.getElementById('app').contentWindow.postMessage("
            "{type: 'localeChanged', payload: {locale: locale}}, '*')",
            locale,
        )

    # when: staff switch Dashboard to Japanese
    tell("ja")

    # then: the words switch in place
    frame.locator("h2", has_text="セグメント別の顧客").first.wait_for(timeout=15_000)
    text = frame.locator("main").inner_text()
    assert "CRM · 概要" in text
    assert "未使用ポイント" in text
    assert "Customers by segment" not in text
    assert frame.locator("html").get_attribute("lang") == "ja"
    assert frame.locator("table.grid td").count() == 25
    assert app.evaluate("window.loadedOnce") is True  # no reload
    _shot(page, "overview-switched-ja")

    # when: and back to English
    tell("en")

    # then
    frame.locator("h2", has_text="Customers by segment").first.wait_for(timeout=15_000)
    assert "CRM · Overview" in frame.locator("main").inner_text()
    assert frame.locator("html").get_attribute("lang") == "en"
    assert app.evaluate("window.loadedOnce") is True

    # a language the pages do not speak: the store's (the sandbox's is English)
    tell("ja")
    frame.locator("h2", has_text="セグメント別の顧客").first.wait_for(timeout=15_000)
    tell("pt-BR")
    frame.locator("h2", has_text="Customers by segment").first.wait_for(timeout=15_000)
    page.close()


def test_the_widget_takes_the_language_dashboard_told_the_pages(
    browser, live_server, db, dashboard_origin
):
    # given: Dashboard posts the widget without a language and sends it no localeChanged; the
    # popup beside it (or any CRM page) was told Japanese
    staff = make_user("staff@example.com", staff=True, permissions=["MANAGE_USERS"])
    ann = make_user("ann@example.com")
    profile = CustomerProfile.objects.create(user_id=str(ann.pk), order_count=4)
    adjust(profile.pk, 320, "welcome", T0, reason="welcome", actor="staff:1", currency="JPY")
    customer = base64.b64encode(f"User:{ann.pk}".encode()).decode()
    page = browser.new_page()
    url = f"{live_server.url}{BASE}/actions?customerId={customer}"
    # Dashboard at its own origin: our frames are third-party, as in a store
    dashboard_origin(page, HOST_PAGE % {"token": _js(staff.api_token), "url": _js(url)})
    popup = page.frame_locator("#app")
    popup.locator("#crm-points-available").wait_for(timeout=15_000)
    page.evaluate(
        "document.getElementById('app').contentWindow.postMessage("
        "{type: 'localeChanged', payload: {locale: 'ja'}}, '*')"
    )
    popup.locator("h2", has_text="ポイント調整").wait_for(timeout=15_000)

    # when
    dashboard_origin(
        page,
        WIDGET_PAGE
        % {
            "url": _js(f"{live_server.url}{BASE}/widget/customer"),
            "token": _js(staff.api_token),
            "customer": _js(customer),
            "theme": "light",
        },
    )
    widget = page.frame_locator("iframe[name=widget]")

    # then: the popup's cookie (partitioned: this Chromium blocks other third-party cookies and
    # storage) gives the widget Dashboard's language
    widget.locator("summary", has_text="ポイント調整").wait_for(timeout=15_000)
    assert widget.locator("html").get_attribute("lang") == "ja"
    assert "ランク: Regular" in widget.locator("main").inner_text()
    assert widget.locator("#crm-adjust input[name=locale]").input_value() == "ja"
    # and its own form posts the language back: the answer is rendered in Japanese
    widget.locator("#crm-adjust").locator("..").locator("summary").click()
    widget.locator("#crm-adjust input[name=points]").fill("+5")
    widget.locator("#crm-adjust input[name=reason]").fill("おわび")
    widget.locator("#crm-adjust button").click()
    widget.locator("#crm-notice", has_text="保存しました。").wait_for(timeout=15_000)
    assert widget.locator("#crm-points-available").inner_text() == "325"
    _shot(page, "widget-ja")
    page.close()


@pytest.mark.parametrize("who", ["customer", "staff without MANAGE_USERS"])
def test_a_customer_or_staff_without_permission_get_no_data_on_any_page(
    browser, live_server, store, who
):
    from saleor_crm_plugin.dashboard.views import PAGES, POPUPS

    if who == "customer":
        user = make_user("ann@example.com")
    else:
        user = make_user("clerk@example.com", staff=True, permissions=["MANAGE_ORDERS"])
    ann = make_user("ann-customer@example.com")
    customer = base64.b64encode(f"User:{ann.pk}".encode()).decode()
    page = browser.new_page()
    for name in (*PAGES, *POPUPS):
        url = f"{live_server.url}{BASE}/{name}?customerId={customer}"
        page.set_content(HOST_PAGE % {"token": _js(user.api_token), "url": _js(url)})
        frame = page.frame_locator("#app")

        frame.locator("#crm-status.denied").wait_for(timeout=15_000)

        assert frame.locator("#crm-content").inner_text() == "", name
        if name == "overview":
            _shot(page, f"overview-denied-{who.split()[0]}")
    page.close()


def test_the_customer_widget_is_posted_like_dashboard_does(browser, live_server, db):
    staff = make_user("staff@example.com", staff=True, permissions=["MANAGE_USERS"])
    ann = make_user("ann@example.com")
    profile = CustomerProfile.objects.create(user_id=str(ann.pk), order_count=4)
    adjust(profile.pk, 320, "welcome", T0, reason="welcome", actor="staff:1", currency="JPY")
    customer = base64.b64encode(f"User:{ann.pk}".encode()).decode()
    page = browser.new_page()
    page.set_content(
        WIDGET_PAGE
        % {
            "url": _js(f"{live_server.url}{BASE}/widget/customer"),
            "token": _js(staff.api_token),
            "customer": _js(customer),
            "theme": "light",
        }
    )
    widget = page.frame_locator("iframe[name=widget]")

    widget.locator("#crm-points-available").wait_for(timeout=15_000)

    assert widget.locator("#crm-points-available").inner_text() == "320"
    assert widget.locator("#crm-rank").inner_text() == "Regular"
    # the widget asked for its whole height, and for more when a form opens
    page.wait_for_function("window.heights.length > 0", timeout=15_000)
    first = page.evaluate("window.heights[window.heights.length - 1]")
    assert first > 400
    widget.locator("#crm-adjust").locator("..").locator("summary").click()
    page.wait_for_function(f"window.heights[window.heights.length - 1] > {first}", timeout=5_000)
    _shot(page, "widget-customer")
    page.close()


def test_staff_adjust_points_from_the_widget_and_the_storefront_sees_it(browser, live_server, db):
    import json
    import urllib.request

    staff = make_user("staff@example.com", staff=True, permissions=["MANAGE_USERS"])
    ann = make_user("ann@example.com")
    profile = CustomerProfile.objects.create(user_id=str(ann.pk), order_count=4)
    adjust(profile.pk, 100, "welcome", T0, reason="welcome", actor="staff:1", currency="JPY")
    page = browser.new_page()
    page.set_content(
        WIDGET_PAGE
        % {
            "url": _js(f"{live_server.url}{BASE}/widget/customer"),
            "token": _js(staff.api_token),
            "customer": _js(base64.b64encode(f"User:{ann.pk}".encode()).decode()),
            "theme": "dark",
        }
    )
    widget = page.frame_locator("iframe[name=widget]")
    widget.locator("#crm-points-available").wait_for(timeout=15_000)

    widget.locator("#crm-adjust").locator("..").locator("summary").click()
    widget.locator("#crm-adjust input[name=points]").fill("+40")
    widget.locator("#crm-adjust input[name=reason]").fill("damaged parcel")
    widget.locator("#crm-adjust button").click()
    widget.locator("#crm-notice").wait_for(timeout=15_000)

    assert widget.locator("#crm-points-available").inner_text() == "140"
    _shot(page, "widget-adjusted")
    request = urllib.request.Request(  # noqa: S310 (the live server's http URL)
        f"{live_server.url}/plugins/global/saleor.crm/graphql/",
        data=json.dumps({"query": "{ me { crmPoints { available } } }"}).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {ann.api_token}"},
    )
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 (the live server)
        assert json.load(answer)["data"]["me"]["crmPoints"]["available"] == 140
    page.close()


def test_staff_adjust_points_and_pin_a_rank_in_the_customer_popup(browser, live_server, db):
    # given: Dashboard opens the popup from the customer's "more actions" menu, naming the
    # customer in the frame's URL and handing the token over by the handshake
    staff = make_user("staff@example.com", staff=True, permissions=["MANAGE_USERS"])
    ann = make_user("ann@example.com")
    profile = CustomerProfile.objects.create(user_id=str(ann.pk), order_count=4)
    adjust(profile.pk, 100, "welcome", T0, reason="welcome", actor="staff:1", currency="JPY")
    customer = base64.b64encode(f"User:{ann.pk}".encode()).decode()
    url = f"{live_server.url}{BASE}/actions?customerId={customer}&theme=light"
    page = browser.new_page()
    page.set_content(HOST_PAGE % {"token": _js(staff.api_token), "url": _js(url)})
    popup = page.frame_locator("#app")
    popup.locator("#crm-points-available").wait_for(timeout=15_000)
    assert popup.locator("#crm-points-available").inner_text() == "100"
    assert popup.locator("#crm-rank").inner_text() == "Regular"

    # when: a pin without a reason, then with one; then points
    popup.locator("#crm-pin-code").select_option("GOLD")
    popup.locator("#crm-pin-save").click()
    popup.locator("#crm-notice.denied").wait_for(timeout=15_000)
    refused = popup.locator("#crm-notice").inner_text()
    popup.locator("#crm-pin-code").select_option("GOLD")
    popup.locator("#crm-pin-reason").fill("founding member")
    popup.locator("#crm-pin-save").click()
    popup.locator("#crm-rank", has_text="Gold").wait_for(timeout=15_000)
    popup.locator("#crm-adjust-points").fill("-30")
    popup.locator("#crm-adjust-reason").fill("typo in the welcome bonus")
    popup.locator("#crm-adjust-save").click()
    popup.locator("#crm-points-available", has_text="70").wait_for(timeout=15_000)

    # then: the refusal named the field; the pin and the points are stored
    assert refused.startswith("reason: ")
    assert popup.locator("#crm-rank").inner_text() == "Gold (pinned by staff)"
    assert popup.locator("#crm-notice").inner_text() == "Saved. · Available points now: 70"
    member = CustomerProfile.objects.get(pk=profile.pk).member_rank
    assert (member.code, member.pin_reason, member.pinned_by) == (
        "GOLD",
        "founding member",
        f"staff:{staff.pk}",
    )
    _shot(page, "customer-popup")
    page.close()


def test_staff_work_the_failed_renewals_queue(browser, live_server, db):
    from django.utils import timezone

    from saleor_crm_plugin.customers.snapshots import LineSnapshot
    from saleor_crm_plugin.host import get_host
    from saleor_crm_plugin.subscriptions.renewals import run_renewals
    from saleor_crm_plugin.subscriptions.schedule import Interval, Unit
    from saleor_crm_plugin.subscriptions.services import NewLine, Rules, create_subscription

    staff = make_user("staff@example.com", staff=True, permissions=["MANAGE_USERS"])
    ann = make_user("ann@example.com")
    profile = CustomerProfile.objects.create(user_id=str(ann.pk))
    zone = ZoneInfo("Asia/Tokyo")
    now = timezone.now()
    rules = Rules(retry_hours=())
    create_subscription(
        profile,
        channel="channel-jpy",
        currency="JPY",
        lines=[NewLine("variant-beans", 1, None, "Beans 1 kg")],
        interval=Interval(30, Unit.DAY),
        first_delivery=now.astimezone(zone).date() + timedelta(days=2),
        actor="staff:1",
        now=now,
        rules=rules,
        zone=zone,
    )
    run_renewals(get_host(), now, rules, zone)  # no price for the variant: needs attention
    page = browser.new_page()
    url = f"{live_server.url}{BASE}/subscriptions?theme=light"
    page.set_content(HOST_PAGE % {"token": _js(staff.api_token), "url": _js(url)})
    frame = page.frame_locator("#app")
    frame.locator("#crm-subscriptions tr[data-id]").wait_for(timeout=15_000)
    row = frame.locator("#crm-subscriptions tr[data-id]")
    assert "variant variant-beans is not sold in JPY" in row.inner_text()
    assert "ann@example.com" in row.inner_text()
    _shot(page, "subscriptions-attention")

    frame.locator("button[data-action=retry]").click()
    frame.locator("#crm-notice.denied").wait_for(timeout=15_000)
    assert "not sold in JPY" in frame.locator("#crm-notice").inner_text()

    beans = LineSnapshot(
        line_id="b-1", quantity=1, unit_price_gross=2400, variant_id="variant-beans"
    )
    SandboxOrder.store(order("stocked", email="x@example.com", total="2400", lines=[beans]))
    frame.locator("button[data-action=retry]").click()
    frame.locator("#crm-notice.ok").wait_for(timeout=15_000)
    frame.locator("#crm-subscriptions tr[data-id]").wait_for(state="detached", timeout=15_000)
    assert SandboxOrder.objects.filter(order_id__startswith="crm-subscription-").count() == 1
    _shot(page, "subscriptions-retried")
    page.close()


def test_staff_build_preview_save_and_export_a_segment(browser, live_server, store):
    from saleor_crm_plugin.segments.models import RuleSegment

    staff = make_user("staff@example.com", staff=True, permissions=["MANAGE_USERS"])
    page = browser.new_page()
    url = f"{live_server.url}{BASE}/segments?theme=light"
    page.set_content(HOST_PAGE % {"token": _js(staff.api_token), "url": _js(url)})
    frame = page.frame_locator("#app")
    frame.locator("#crm-rule .condition").wait_for(timeout=15_000)

    # an empty condition is not an error yet: no count until it has a value
    frame.locator("#crm-preview.muted").filter(has_text="—").wait_for(timeout=15_000)
    # the store has ten customers with 1..10 orders: "at least 6 orders" matches five
    frame.locator("#crm-rule select[name=op]").select_option("gte")
    frame.locator("#crm-rule input[name=value]").fill("6")
    frame.locator("#crm-preview.ok").filter(has_text="5").wait_for(timeout=15_000)
    # a bad value answers the rule's own message, naming the path
    frame.locator("#crm-rule input[name=value]").fill("many")
    frame.locator("#crm-preview.denied").wait_for(timeout=15_000)
    assert (
        "rule.all[0].value: 'many' is not a whole number"
        in frame.locator("#crm-preview").inner_text()
    )
    frame.locator("#crm-rule input[name=value]").fill("6")
    frame.locator("#crm-preview.ok").filter(has_text="5").wait_for(timeout=15_000)
    _shot(page, "segments-preview")

    frame.locator("#crm-segment-name").fill("Six or more")
    frame.locator("#crm-save-segment").click()
    frame.locator("button[data-export='Six or more']").wait_for(timeout=15_000)
    saved = RuleSegment.objects.get(name="Six or more")
    assert saved.rule == {"all": [{"field": "order_count", "op": "gte", "value": 6}]}

    with page.expect_download(timeout=15_000) as download:
        frame.locator("button[data-export='Six or more']").click()
    lines = Path(download.value.path()).read_text().strip().splitlines()
    assert len(lines) == 1 + 5  # the header and the five customers
    page.close()


def test_the_rule_builder_offers_every_field_with_its_own_kind_of_value(
    browser, live_server, store
):
    from saleor_crm_plugin.segments.rules import FIELDS

    staff = make_user("staff@example.com", staff=True, permissions=["MANAGE_USERS"])
    page = browser.new_page()
    url = f"{live_server.url}{BASE}/segments"
    page.set_content(HOST_PAGE % {"token": _js(staff.api_token), "url": _js(url)})
    frame = page.frame_locator("#app")
    frame.locator("#crm-rule .condition").wait_for(timeout=15_000)
    first = frame.locator("#crm-rule .condition").nth(0)
    assert first.locator("select[name=field] option").count() == len(FIELDS)

    # 3 to 8 orders: six of the ten customers
    first.locator("select[name=op]").select_option("between")
    first.locator("input[name=value]").fill("3")
    first.locator("input[name=value2]").fill("8")
    frame.locator("#crm-preview.ok").filter(has_text=": 6").wait_for(timeout=15_000)
    # ...whose last order was before a day (store time): customer i last ordered on day 11 i
    frame.locator("#crm-add-condition").click()
    second = frame.locator("#crm-rule .condition").nth(1)
    second.locator("select[name=field]").select_option("last_order_at")
    second.locator("select[name=op]").select_option("before")
    day = (T0 + timedelta(days=50)).astimezone(ZoneInfo("Asia/Tokyo")).date().isoformat()
    second.locator("input[name=value]").fill(day)
    frame.locator("#crm-preview.ok").filter(has_text=": 3").wait_for(timeout=15_000)
    _shot(page, "segments-between-and-date")

    # a segment condition: the segment names to pick from, and its RFM group in its own box
    second.locator("select[name=field]").select_option("segment")
    assert second.locator("input[name=currency]").count() == 0
    assert second.locator("input[name=group]").input_value() == "JPY"
    names = second.locator("select[name=value] option").all_inner_texts()
    assert "Champions" in names
    second.locator("select[name=value]").select_option(["Champions", "Loyal"])
    frame.locator("#crm-preview.ok").wait_for(timeout=15_000)
    second.locator("input[name=group]").fill("XXX")
    frame.locator("#crm-preview.denied").wait_for(timeout=15_000)
    assert "rule.all[1].group" in frame.locator("#crm-preview").inner_text()
    second.locator("input[name=group]").fill("JPY")
    frame.locator("#crm-preview.ok").wait_for(timeout=15_000)

    frame.locator("#crm-segment-name").fill("Mid, loyal")
    frame.locator("#crm-save-segment").click()
    frame.locator("button[data-export='Mid, loyal']").wait_for(timeout=15_000)
    from saleor_crm_plugin.segments.models import RuleSegment

    assert RuleSegment.objects.get(name="Mid, loyal").rule == {
        "all": [
            {"field": "order_count", "op": "between", "value": [3, 8]},
            {"field": "segment", "op": "in", "value": ["Champions", "Loyal"], "group": "JPY"},
        ]
    }
    page.close()


def test_staff_search_customers_and_open_one_in_saleor(browser, live_server, store):
    from decimal import Decimal

    from saleor_crm_plugin.analytics.models import CustomerPrediction, PredictionFit

    ann = make_user("ann@example.com")
    profile = CustomerProfile.objects.create(user_id=str(ann.pk), order_count=7, last_order_at=T0)
    fit = PredictionFit.objects.create(
        currency="JPY", model="bgnbd", as_of=T0, status="ok", in_force=True
    )
    CustomerPrediction.objects.create(
        profile=profile,
        currency="JPY",
        fit=fit,
        p_alive=0.4249,
        expected_30=0.1,
        expected_90=0.3,
        expected_365=1.2,
        clv=Decimal(23400),
        scored_at=T0,
    )
    staff = make_user("staff@example.com", staff=True, permissions=["MANAGE_USERS"])
    page = browser.new_page()
    page.set_content(
        HOST_PAGE.replace(
            "window.handshakes = (window.handshakes || 0) + 1;",
            "window.handshakes = (window.handshakes || 0) + 1; } else if (event.data && "
            "event.data.type === 'redirect') { window.redirected = event.data.payload.to;",
        )
        % {"token": _js(staff.api_token), "url": _js(f"{live_server.url}{BASE}/customers")}
    )
    frame = page.frame_locator("#app")
    frame.locator("#crm-customers tr").nth(1).wait_for(timeout=15_000)
    assert "11" in frame.locator("#crm-total").inner_text()  # ten guests and ann

    frame.locator("#crm-min-orders").fill("7")
    frame.locator("#crm-search-go").click()
    frame.locator("#crm-total").filter(has_text=": 5").wait_for(timeout=15_000)  # 7..10, ann
    _shot(page, "customers-search")

    user_id = base64.b64encode(f"User:{ann.pk}".encode()).decode()  # as Dashboard's URLs have it
    # her predictions are list columns: P(alive) and the predicted CLV, per currency
    row = frame.locator("#crm-customers tr", has=frame.locator(f"a[data-user='{user_id}']"))
    cells = row.locator("td").all_inner_texts()
    assert "0.42 JPY" in cells
    assert "23,400 JPY" in cells
    frame.locator(f"a[data-user='{user_id}']").click()
    page.wait_for_function("window.redirected !== undefined", timeout=15_000)
    assert page.evaluate("window.redirected") == f"/customers/{user_id}"
    page.close()


@pytest.mark.parametrize(
    ("locale", "capped", "exact"),
    [
        ("en", "Matching customers: 4+ (counting…)", "Matching customers: 10"),
        ("ja", "該当する顧客: 4+ (集計中…)", "該当する顧客: 10"),
    ],
)
def test_a_broad_search_shows_the_capped_count_then_asks_for_the_exact_one(
    browser, live_server, store, monkeypatch, locale, capped, exact
):
    # given: the count stops at 4 (10,000 in a store); the exact count waits until released
    from saleor_crm_plugin.graphql.customers import resolvers
    from saleor_crm_plugin.graphql.customers import schema as customer_schema

    monkeypatch.setattr(resolvers, "COUNT_LIMIT", 4)
    release, asked = threading.Event(), []
    count_exactly = customer_schema.resolve_customer_count

    def held(info, customer_filter):
        asked.append(customer_filter)
        release.wait(15)
        return count_exactly(info, customer_filter)

    monkeypatch.setattr(customer_schema, "resolve_customer_count", held)
    staff = make_user("staff@example.com", staff=True, permissions=["MANAGE_USERS"])
    page = browser.new_page()
    url = f"{live_server.url}{BASE}/customers?locale={locale}"
    page.set_content(HOST_PAGE % {"token": _js(staff.api_token), "url": _js(url)})
    frame = page.frame_locator("#app")

    # when: the first page is shown
    frame.locator("#crm-customers tr").nth(1).wait_for(timeout=15_000)

    # then: "4+" while the exact count is asked for, then the exact count in its place
    assert frame.locator("#crm-total").inner_text() == capped
    for _ in range(150):
        if asked:
            break
        page.wait_for_timeout(100)
    assert asked == [{}]  # the same filter as the page: none
    release.set()
    frame.locator("#crm-total").filter(has_text=exact).wait_for(timeout=15_000)
    assert frame.locator("#crm-total").inner_text() == exact
    page.close()


def test_staff_save_a_rank_table_through_the_what_if_and_adjust_points(browser, live_server, db):
    from django.utils import timezone

    from saleor_crm_plugin.customers.ingest import ingest_orders
    from saleor_crm_plugin.host import MANAGE_PLUGINS, MANAGE_USERS

    ann = make_user("ann@example.com")
    snapshot = order(  # yesterday: inside the default window (the last 12 months)
        "a1",
        user_id=str(ann.pk),
        email=ann.email,
        total="12000",
        placed_at=timezone.now() - timedelta(days=1),
    )
    SandboxOrder.store(snapshot)
    ingest_orders([snapshot])
    admin = make_user("admin@example.com", staff=True, permissions=[MANAGE_USERS, MANAGE_PLUGINS])
    page = browser.new_page()
    url = f"{live_server.url}{BASE}/loyalty"
    page.set_content(HOST_PAGE % {"token": _js(admin.api_token), "url": _js(url)})
    frame = page.frame_locator("#app")
    frame.locator("#crm-rank-form tr[data-row]").first.wait_for(timeout=15_000)
    frame.locator("#crm-rank-advanced summary").click()  # the table as text
    assert frame.locator("#crm-ranks").input_value().startswith("Regular (REGULAR)")
    assert frame.locator("#crm-rank-save").is_disabled()  # nothing previewed yet

    # a wrong draft: the answer names the rank and the field, and Save stays off
    frame.locator("#crm-ranks").fill("Regular (R)\nGold (G): orders 5\nSilver (S): orders 3")
    frame.locator("#crm-rank-preview-go").click()
    frame.locator("#crm-notice.denied").wait_for(timeout=15_000)
    assert "Silver.min_orders: 3 is below Gold's 5" in frame.locator("#crm-notice").inner_text()
    assert frame.locator("#crm-rank-save").is_disabled()

    draft = "Regular (REGULAR)\nSilver (SILVER): spend 10000 JPY\nGold (GOLD): spend 100000 JPY"
    frame.locator("#crm-ranks").fill(draft)
    frame.locator("#crm-rank-preview-go").click()
    frame.locator("#crm-rank-moves tr").nth(3).wait_for(timeout=15_000)
    silver = frame.locator("#crm-rank-moves tr").nth(2).locator("td")
    assert [silver.nth(i).inner_text() for i in range(5)] == [
        "Silver (SILVER)",
        "0",
        "1",
        "+1",
        "0",
    ]
    _shot(page, "loyalty-what-if")
    frame.locator("#crm-rank-save").click()
    frame.locator("#crm-audit td", has_text="Rank table saved").wait_for(timeout=15_000)

    profile = CustomerProfile.objects.get(user_id=str(ann.pk))
    assert profile.member_rank.code == "SILVER"  # as the preview said
    assert frame.locator("#crm-ranks").input_value() == draft
    assert frame.locator("#crm-rank-save").is_disabled()

    frame.locator("#crm-adjust-email").fill("ann@example.com")
    frame.locator("#crm-adjust-points").fill("30")
    frame.locator("#crm-adjust-reason").fill("late parcel")
    frame.locator("#crm-adjust-go").click()
    frame.locator("#crm-audit td", has_text="Points adjusted").wait_for(timeout=15_000)
    row = frame.locator("#crm-audit tr", has_text="Points adjusted").locator("td")
    assert row.nth(1).inner_text() == "admin@example.com"  # not staff:<id>
    assert row.nth(3).inner_text() == "ann@example.com"
    assert (row.nth(4).inner_text(), row.nth(6).inner_text()) == ("+30", "late parcel")
    assert "Available points now" in frame.locator("#crm-notice").inner_text()
    _shot(page, "loyalty-saved")
    page.close()

    # staff who may not change the plugin's settings preview, and their save is refused
    clerk = make_user("clerk@example.com", staff=True, permissions=[MANAGE_USERS])
    page = browser.new_page()
    page.set_content(HOST_PAGE % {"token": _js(clerk.api_token), "url": _js(url)})
    frame = page.frame_locator("#app")
    frame.locator("#crm-rank-form tr[data-row]").first.wait_for(timeout=15_000)
    frame.locator("#crm-rank-advanced summary").click()
    frame.locator("#crm-ranks").fill("Regular (REGULAR)\nVIP (VIP): orders 50")
    frame.locator("#crm-rank-preview-go").click()
    frame.locator("#crm-rank-moves tr").nth(2).wait_for(timeout=15_000)
    frame.locator("#crm-rank-save").click()
    frame.locator("#crm-notice.denied").wait_for(timeout=15_000)
    assert "MANAGE_PLUGINS" in frame.locator("#crm-notice").inner_text()
    assert CustomerProfile.objects.get(pk=profile.pk).member_rank.code == "SILVER"
    page.close()


def test_admins_add_a_rank_in_the_table_form_with_the_what_if_beside_it(browser, live_server, db):
    from saleor_crm_plugin.host import MANAGE_PLUGINS, MANAGE_USERS, get_host

    admin = make_user("admin@example.com", staff=True, permissions=[MANAGE_USERS, MANAGE_PLUGINS])
    page = browser.new_page()
    url = f"{live_server.url}{BASE}/loyalty"
    page.set_content(HOST_PAGE % {"token": _js(admin.api_token), "url": _js(url)})
    frame = page.frame_locator("#app")
    rows = frame.locator("#crm-rank-form tr[data-row]")
    rows.first.wait_for(timeout=15_000)
    # the default table, one row per rank
    assert rows.count() == 4
    assert rows.nth(3).locator("input[name=name]").input_value() == "Platinum"
    assert rows.nth(3).locator("input[name=orders]").input_value() == "10"
    assert rows.nth(3).locator("input[name=multiplier]").input_value() == "3"
    assert rows.nth(3).locator("input[name=perks]").input_value() == "Free shipping"

    # when: a rank added in the form, with a threshold below the rank under it
    frame.locator("#crm-rank-add").click()
    diamond = rows.nth(4)
    diamond.locator("input[name=name]").fill("Diamond")
    diamond.locator("input[name=code]").fill("DIAMOND")
    diamond.locator("input[name=orders]").fill("8")

    # then: the server's message at that row and field, and no saving
    error = frame.locator("#crm-rank-form tr[data-row='4'] + tr.row-error .field-error")
    error.wait_for(timeout=15_000)
    assert error.inner_text() == "Diamond.min_orders: 8 is below Platinum's 10: ranks go up"
    assert error.get_attribute("data-field") == "orders"
    assert diamond.locator("input[name=orders]").get_attribute("aria-invalid") == "true"
    assert diamond.locator("input[name=orders]").get_attribute(
        "aria-describedby"
    ) == error.get_attribute("id")
    assert frame.locator("#crm-rank-form [aria-invalid]").count() == 1
    assert frame.locator("#crm-rank-save").is_disabled()
    # a threshold that is not a number: the reading's message, at the same field
    diamond.locator("input[name=orders]").fill("many")
    frame.locator(".field-error", has_text="'orders many' is not").wait_for(timeout=15_000)
    assert error.get_attribute("data-field") == "orders"
    assert frame.locator("#crm-rank-form .field-error").count() == 1
    _shot(page, "loyalty-rank-form-error")

    # when: fixed, with a discount
    diamond.locator("input[name=orders]").fill("20")
    diamond.locator("input[name=discount]").fill("7")

    # then: the what-if beside the form, the text in step, and saving
    frame.locator("#crm-rank-moves td", has_text="Diamond (DIAMOND)").wait_for(timeout=15_000)
    assert frame.locator("#crm-rank-form .field-error").count() == 0
    frame.locator("#crm-rank-advanced summary").click()
    assert (
        frame.locator("#crm-ranks")
        .input_value()
        .endswith("\nDiamond (DIAMOND): orders 20; discount 7%")
    )
    _shot(page, "loyalty-rank-form")
    frame.locator("#crm-rank-save").click()
    frame.locator("#crm-audit td", has_text="Rank table saved").wait_for(timeout=15_000)
    ladder = get_host().config().loyalty.ladder
    assert [r.code for r in ladder.ranks][-1] == "DIAMOND"
    assert str(ladder.ranks[-1].discount_percent) == "7"

    # the text typed in the advanced view fills the form; a row moved in the form rewrites it
    frame.locator("#crm-ranks").fill("Regular (REGULAR)\nGold (GOLD): spend 5000 JPY and orders 2")
    frame.locator("#crm-rank-form input[name=spend-JPY]").nth(1).wait_for(timeout=5_000)
    assert rows.count() == 2
    assert rows.nth(1).locator("select[name=combine]").input_value() == "all"
    rows.nth(1).locator("[data-rank-action=up]").click()
    assert frame.locator("#crm-ranks").input_value() == (
        "Gold (GOLD): orders 2 and spend 5000 JPY\nRegular (REGULAR)"
    )
    frame.locator(".field-error", has_text="the lowest rank is everyone's").wait_for(timeout=15_000)
    page.close()


# --- The Analytics page: the model card on the real fit in force; the reports from
# analytics_stub until the report API is merged ---

AS_OF = T0 + timedelta(days=400)


@pytest.fixture
def fitted(db):
    """Forty USD repeat buyers and the nightly refit over them (the fit in force)."""
    from saleor_crm_plugin.analytics.predictions import refit

    repeat_buyers(40, AS_OF)
    (fit,) = refit(AS_OF, "bgnbd", holdout_weeks=4)
    return fit


def _analytics(browser, live_server, theme="light", empty=False):
    staff = make_user("staff@example.com", staff=True, permissions=["MANAGE_USERS"])
    page = browser.new_page()
    seen = analytics_stub.install(page, empty=empty)
    url = f"{live_server.url}{BASE}/analytics?theme={theme}"
    page.set_content(HOST_PAGE % {"token": _js(staff.api_token), "url": _js(url)})
    return page, page.frame_locator("#app"), page.frame(url=url), seen, staff


def _chart(app, canvas_id):
    """What Chart.js drew on a canvas: its instance's type, data, axes, legend and size."""
    return app.evaluate(
        """id => {
        var chart = Chart.getChart(document.getElementById(id));
        if (!chart) { return null; }
        var pixels = chart.ctx.getImageData(0, 0, chart.canvas.width, chart.canvas.height).data;
        var painted = 0;
        for (var i = 3; i < pixels.length; i += 4) { if (pixels[i] > 0) { painted += 1; } }
        return {
          type: chart.config.type, labels: chart.data.labels,
          datasets: chart.data.datasets.map(function (d) { return {label: d.label, type: d.type || null, data: d.data}; }),
          x: chart.options.scales.x.title.text, y: chart.options.scales.y.title.text,
          legend: chart.options.plugins.legend.display, tooltip: chart.options.plugins.tooltip.enabled,
          width: chart.width, painted: painted,
        };
      }""",
        canvas_id,
    )


def _shown(value, digits):
    """A figure as the page writes it in English (at most `digits` decimals, none trailing)."""
    text = f"{round(value, digits):,}"
    return text.removesuffix(".0")


def _significant(value):
    """A model parameter as the page writes it in English: 4 significant figures, in
    scientific notation from a million up and below 0.001 (Intl.NumberFormat's rounding)."""
    number = Decimal(repr(value))
    if number == 0:
        return "0"
    exponent = number.adjusted()
    if abs(number) >= Decimal("1e6") or abs(number) < Decimal("1e-3"):
        mantissa = number.scaleb(-exponent).quantize(Decimal("0.001"), ROUND_HALF_UP)
        return f"{mantissa.normalize():f}E{exponent}"
    rounded = number.quantize(Decimal(1).scaleb(exponent - 3), ROUND_HALF_UP)
    return f"{rounded.normalize():,f}"


def _column(frame, table_id, index):
    return frame.locator(f"#{table_id} tr").locator(f"td:nth-child({index})").all_inner_texts()


def test_the_analytics_page_shows_the_model_card_and_its_back_test_chart(
    browser, live_server, fitted, monkeypatch
):
    from saleor_crm_plugin.analytics import clv
    from saleor_crm_plugin.analytics.predictions import refit

    # given: the next night's fit failed; the first stays in force
    def fail(*_columns):
        raise clv.FitFailed("bgnbd: the optimiser stopped without a maximum (ABNORMAL)")

    monkeypatch.setattr(clv, "fit_bgnbd", fail)
    refit(AS_OF + timedelta(days=1), "bgnbd", holdout_weeks=4)

    # when
    page, frame, app, _seen, _staff = _analytics(browser, live_server)
    model = frame.locator(".card", has_text="Prediction model (USD)")
    model.locator("dd[data-fit=customers]").wait_for(timeout=15_000)

    # then: the fit in force, learnt from whom, its quality and the failure beside it
    fit = {
        key: model.locator(f"dd[data-fit={key}]").inner_text()
        for key in ("model", "asOf", "customers", "repeatCustomers", "logLikelihood", "params")
    }
    assert fit == {
        "model": "BG/NBD",
        "asOf": f"{AS_OF.astimezone(ZoneInfo('Asia/Tokyo')):%-m/%-d/%Y}",
        "customers": "40",
        "repeatCustomers": str(fitted.repeat_customers),
        "logLikelihood": _shown(fitted.log_likelihood, 2),
        "params": ", ".join(
            f"{name} = {_significant(fitted.params[name])}" for name in sorted(fitted.params)
        ),
    }
    # the page's own words for the server's thin-data warning, from the fit's counts
    assert model.locator(".crm-fit-warning").inner_text() == fitted.warning
    assert fitted.warning.startswith("Learnt from 40 customers")
    spend = model.locator("dd[data-fit=spend]").inner_text()
    assert (
        spend
        == ", ".join(
            f"{name} = {_significant(fitted.spend_params[name])}"
            for name in sorted(fitted.spend_params)
        )
        + f" · Log-likelihood {round(fitted.spend_log_likelihood, 2):,}"
    )
    failed = model.locator(".crm-fit-failed").inner_text()
    assert failed.endswith(": bgnbd: the optimiser stopped without a maximum (ABNORMAL)")
    assert failed.startswith("The latest fit failed (")

    # the back-test: its table, its figures, and a chart drawn by Chart.js
    buckets = fitted.backtest["buckets"]
    rows = model.locator("table tr")
    assert rows.count() == 1 + len(buckets)
    assert rows.nth(1).locator("td").all_inner_texts() == [
        buckets[0]["bucket"],
        str(buckets[0]["customers"]),
        _shown(buckets[0]["predicted"], 3),
        _shown(buckets[0]["actual"], 3),
    ]
    figures = model.locator(".crm-backtest-figures dd").all_inner_texts()
    assert figures[1] == str(fitted.backtest["actual_total"])
    assert figures[2] == _shown(fitted.backtest["mean_absolute_error"], 3)
    chart = _chart(app, "crm-backtest-USD")
    assert chart["type"] == "bar"
    assert chart["labels"] == [b["bucket"] for b in buckets]
    assert chart["datasets"] == [
        {"label": "Actual", "type": "bar", "data": [b["actual"] for b in buckets]},
        {"label": "Predicted", "type": "line", "data": [b["predicted"] for b in buckets]},
    ]
    assert (chart["x"], chart["y"]) == (
        "Repeat orders before",
        "Orders in the holdout per customer",
    )
    assert chart["legend"] is not False
    assert chart["tooltip"] is not False
    assert chart["width"] > 200
    assert chart["painted"] > 1000  # drawn, not a blank canvas
    # a tooltip names the series, the value and the bucket's customers
    tooltip = app.evaluate(
        """() => {
        var chart = Chart.getChart(document.getElementById('crm-backtest-USD'));
        chart.tooltip.setActiveElements([{datasetIndex: 0, index: 0}, {datasetIndex: 1, index: 0}], {x: 0, y: 0});
        chart.update();
        return {lines: chart.tooltip.body.map(function (b) { return b.lines[0]; }), footer: chart.tooltip.footer};
      }"""
    )
    assert tooltip == {
        "lines": [
            f"Actual: {_shown(buckets[0]['actual'], 3)}",
            f"Predicted: {_shown(buckets[0]['predicted'], 3)}",
        ],
        "footer": [f"Customers: {buckets[0]['customers']}"],
    }
    _shot(page, "analytics-model")
    page.close()


def test_the_cohort_heatmap_switches_currency_and_measure_beside_f2_and_ltv(
    browser, live_server, fitted, store
):
    # given: USD (the fit) and JPY (an RFM group); the page opens on the first
    page, frame, app, seen, _staff = _analytics(browser, live_server, theme="dark")
    cells = frame.locator("#crm-cohorts td.cell")
    cells.first.wait_for(timeout=15_000)

    def cell(month, since):
        return frame.locator(f"#crm-cohorts td[data-cohort='{month}'][data-months='{since}']")

    assert cells.count() == 2
    assert cell("2026-01", 0).inner_text() == "100.0%"
    assert cell("2026-01", 1).inner_text() == "25.0% *"  # the month is not over yet
    assert "incomplete" in cell("2026-01", 1).get_attribute("class")

    # when: JPY
    frame.locator("#crm-cohort-currency").select_option("JPY")

    # then: its cohorts, shaded by retention (the strongest after the first month full)
    frame.locator("h2", has_text="Cohort retention (JPY)").wait_for(timeout=15_000)
    assert cells.count() == 6
    assert frame.locator("#crm-cohorts tr").locator("th:first-child").all_inner_texts() == [
        "First order month",
        "2025-12",
        "2026-01",
        "2026-02",
    ]
    assert cell("2025-12", 1).inner_text() == "40.0%"
    assert cell("2025-12", 1).get_attribute("style") == "background: rgba(var(--cell), 0.80);"
    assert cell("2026-01", 1).get_attribute("style") == "background: rgba(var(--cell), 0.61);"
    assert "incomplete" not in cell("2025-12", 1).get_attribute("class")
    assert ("cohorts", {"currency": "JPY", "channel": ""}) in seen.queries
    assert frame.locator("#crm-ltv-segment td", has_text="¥18,000").count() == 1

    # when: revenue per customer, then cumulative LTV
    frame.locator("#crm-cohort-measure").select_option("revenue")
    frame.locator("#crm-cohorts td", has_text="¥1,200").wait_for(timeout=5_000)
    assert cell("2025-12", 1).inner_text() == "¥1,200"
    frame.locator("#crm-cohort-measure").select_option("cumulative")
    frame.locator("#crm-cohorts td", has_text="¥4,200").wait_for(timeout=5_000)
    assert cell("2025-12", 2).inner_text() == "¥4,950 *"
    _shot(page, "analytics-cohorts-dark", height=3600)

    # F2: the chart by first-order month and the tables, with the splits
    f2 = _chart(app, "crm-f2-chart")
    assert f2["type"] == "line"
    assert f2["labels"] == ["2025-12", "2026-01", "2026-02"]
    assert [d["label"] for d in f2["datasets"]] == [
        "Within 30 days",
        "Within 60 days",
        "Within 90 days",
    ]
    assert f2["datasets"][0]["data"] == [30, 30, 20]
    assert f2["datasets"][2]["data"] == [45, None, None]  # not observed 90 days yet
    assert (f2["x"], f2["y"]) == ("First order month", "Ordered again (%)")
    assert f2["painted"] > 1000
    assert _column(frame, "crm-f2", 1) == ["All months", "2025-12", "2026-01", "2026-02"]
    assert _column(frame, "crm-f2", 5) == ["45.0%", "45.0%", "—", "—"]
    subscription = frame.locator("#crm-f2-subscription tr").nth(1).locator("td")
    assert subscription.all_inner_texts() == [
        "First order started a subscription",
        "8",
        "62.5%",
        "85.7%",
        "80.0%",
    ]
    assert "Beans 1 kg" in frame.locator("#crm-f2-product").inner_text()

    # the charts take the theme's colours, and Dashboard's switch of theme redraws them
    legend = "() => Chart.getChart(document.getElementById('crm-f2-chart')).options.plugins.legend.labels.color"
    assert app.evaluate(legend) == "#e9eaee"  # dashboard.css: the dark theme's text
    page.evaluate(
        "document.getElementById('app').contentWindow.postMessage("
        "{type: 'theme', payload: {theme: 'light'}}, '*')"
    )
    app.wait_for_function(f"({legend})() === '#25262a'", timeout=5_000)
    assert _chart(app, "crm-f2-chart")["painted"] > 1000
    page.close()


def test_staff_sort_the_repeat_table_and_download_it_with_the_token_in_a_header(
    browser, live_server, fitted
):
    page, frame, _app, seen, staff = _analytics(browser, live_server)
    frame.locator("#crm-repeat tr").nth(1).wait_for(timeout=15_000)

    # the highest repeat rate first
    assert _column(frame, "crm-repeat", 1) == ["Beans 1 kg", "Paper filters", "Mug"]
    assert _column(frame, "crm-repeat", 4) == ["55.0%", "40.0%", "12.0%"]

    # when: sorted by the median days to a second order, then the other way
    header = frame.locator("#crm-repeat th[data-sort=MEDIAN_DAYS_TO_SECOND]")
    header.locator("button").click()
    frame.locator("#crm-repeat th[data-sort=MEDIAN_DAYS_TO_SECOND][aria-sort=descending]").wait_for(
        timeout=15_000
    )
    assert _column(frame, "crm-repeat", 1) == ["Mug", "Beans 1 kg", "Paper filters"]
    assert _column(frame, "crm-repeat", 9) == ["71.5", "33", "—"]  # unknown last
    header.locator("button").click()
    frame.locator("#crm-repeat th[data-sort=MEDIAN_DAYS_TO_SECOND][aria-sort=ascending]").wait_for(
        timeout=15_000
    )
    assert _column(frame, "crm-repeat", 1) == ["Beans 1 kg", "Mug", "Paper filters"]
    assert seen.queries[-1] == (
        "repeat",
        {
            "level": "PRODUCT",
            "channel": "",
            "firstMonth": "",
            "sortBy": {"field": "MEDIAN_DAYS_TO_SECOND", "direction": "ASC"},
        },
    )

    # when: variants of a first-order month, then the CSV of what is shown
    frame.locator("#crm-repeat-level").select_option("VARIANT")
    frame.locator("#crm-repeat td", has_text="Beans 1 kg / Dark").wait_for(timeout=15_000)
    frame.locator("#crm-repeat-month").select_option("2026-01")
    frame.locator("#crm-repeat-month").locator("option[selected]", has_text="2026-01").wait_for(
        state="attached", timeout=15_000
    )
    with page.expect_download(timeout=15_000) as download:
        frame.locator("button[data-csv=repeat]").click()

    # then: a POST with the staff token in its header, never in the address
    assert download.value.suggested_filename == "repeat.csv"
    (export,) = seen.exports
    assert export == {
        "method": "POST",
        "url": f"{live_server.url}/plugins/global/saleor.crm/export/analytics.csv",
        "authorization": f"Bearer {staff.api_token}",
        "body": {
            "report": "repeat",
            "level": "VARIANT",
            "channel": "",
            "firstMonth": "2026-01",
            "sortBy": {"field": "MEDIAN_DAYS_TO_SECOND", "direction": "ASC"},
        },
    }

    # the pairs: by lift, then support; over orders, then customers within the window
    pairs = frame.locator("#crm-pairs tr")
    assert [pairs.nth(i).locator("td").nth(0).inner_text() for i in (1, 2, 3)] == [
        "Mug",
        "Beans 1 kg",
        "Mug",
    ]
    assert _column(frame, "crm-pairs", 7) == ["3.1", "2.5", "1.2"]
    assert (
        frame.locator("#crm-pairs-over")
        .inner_text()
        .startswith("Counted over 1,200 orders and 40 products as of 3/1/2026: 3 pairs")
    )
    frame.locator("#crm-pairs th[data-sort=SUPPORT] button").click()
    frame.locator("#crm-pairs th[data-sort=SUPPORT][aria-sort=descending]").wait_for(timeout=15_000)
    assert _column(frame, "crm-pairs", 4) == ["7.5%", "5.0%", "1.0%"]
    kind = frame.locator("#crm-pairs-kind option[value=CUSTOMER]").inner_text()
    assert kind == "Also bought within 90 days"
    frame.locator("#crm-pairs-kind").select_option("CUSTOMER")
    frame.locator("#crm-pairs-over", has_text="300 customers").wait_for(timeout=15_000)
    assert _column(frame, "crm-pairs", 4) == ["13.3%", "6.7%"]
    assert seen.queries[-1] == (
        "pairs",
        {"channel": "channel-jpy", "kind": "CUSTOMER", "sortBy": "SUPPORT"},
    )
    _shot(page, "analytics-tables", height=3600)
    page.close()


def test_the_analytics_page_follows_dashboards_language(browser, live_server, fitted):
    page, frame, app, _seen, _staff = _analytics(browser, live_server)
    frame.locator("#crm-cohorts td.cell").first.wait_for(timeout=15_000)
    app.evaluate("window.loadedOnce = true")

    # when
    page.evaluate(
        "document.getElementById('app').contentWindow.postMessage("
        "{type: 'localeChanged', payload: {locale: 'ja-JP'}}, '*')"
    )

    # then: the words, the charts' labels and the numbers in Japanese, without a reload
    frame.locator("h2", has_text="予測モデル (USD)").wait_for(timeout=15_000)
    text = frame.locator("main").inner_text()
    for words in [
        "CRM · 分析",
        "コホート別継続率",
        "F2転換率",
        "商品別リピート率",
        "併せ買い",
        "学習に使った顧客",
    ]:
        assert words in text
    assert "Prediction model" not in text
    # the thin-data warning in the page's words, not the server's English
    assert frame.locator(".crm-fit-warning").inner_text() == (
        f"学習に使った顧客は40人、うちリピート注文のある顧客は{fitted.repeat_customers}人です。"
        "顧客が300人未満またはリピート顧客が100人未満では顧客がどれだけ続くかを十分に推定できない"
        "ため、この予測はおおよその目安としてご覧ください。"
    )
    chart = _chart(app, "crm-backtest-USD")
    assert [d["label"] for d in chart["datasets"]] == ["実績", "予測"]
    assert chart["y"] == "検証期間の顧客1人あたり注文数"
    assert chart["painted"] > 1000
    assert (
        frame.locator("#crm-pairs-over")
        .inner_text()
        .startswith("2026/3/1時点の1,200件・40商品から集計")
    )
    assert app.evaluate("window.loadedOnce") is True
    _shot(page, "analytics-ja", height=3600)
    page.close()


def test_the_analytics_page_opens_on_the_main_currency_and_channel_and_fits_1200_px(
    browser, live_server, fitted
):
    from saleor_crm_plugin.analytics.models import PredictionFit
    from saleor_crm_plugin.analytics.predictions import refit_currency

    # given: a EUR fit of a few customers beside the USD one of forty (EUR first by name),
    # basket pairs of a EUR channel of 50 orders listed before the JPY one's 1,200, and
    # parameters fixed decimals would print as 0 and 328,183,191.99
    repeat_buyers(6, AS_OF, currency="EUR", prefix="e")
    refit_currency("EUR", AS_OF, "bgnbd", holdout_weeks=4)
    extreme = {"a": 1.2345678e-7, "alpha": 328183191.99, "b": 0.98765, "r": 1234.5}
    PredictionFit.objects.filter(pk=fitted.pk).update(params=extreme)

    # when: the page in Dashboard's 1,200 px frame
    page, frame, _app, seen, _staff = _analytics(browser, live_server)
    frame.locator("#crm-ltv-segment table").wait_for(timeout=15_000)

    # then: the currency of the most customers, the channel of the most orders
    assert frame.locator("#crm-cohort-currency").input_value() == "USD"
    assert frame.locator("#crm-pairs-channel").input_value() == "channel-jpy"
    assert frame.locator("#crm-pairs-channel option").all_inner_texts() == [
        "channel-eur",
        "channel-jpy",
    ]
    assert ("pairs", {"channel": "channel-jpy", "kind": "ORDER", "sortBy": "LIFT"}) in seen.queries
    assert [name for name, variables in seen.queries if variables.get("currency") == "EUR"] == []
    params = frame.locator(".card", has_text="Prediction model (USD)").locator(
        "dd[data-fit=params]"
    )
    assert params.inner_text() == "a = 1.235E-7, alpha = 3.282E8, b = 0.9877, r = 1,235"

    # the LTV tables: each within its card, stacked one under the other
    frame.locator("#crm-ltv-currency").select_option("JPY")
    frame.locator("#crm-ltv-product table").wait_for(timeout=15_000)
    card = frame.locator(".card", has_text="Lifetime value (JPY)").bounding_box()
    boxes = {}
    for part in ("segment", "rank", "product"):
        table = frame.locator(f"#crm-ltv-{part} table")
        box = table.bounding_box()
        assert table.locator("xpath=..").get_attribute("class") == "scroll"
        assert card["x"] <= box["x"], part
        assert box["x"] + box["width"] <= card["x"] + card["width"], part
        median = table.locator("th").nth(3).bounding_box()
        assert median["x"] + median["width"] <= card["x"] + card["width"], part
        boxes[part] = box
    assert boxes["segment"]["y"] + boxes["segment"]["height"] < boxes["rank"]["y"]
    assert boxes["rank"]["y"] + boxes["rank"]["height"] < boxes["product"]["y"]
    _shot(page, "analytics-ltv-1200", height=3600)
    page.close()


def test_the_analytics_page_says_when_nothing_is_computed_yet(browser, live_server, db):
    page, frame, _app, seen, _staff = _analytics(browser, live_server, empty=True)

    frame.locator("#crm-analytics-empty").wait_for(timeout=15_000)

    assert frame.locator("#crm-analytics-empty").inner_text() == (
        "Nothing is computed yet: the analytics are computed nightly at the analytics hour "
        "(3:00, store time); the first results come after the first night."
    )
    assert [name for name, _variables in seen.queries] == ["runs"]  # no report asked for
    page.close()


def test_a_prediction_field_is_chosen_in_the_rule_builder_and_previewed(
    browser, live_server, fitted
):
    from saleor_crm_plugin.analytics.models import CustomerPrediction
    from saleor_crm_plugin.segments.services import recompute_rfm

    likely = CustomerPrediction.objects.filter(currency="USD", p_alive__gte=0.5).count()
    assert 0 < likely < 40  # the condition splits the customers
    staff = make_user("staff@example.com", staff=True, permissions=["MANAGE_USERS"])
    page = browser.new_page()
    url = f"{live_server.url}{BASE}/segments"

    def open_builder():
        page.set_content(HOST_PAGE % {"token": _js(staff.api_token), "url": _js(url)})
        frame = page.frame_locator("#app")
        condition = frame.locator("#crm-rule .condition").nth(0)
        condition.wait_for(timeout=15_000)
        condition.locator("select[name=field]").select_option("p_alive")
        condition.locator("select[name=op]").select_option("gte")
        return frame, condition

    # given: no RFM scores yet, so no currency known: the box is empty and needed
    frame, condition = open_builder()
    labels = condition.locator("select[name=field] option").all_inner_texts()
    assert {"P(alive)", "Predicted 12-month CLV", "Usual days between orders"} <= set(labels)
    currency = condition.locator("input[name=currency]")
    assert currency.input_value() == ""
    assert currency.evaluate("input => input.required && !input.validity.valid") is True
    condition.locator("input[name=value]").fill("0.5")
    frame.locator("#crm-preview.muted").filter(has_text="—").wait_for(timeout=15_000)

    # when: the store's customers scored (a USD store), and P(alive) at least 0.5
    recompute_rfm(ZoneInfo("Asia/Tokyo"), as_of=AS_OF)
    frame, condition = open_builder()
    assert condition.locator("input[name=currency]").input_value() == "USD"
    condition.locator("input[name=value]").fill("0.5")

    # then
    frame.locator("#crm-preview.ok").filter(has_text=f": {likely}").wait_for(timeout=15_000)

    # a money prediction takes its currency too (the one typed stays)
    condition.locator("select[name=field]").select_option("predicted_clv")
    assert condition.locator("input[name=currency]").input_value() == "USD"
    condition.locator("select[name=op]").select_option("gte")
    condition.locator("input[name=value]").fill("0")
    with_clv = CustomerPrediction.objects.filter(currency="USD", clv__gte=0).count()
    frame.locator("#crm-preview.ok").filter(has_text=f": {with_clv}").wait_for(timeout=15_000)
    _shot(page, "segments-prediction-rule")
    page.close()


def test_the_analytics_page_on_the_stored_reports_with_a_real_csv(browser, live_server, db):
    from saleor_crm_plugin.analytics.basket_services import top_pairs
    from saleor_crm_plugin.analytics.report_services import (
        cohort_rows,
        f2_rows,
        ltv_rows,
        product_repeat_rows,
    )

    # given: the nightly reports and pairs of a small store, and no stub
    analytics_stub.store_reports()
    staff = make_user("staff@example.com", staff=True, permissions=["MANAGE_USERS"])
    page = browser.new_page()
    url = f"{live_server.url}{BASE}/analytics"
    page.set_content(HOST_PAGE % {"token": _js(staff.api_token), "url": _js(url)})
    frame = page.frame_locator("#app")

    # when
    frame.locator("#crm-ltv-segment").wait_for(timeout=15_000)

    # then: every section from the stored rows, none refused
    assert frame.locator("#crm-content .denied").count() == 0
    currency = frame.locator("#crm-cohort-currency").input_value()
    assert currency == "JPY"
    cells = cohort_rows("", "JPY")
    assert frame.locator("#crm-cohorts td.cell").count() == cells.count() > 0
    months = [row.first_month for row in f2_rows(channel="", by="all")]
    assert _column(frame, "crm-f2", 1) == ["All months" if m == "" else m for m in months]
    repeat = product_repeat_rows("product", "", "", "-repeat_rate")
    assert _column(frame, "crm-repeat", 1) == [row.name for row in repeat]
    assert _column(frame, "crm-repeat", 2) == [str(row.buyers) for row in repeat]
    pairs = top_pairs("channel-jpy", "order", "lift")[:50]
    assert frame.locator("#crm-pairs tr").count() == 1 + len(pairs) > 1
    segments = list(ltv_rows("JPY", "segment"))
    assert frame.locator("#crm-ltv-segment tr").count() == 1 + len(segments)

    # when: the cohort table downloaded
    with page.expect_download(timeout=15_000) as download:
        frame.locator("button[data-csv=cohorts]").click()

    # then: the server's file, one line per cell
    assert download.value.suggested_filename == "cohorts-JPY.csv"
    lines = Path(download.value.path()).read_text().strip().splitlines()
    assert len(lines) == 1 + cells.count()
    _shot(page, "analytics-stored", height=3600)
    page.close()


# --- the Campaigns page ------------------------------------------------------------------------


def _campaign_store():
    """A first-order flow holding back half of thirty customers, its day-3 mail sent, and four
    messaged customers ordering again; the engine run as beat and the workers run it."""
    from django.utils import timezone

    from saleor_crm_plugin.campaigns import services
    from saleor_crm_plugin.campaigns.models import FlowEntry
    from saleor_crm_plugin.customers.ingest import ingest_orders
    from saleor_crm_plugin.host import get_host
    from saleor_crm_plugin.sandbox.models import SandboxUser

    # 12:00 in Tokyo, twenty days ago: the day-14 mails are due, not sent (nobody dispatched)
    start = (timezone.now() - timedelta(days=20)).replace(hour=3, minute=0, second=0, microsecond=0)
    host = get_host()
    config = host.config()
    definition = {
        "name": "Thank you",
        "trigger": {"kind": "first_order"},
        "steps": [
            {"delay_days": 3, "channel": "email", "template": "thank_you"},
            {"delay_days": 14, "channel": "email", "template": "review_request"},
        ],
        "control_share": 0.5,
    }
    services.save_flow("thanks", definition, config, enabled=True)
    users = []
    for number in range(30):
        user = SandboxUser.objects.create(
            email=f"c{number}@example.com",
            first_name=f"Kai{number}",
            private_metadata={"marketing_consent": "true"},
            date_joined=start - timedelta(days=30),
            updated_at=start,
        )
        snapshot = order(f"o{number}", user_id=str(user.pk), email=user.email, placed_at=start)
        SandboxOrder.store(snapshot)
        ingest_orders([snapshot])
        users.append(user)
    services.decide(start + timedelta(hours=1), config, host)
    now = start + timedelta(days=3, hours=7, minutes=59)  # 19:59 Tokyo, day 3
    batches = []
    services.dispatch(now, config, batches.append)  # autocommit: enqueued at once
    for ids in batches:
        services.send_batch(ids, now, config, host)
    messaged = {e.profile.user_id for e in FlowEntry.objects.filter(control=False)}
    for number, user in enumerate([u for u in users if str(u.pk) in messaged][:4]):
        snapshot = order(
            f"again{number}",
            user_id=str(user.pk),
            email=user.email,
            total="3000",
            placed_at=start + timedelta(days=6),
        )
        SandboxOrder.store(snapshot)
        ingest_orders([snapshot])
    return len(messaged)


def _campaigns_page(browser, live_server, locale="en"):
    staff = make_user("staff@example.com", staff=True, permissions=["MANAGE_USERS"])
    page = browser.new_page()
    problems = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on(
        "console",
        lambda message: problems.append(message.text) if message.type == "error" else None,
    )
    url = f"{live_server.url}{BASE}/campaigns?locale={locale}"
    page.set_content(HOST_PAGE % {"token": _js(staff.api_token), "url": _js(url)})
    return page, page.frame_locator("#app"), problems


def test_the_campaigns_page_shows_the_flows_and_a_flows_report_with_its_lift(
    browser, live_server, db
):
    # given
    messaged = _campaign_store()
    page, frame, problems = _campaigns_page(browser, live_server)

    # when: the list, then the flow opened
    frame.locator("#crm-flows").wait_for(timeout=15_000)
    row = frame.locator("#crm-flows tr[data-slug=thanks]")
    assert row.locator("td").nth(0).inner_text().startswith("Thank you")
    assert row.locator("td").nth(4).inner_text() == str(messaged)
    assert row.locator("input[data-enable=thanks]").is_checked()
    frame.locator("button[data-open=thanks]").click()
    frame.locator("#crm-report-steps").wait_for(timeout=15_000)

    # then: the steps, the lift against the control group, attribution, the chart, the log
    steps = frame.locator("#crm-report-steps tr")
    assert steps.count() == 3
    first = [steps.nth(1).locator("td").nth(i).inner_text() for i in range(8)]
    assert first == ["1", "thank_you", "email", "0", str(messaged), str(30 - messaged), "0", "0"]
    conversion = frame.locator("#crm-lift-conversion tr")
    assert conversion.nth(1).locator("td").nth(2).inner_text() == "4"  # messaged who ordered
    assert conversion.nth(2).locator("td").nth(2).inner_text() == "0"  # control
    assert frame.locator("#crm-lift-revenue tr").nth(1).locator("td").nth(0).inner_text() == "JPY"
    assert frame.locator("#crm-attribution tr").nth(1).locator("td").nth(1).inner_text() == "4"
    app = page.frame(url=f"{live_server.url}{BASE}/campaigns?locale=en")
    drawn = app.evaluate(
        "() => { const c = Chart.getChart(document.getElementById('crm-sends-chart'));"
        " return c.data.datasets.map(d => d.data.reduce((a, b) => a + b, 0)); }"
    )
    assert drawn == [messaged, 30 - messaged, 0, 0, 30]  # sent, held, skipped, failed, due
    assert frame.locator("#crm-send-log tr").count() == 1 + 50
    frame.locator("#crm-send-status").select_option("SENT")
    frame.locator("#crm-send-log tr >> nth=1").wait_for(timeout=15_000)
    app.wait_for_function(
        f"document.querySelectorAll('#crm-send-log tr').length === {1 + messaged}"
    )
    _shot(page, "campaigns-report", height=4200)
    assert problems == []
    page.close()


def test_staff_edit_preview_and_install_flows_on_the_campaigns_page(browser, live_server, db):
    # given
    _campaign_store()
    page, frame, problems = _campaigns_page(browser, live_server)
    frame.locator("button[data-open=thanks]").click()
    editor = frame.locator("#crm-definition")
    editor.wait_for(timeout=15_000)

    # when: a wrong channel saved
    text = editor.input_value()
    editor.fill(text.replace('"channel": "email"', '"channel": "fax"', 1))
    frame.locator("#crm-flow-save").click()
    error = frame.locator("#crm-definition-error")
    error.filter(has_text="fax").wait_for(timeout=15_000)

    # then: refused at its path, the line selected in the editor
    assert error.inner_text() == "definition.$.steps[0].channel: 'fax' is not email, line, webhook"
    assert error.get_attribute("data-field") == "definition.$.steps[0].channel"
    line = int(error.get_attribute("data-line"))
    assert editor.input_value().splitlines()[line - 1].strip().startswith('"channel": "fax"')
    assert editor.get_attribute("aria-invalid") == "true"

    # when: put right and previewed for a customer
    editor.fill(text)
    frame.locator("#crm-preview-email").fill("c3@example.com")
    frame.locator("#crm-preview-run").click()
    frame.locator("#crm-entering-today").wait_for(timeout=15_000)

    # then
    assert frame.locator("#crm-preview-days tr").count() == 1 + 7
    subjects = frame.locator("#crm-preview .subject")
    assert subjects.nth(0).inner_text() == "Subject: Thank you for your first order, Kai3"

    # when: a built-in installed
    frame.locator("#crm-built-in").select_option("winback")
    frame.locator("#crm-install").click()
    frame.locator("#crm-flows tr[data-slug=winback]").wait_for(timeout=15_000)
    frame.locator("#crm-editor h2", has_text="Dormant win-back").wait_for(timeout=15_000)

    # then: switched off, open in the editor
    assert not frame.locator("input[data-enable=winback]").is_checked()
    assert '"no_order_for"' in frame.locator("#crm-definition").input_value()
    assert "Installed, switched off" in frame.locator("#crm-notice").inner_text()
    _shot(page, "campaigns-editor", height=3000)
    assert problems == []
    page.close()


def test_the_campaigns_page_speaks_japanese(browser, live_server, db):
    # given
    _campaign_store()
    page, frame, problems = _campaigns_page(browser, live_server, locale="ja")

    # when
    frame.locator("button[data-open=thanks]").click()
    frame.locator("#crm-report-steps").wait_for(timeout=15_000)

    # then
    text = frame.locator("main").inner_text()
    for words in (
        "キャンペーン",
        "シナリオ一覧",
        "対照群と比べた効果 (リフト)",
        "送信ログ",
        "日別の送信数",
    ):
        assert words in text
    assert "アトリビューション (効果の測定値ではありません)" in text
    _shot(page, "campaigns-ja", height=4200)
    assert problems == []
    page.close()


# --- the points reports on the Overview ------------------------------------------------------


@pytest.mark.parametrize("locale", ["en", "ja"])
def test_staff_show_and_download_the_points_reports_on_the_overview(
    browser, live_server, db, locale
):
    from saleor_crm_plugin.loyalty.services import issue_paid_points

    # given: 12,000 paid points sold for 11,000,000 JPY in January 2026 (Tokyo), 4,000 used
    # in February; the free points of an adjustment
    profile = CustomerProfile.objects.create(user_id="7")
    issue_paid_points(
        profile.pk,
        12000,
        "11000000",
        "JPY",
        "paid:card-1",
        T0.replace(year=2026),
        reason="point card",
        actor="staff:1",
    )
    adjust(profile.pk, 300, "welcome", T0.replace(year=2026), reason="welcome", actor="staff:1")
    staff = make_user("staff@example.com", staff=True, permissions=["MANAGE_USERS"])
    page = browser.new_page()
    url = f"{live_server.url}{BASE}/overview?locale={locale}"
    page.set_content(HOST_PAGE % {"token": _js(staff.api_token), "url": _js(url)})
    frame = page.frame_locator("#app")
    frame.locator("#crm-paid-show").wait_for(timeout=15_000)

    # when: the free points months computed now (the task runs eagerly here), the base
    # dates of 2026 and the months January to February 2026 shown
    frame.locator("#crm-free-compute").click()
    computing = (
        "The months are being computed on the workers"
        if locale == "en"
        else "ワーカーで月次推移を集計しています"
    )
    frame.locator("#crm-notice", has_text=computing).wait_for(timeout=15_000)
    frame.locator("#crm-paid-from").fill("2026")
    frame.locator("#crm-paid-to").fill("2026")
    frame.locator("#crm-paid-show").click()
    frame.locator("#crm-paid-points table").wait_for(timeout=15_000)
    frame.locator("#crm-free-from").fill("2026-01")
    frame.locator("#crm-free-to").fill("2026-02")
    frame.locator("#crm-free-show").click()
    frame.locator("#crm-free-points table").wait_for(timeout=15_000)

    # then
    yen = "11,000,000 JPY"
    required = "over 10,000,000 JPY: required" if locale == "en" else "1,000万円超 要届出"
    assert _rows(frame, "crm-paid-points") == [
        ["2026-03-31", "12,000", yen, yen, required],
        ["2026-09-30", "12,000", yen, "0 JPY", required],
    ]
    assert _rows(frame, "crm-free-points") == [
        ["2026-01", "JPY", "0", "300", "0", "0", "0", "300"],
        ["2026-02", "JPY", "300", "0", "0", "0", "0", "300"],
    ]
    title = "Free points by month" if locale == "en" else "無償ポイントの月次推移"
    assert title in frame.locator("main").inner_text()
    computed = "Computed from the ledger at" if locale == "en" else "台帳からの集計日時"
    assert frame.locator("#crm-free-computed").inner_text().startswith(computed + " ")

    # when: the base-date report downloaded
    with page.expect_download(timeout=15_000) as download:
        frame.locator("button[data-csv=paidPoints]").click()

    # then: the server's file
    assert download.value.suggested_filename == "paid-points-2026-2026.csv"
    lines = Path(download.value.path()).read_text().strip().splitlines()
    assert lines[1:] == [
        "2026-03-31,JPY,12000,11000000,12000,11000000,true",
        "2026-09-30,JPY,12000,11000000,0,0,true",
    ]
    _shot(page, f"overview-points-reports-{locale}", height=2400)
    page.close()


def _rows(frame, box: str) -> list[list[str]]:
    """The cells of the table in `#box`, without its header."""
    rows = frame.locator(f"#{box} tr")
    return [
        [cell.strip() for cell in rows.nth(index).locator("td").all_inner_texts()]
        for index in range(1, rows.count())
    ]


def test_staff_merge_a_guest_into_the_account_and_undo_it_on_the_duplicates_page(
    browser, live_server, db
):
    from saleor_crm_plugin.customers.ingest import ingest_orders
    from saleor_crm_plugin.customers.merge_models import ProfileMerge
    from saleor_crm_plugin.tasks import find_duplicates_task

    # given: Hanako's account and her guest order under the address typed with dots
    staff = make_user("staff@example.com", staff=True, permissions=["MANAGE_USERS"])
    hanako = make_user("hanakosato@gmail.com")
    account_order = order("a1", user_id=str(hanako.pk), email=hanako.email, total="3000")
    guest_order = order("g1", email="Hanako.Sato@gmail.com", total="2000")
    for snapshot in (account_order, guest_order):
        SandboxOrder.store(snapshot)
    ingest_orders([account_order, guest_order])
    find_duplicates_task.delay().get()
    account = CustomerProfile.objects.get(user_id=str(hanako.pk))
    keep = base64.b64encode(f"CRMCustomer:{account.pk}".encode()).decode()
    page = browser.new_page()
    url = f"{live_server.url}{BASE}/duplicates?theme=light"
    page.set_content(HOST_PAGE % {"token": _js(staff.api_token), "url": _js(url)})
    frame = page.frame_locator("#app")
    frame.locator("#crm-duplicates tr[data-id]").wait_for(timeout=15_000)
    row = frame.locator("#crm-duplicates tr[data-id]")
    assert "hanakosato@gmail.com" in row.inner_text()
    assert "Guest" in row.inner_text()
    assert frame.locator(".crm-evidence").inner_text() == "email"
    _shot(page, "duplicates")

    # when: staff keep the account, and confirm
    frame.locator(f"button[data-action=keep][data-keep='{keep}']").click()
    frame.locator("button[data-action=confirm-merge]").click()

    # then
    frame.locator("#crm-notice.ok").wait_for(timeout=15_000)
    assert frame.locator("#crm-notice").inner_text() == "Merged."
    frame.locator("#crm-duplicates").wait_for(state="detached", timeout=15_000)
    assert frame.locator(".crm-merge-status").inner_text() == "In force"
    merge = ProfileMerge.objects.get()
    assert (merge.survivor_id, merge.merged_by, merge.evidence) == (
        account.pk,
        f"staff:{staff.pk}",
        ["email"],
    )
    _shot(page, "duplicates-merged")

    # and the account's widget tells the merge, in Japanese too
    widget_page = browser.new_page()
    widget_page.set_content(
        WIDGET_PAGE
        % {
            "url": _js(f"{live_server.url}{BASE}/widget/customer?locale=ja"),
            "token": _js(staff.api_token),
            "customer": _js(base64.b64encode(f"User:{hanako.pk}".encode()).decode()),
            "theme": "light",
        }
    )
    widget = widget_page.frame_locator("iframe[name=widget]")
    widget.locator("#crm-merges .crm-merge").wait_for(timeout=15_000)
    told = widget.locator("#crm-merges .crm-merge").inner_text()
    assert told.startswith("統合元: hanako.sato@gmail.com (ゲスト)")
    assert told.endswith("統合中")
    _shot(widget_page, "widget-merge-ja")
    widget_page.close()

    # when: staff undo it
    frame.locator("button[data-action=unmerge]").click()

    # then
    frame.locator("#crm-notice.ok", has_text="Unmerged").wait_for(timeout=15_000)
    assert (
        frame.locator("#crm-notice").inner_text() == "Unmerged: each customer has their own again."
    )
    frame.locator(".crm-merge-status", has_text="Undone").wait_for(timeout=15_000)
    merge.refresh_from_db()
    assert merge.unmerged_by == f"staff:{staff.pk}"
    page.close()


def test_the_widget_shows_the_customers_state_on_a_picked_date(browser, live_server, db):
    # given: 320 points given on 2025-01-10, 50 more on 2025-02-09
    staff = make_user("staff@example.com", staff=True, permissions=["MANAGE_USERS"])
    ann = make_user("ann@example.com")
    profile = CustomerProfile.objects.create(user_id=str(ann.pk), order_count=0)
    adjust(profile.pk, 320, "welcome", T0, reason="welcome", actor="staff:1", currency="JPY")
    adjust(
        profile.pk,
        50,
        "sorry",
        T0 + timedelta(days=30),
        reason="sorry",
        actor="staff:1",
        currency="JPY",
    )
    page = browser.new_page()
    page.set_content(
        WIDGET_PAGE
        % {
            "url": _js(f"{live_server.url}{BASE}/widget/customer"),
            "token": _js(staff.api_token),
            "customer": _js(base64.b64encode(f"User:{ann.pk}".encode()).decode()),
            "theme": "light",
        }
    )
    widget = page.frame_locator("iframe[name=widget]")
    widget.locator("#crm-points-available").wait_for(timeout=15_000)

    # when: a day between the two is picked (the picker posts it at once)
    widget.locator("#crm-state summary").click()
    widget.locator("#crm-state-form input[name=stateOn]").fill("2025-01-20")

    # then: the state at the end of that day (store time), with the reasons
    widget.locator("#crm-state-result").wait_for(timeout=15_000)
    assert widget.locator("#crm-state-available").inner_text() == "320"
    assert widget.locator("#crm-state-rank").inner_text() == "No rank yet"
    assert widget.locator("#crm-points-available").inner_text() == "370"  # today's, as before
    why = widget.locator("#crm-state-why li").all_text_contents()  # folded: not shown yet
    assert "1 ledger entries up to the date: 320 available, 0 pending" in why
    _shot(page, "widget-state-on-date")

    # when: the same day asked in Japanese (the form posts the widget's language back)
    widget.locator("#crm-state-form input[name=locale]").evaluate("input => input.value = 'ja'")
    widget.locator("#crm-state-form button").click()

    # then
    widget.locator("#crm-state summary", has_text="指定日の状態").wait_for(timeout=15_000)
    assert widget.locator("#crm-state-rank").inner_text() == "ランクなし"
    assert widget.locator("#crm-state-available").inner_text() == "320"
    _shot(page, "widget-state-on-date-ja")

    # when: a day before the customer was known
    widget.locator("#crm-state-form input[name=stateOn]").fill("2024-12-31")

    # then: the answer names the date and why it cannot be answered
    widget.locator("#crm-state-notice").wait_for(timeout=15_000)
    assert widget.locator("#crm-state-notice").inner_text() == (
        "at: 2024-12-31T23:59:59.999999+09:00 is before the customer existed in the CRM "
        "(first known 2025-01-10T03:00:00+00:00)"
    )


def test_staff_check_then_import_a_shopify_file_on_the_import_page(browser, live_server, db):
    from saleor_crm_plugin.loyalty.models import PointsEntry
    from saleor_crm_plugin.sandbox.models import SandboxUser

    staff = make_user("staff@example.com", staff=True, permissions=["MANAGE_USERS"])
    shopify = (
        "First Name,Last Name,Email,Accepts Email Marketing,Points,Points Currency,Rank\n"
        "Hanako,Yamada,hanako@example.jp,yes,1200,JPY,GOLD\n"
        "Taro,Suzuki,taro@example.jp,no,,,DIAMOND\n"
    )
    page = browser.new_page()
    url = f"{live_server.url}{BASE}/import?theme=light"
    page.set_content(HOST_PAGE % {"token": _js(staff.api_token), "url": _js(url)})
    frame = page.frame_locator("#app")
    frame.locator("#crm-import-check").wait_for(timeout=15_000)

    # a dry run of a file with a refused line: the line and its reason, no Import button
    frame.locator("#crm-import-layout").select_option("shopify")
    frame.locator("#crm-import-source").fill("shopify")
    frame.locator("#crm-import-file").set_input_files(
        {"name": "customers.csv", "mimeType": "text/csv", "buffer": shopify.encode()}
    )
    frame.locator("#crm-import-check").click()
    frame.locator("#crm-import-refused").wait_for(timeout=15_000)
    assert "DIAMOND" in frame.locator("#crm-import-refused").inner_text()
    assert frame.locator("#crm-import-apply").is_disabled()
    assert not SandboxUser.objects.filter(is_staff=False).exists()

    # skip the refused line, check again, then import: the progress bar reaches the end
    frame.locator("#crm-import-skip").check()
    frame.locator("#crm-import-check").click()
    frame.locator("#crm-import-apply:enabled").wait_for(timeout=15_000)
    _shot(page, "import-dry-run")
    frame.locator("#crm-import-apply").click()
    frame.locator("#crm-import-run h3", has_text="Imported").wait_for(timeout=15_000)
    progress = frame.locator("#crm-import-progress")
    assert progress.get_attribute("value") == progress.get_attribute("max")
    # the refused line (Taro's) was skipped
    assert list(SandboxUser.objects.filter(is_staff=False).values_list("email", flat=True)) == [
        "hanako@example.jp"
    ]
    assert PointsEntry.objects.get().points == 1200
    _shot(page, "import-done")
    page.close()
