"""The staff campaign API over HTTP: flows, built-ins, the preview, the report with its lift,
the send log, test sends, segment sends and the message templates."""

import base64
import json
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.core import mail
from freezegun import freeze_time

from saleor_crm_plugin.campaigns import services
from saleor_crm_plugin.campaigns.flows import BUILT_IN
from saleor_crm_plugin.campaigns.models import (
    CampaignFlow,
    CampaignSend,
    FlowEntry,
    MessageTemplate,
)
from saleor_crm_plugin.campaigns.preview import SAMPLE_NAME
from saleor_crm_plugin.customers.ingest import ingest_orders
from saleor_crm_plugin.customers.models import CustomerProfile
from saleor_crm_plugin.host import get_host
from saleor_crm_plugin.sandbox.models import SandboxOrder, SandboxUser
from tests.factories import order
from tests.graphql.conftest import make_user

pytestmark = pytest.mark.django_db

# 12:00 in Tokyo, the store's zone (tests/settings.py); the send window is 09:00-20:00.
T0 = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)
DAY = timedelta(days=1)
WINDOW_END = timedelta(hours=7, minutes=59)  # 19:59 Tokyo on T0's day
FIRST_ORDER = {
    "name": "Thank you",
    "trigger": {"kind": "first_order"},
    "steps": [
        {"delay_days": 3, "channel": "email", "template": "thank_you"},
        {"delay_days": 14, "channel": "email", "template": "review_request"},
    ],
}
NEWSLETTER = {
    "name": "Spring news",
    "trigger": {"kind": "segment_entered", "segment": "First-time buyers"},
    "steps": [{"delay_days": 0, "channel": "email", "template": "newsletter"}],
}

SAVE = """
mutation Save($slug: String!, $definition: JSONString!, $enabled: Boolean,
    $kind: CRMCampaignKind) {
  crmCampaignFlowSave(slug: $slug, definition: $definition, enabled: $enabled, kind: $kind) {
    flow { slug kind name trigger enabled builtIn definition entered sent }
    errors { field code message } } }
"""
FLOWS = "{ crmCampaignFlows { slug name trigger enabled builtIn entered sent } }"
FLOW = "query($slug: String!) { crmCampaignFlow(slug: $slug) { slug kind enabled definition } }"
BUILT_INS = "{ crmCampaignBuiltIns { name title trigger definition } }"
INSTALL = """mutation($name: String!) { crmCampaignFlowInstall(builtIn: $name) {
  flow { slug builtIn enabled name } errors { field code message } } }"""
SET_ENABLED = """mutation($slug: String!, $enabled: Boolean!) {
  crmCampaignFlowSetEnabled(slug: $slug, enabled: $enabled) {
    flow { slug enabled } errors { field code message } } }"""
DELETE = """mutation($slug: String!) { crmCampaignFlowDelete(slug: $slug) {
  slug errors { field code message } } }"""
REPORT = """query($slug: String!) { crmCampaignReport(slug: $slug) {
  flow entered unsubscribed windowDays exited { reason count }
  steps { step channel template pending sent held skipped failed reasons { reason count } }
  lift { currency
    messaged { customers converted conversionRate revenuePerCustomer { amount currency } }
    control { customers converted conversionRate revenuePerCustomer { amount currency } }
    conversion { difference low high }
    revenuePerCustomer { difference { amount currency } low { amount currency }
      high { amount currency } } }
  attribution { currency orders revenue { amount currency } }
  sendsPerDay(days: 30) { day sent pending held skipped failed } } }"""
SENDS = """query($slug: String!, $status: CRMCampaignSendStatus, $after: String) {
  crmCampaignSends(slug: $slug, status: $status, first: 2, after: $after) { totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { key customerId customerEmail step channel status reason error dueAt sentAt
      voucherCode attempts } } } }"""
PREVIEW = """query($slug: String, $definition: JSONString, $customer: ID,
    $kind: CRMCampaignKind) {
  crmCampaignPreview(slug: $slug, definition: $definition, customer: $customer, kind: $kind) {
    today segmentMembers days { day customers }
    messages { step channel template subject text html } } }"""
TEST_SEND = """mutation($slug: String!, $step: Int, $email: String!, $customer: ID) {
  crmCampaignTestSend(slug: $slug, step: $step, email: $email, customer: $customer) {
    messageId errors { field code message } } }"""
SEND_NOW = """mutation($slug: String!) { crmCampaignSendNow(slug: $slug) {
  entered flow { slug entered } errors { field code message } } }"""
TEMPLATES = "{ crmMessageTemplates { name subject text html edited } }"
TEMPLATE_SAVE = """mutation($name: String!, $subject: String!, $text: String!, $html: String) {
  crmMessageTemplateSave(name: $name, subject: $subject, text: $text, html: $html) {
    template { name subject edited } errors { field code message } } }"""


def _user_id(user) -> str:
    return base64.b64encode(f"User:{user.pk}".encode()).decode()


def _customer(number, *, first_name="Hana"):
    return SandboxUser.objects.create(
        email=f"c{number}@example.com",
        first_name=first_name,
        private_metadata={"marketing_consent": "true"},
        date_joined=T0 - 30 * DAY,
        updated_at=T0,
    )


def _buy(user, order_id, when, total="5000"):
    snapshot = order(order_id, user_id=str(user.pk), email=user.email, total=total, placed_at=when)
    SandboxOrder.store(snapshot)
    ingest_orders([snapshot])
    return CustomerProfile.objects.get(user_id=str(user.pk))


def _save(post, token, slug="thanks", definition=FIRST_ORDER, **variables):
    answer = post(
        SAVE, {"slug": slug, "definition": json.dumps(definition), **variables}, token=token
    )
    return answer["data"]["crmCampaignFlowSave"]


def _send_due(now, capture):
    """Dispatch what is due and send its batches, as beat and the workers do."""
    config = get_host().config()
    batches = []
    with capture(execute=True):
        services.dispatch(now, config, batches.append)
    for ids in batches:
        services.send_batch(ids, now, config, get_host())


def test_a_customer_token_gets_no_campaign_data_and_changes_nothing(post, staff_user):
    # given
    customer = make_user("ann@example.com")
    _save(post, staff_user.api_token)

    # when
    read = post(FLOWS, token=customer.api_token)
    report = post(REPORT, {"slug": "thanks"}, token=customer.api_token)
    saved = post(
        SAVE,
        {"slug": "mine", "definition": json.dumps(FIRST_ORDER)},
        token=customer.api_token,
    )
    anonymous = post(TEMPLATES)

    # then
    for answer in (read, report, saved, anonymous):
        (error,) = answer["errors"]
        assert error["extensions"]["exception"]["code"] == "PermissionDenied"
    assert read["errors"][0]["message"] == (
        "You need one of the following permissions: MANAGE_USERS"
    )
    assert list(CampaignFlow.objects.values_list("slug", flat=True)) == ["thanks"]


def test_staff_save_a_flow_and_read_it_back(post, staff_user):
    # when
    saved = _save(post, staff_user.api_token, enabled=True)
    listed = post(FLOWS, token=staff_user.api_token)["data"]["crmCampaignFlows"]
    one = post(FLOW, {"slug": "thanks"}, token=staff_user.api_token)["data"]["crmCampaignFlow"]
    missing = post(FLOW, {"slug": "nope"}, token=staff_user.api_token)["data"]["crmCampaignFlow"]

    # then
    assert saved["errors"] == []
    assert json.loads(saved["flow"].pop("definition")) == FIRST_ORDER
    assert saved["flow"] == {
        "slug": "thanks",
        "kind": "FLOW",
        "name": "Thank you",
        "trigger": "first_order",
        "enabled": True,
        "builtIn": None,
        "entered": 0,
        "sent": 0,
    }
    assert listed == [
        {
            "slug": "thanks",
            "name": "Thank you",
            "trigger": "first_order",
            "enabled": True,
            "builtIn": None,
            "entered": 0,
            "sent": 0,
        }
    ]
    assert json.loads(one.pop("definition")) == FIRST_ORDER
    assert one == {"slug": "thanks", "kind": "FLOW", "enabled": True}
    assert missing is None


@pytest.mark.parametrize(
    ("definition", "field", "code", "message"),
    [
        (
            {**FIRST_ORDER, "steps": [{"delay_days": 3, "channel": "fax", "template": "x"}]},
            "definition.$.steps[0].channel",
            "INVALID",
            "'fax' is not email, line, webhook",
        ),
        (
            {**FIRST_ORDER, "steps": [{"delay_days": 3, "channel": "email", "template": "no"}]},
            "definition.$.steps[0].template",
            "INVALID",
            "there is no template 'no'",
        ),
        (
            {"trigger": {"kind": "first_order"}, "steps": []},
            "definition.$.name",
            "REQUIRED",
            "is required",
        ),
    ],
    ids=["channel", "template", "name"],
)
def test_a_wrong_definition_is_refused_at_its_json_path(
    post, staff_user, definition, field, code, message
):
    # when
    saved = _save(post, staff_user.api_token, definition=definition)

    # then
    assert saved == {"flow": None, "errors": [{"field": field, "code": code, "message": message}]}
    assert not CampaignFlow.objects.exists()


def test_a_bad_slug_or_a_segment_send_without_its_segment_is_refused(post, staff_user):
    # when
    slug = _save(post, staff_user.api_token, slug="no spaces")
    broadcast = _save(post, staff_user.api_token, slug="news", kind="BROADCAST")

    # then
    assert slug["errors"] == [
        {"field": "slug", "code": "INVALID", "message": "use 1-64 letters, digits, '-' or '_'"}
    ]
    assert broadcast["errors"] == [
        {
            "field": "definition.$.trigger.kind",
            "code": "INVALID",
            "message": "a segment send names its segment",
        }
    ]
    assert not CampaignFlow.objects.exists()


def test_built_ins_are_offered_until_installed_switched_off(post, staff_user):
    # given
    token = staff_user.api_token
    offered = post(BUILT_INS, token=token)["data"]["crmCampaignBuiltIns"]

    # when
    installed = post(INSTALL, {"name": "winback"}, token=token)["data"]["crmCampaignFlowInstall"]
    again = post(INSTALL, {"name": "winback"}, token=token)["data"]["crmCampaignFlowInstall"]
    unknown = post(INSTALL, {"name": "nope"}, token=token)["data"]["crmCampaignFlowInstall"]
    after = post(BUILT_INS, token=token)["data"]["crmCampaignBuiltIns"]

    # then
    assert [b["name"] for b in offered] == list(BUILT_IN)
    winback = next(b for b in offered if b["name"] == "winback")
    assert winback["title"] == "Dormant win-back"
    assert winback["trigger"] == "no_order_for"
    assert json.loads(winback["definition"]) == BUILT_IN["winback"]
    expected = {
        "slug": "winback",
        "builtIn": "winback",
        "enabled": False,
        "name": "Dormant win-back",
    }
    assert installed == {"flow": expected, "errors": []}
    assert again == {"flow": expected, "errors": []}
    assert unknown["flow"] is None
    assert unknown["errors"][0]["field"] == "builtIn"
    assert unknown["errors"][0]["code"] == "INVALID"
    assert [b["name"] for b in after] == [name for name in BUILT_IN if name != "winback"]
    assert CampaignFlow.objects.count() == 1


def test_a_flow_is_deleted_only_when_switched_off(post, staff_user):
    # given
    token = staff_user.api_token
    _save(post, token, enabled=True)

    # when
    refused = post(DELETE, {"slug": "thanks"}, token=token)["data"]["crmCampaignFlowDelete"]
    off = post(SET_ENABLED, {"slug": "thanks", "enabled": False}, token=token)
    deleted = post(DELETE, {"slug": "thanks"}, token=token)["data"]["crmCampaignFlowDelete"]
    unknown = post(DELETE, {"slug": "thanks"}, token=token)["data"]["crmCampaignFlowDelete"]

    # then
    assert refused == {
        "slug": None,
        "errors": [
            {
                "field": "slug",
                "code": "ENABLED",
                "message": "'thanks' is switched on: switch it off first",
            }
        ],
    }
    assert off["data"]["crmCampaignFlowSetEnabled"] == {
        "flow": {"slug": "thanks", "enabled": False},
        "errors": [],
    }
    assert deleted == {"slug": "thanks", "errors": []}
    assert unknown == {
        "slug": None,
        "errors": [{"field": "slug", "code": "NOT_FOUND", "message": "there is no flow 'thanks'"}],
    }
    assert not CampaignFlow.objects.exists()


def test_a_flow_whose_template_is_gone_cannot_be_switched_on(post, staff_user):
    # given: a flow saved while its staff template existed
    token = staff_user.api_token
    MessageTemplate.objects.create(name="spring", subject="Spring", text="Hello")
    spring = {**FIRST_ORDER, "steps": [{"delay_days": 0, "channel": "email", "template": "spring"}]}
    _save(post, token, definition=spring)
    MessageTemplate.objects.all().delete()

    # when
    answer = post(SET_ENABLED, {"slug": "thanks", "enabled": True}, token=token)

    # then
    assert answer["data"]["crmCampaignFlowSetEnabled"] == {
        "flow": None,
        "errors": [
            {
                "field": "definition.$.steps[0].template",
                "code": "INVALID",
                "message": "there is no template 'spring'",
            }
        ],
    }
    assert CampaignFlow.objects.get().enabled is False


@pytest.fixture
def ran(post, staff_user, django_capture_on_commit_callbacks):
    """Thirty first orders at T0 in a flow holding back half, its day-3 mail sent, and four
    messaged customers ordering again on day 6 (3,000 JPY each)."""
    _save(
        post, staff_user.api_token, definition={**FIRST_ORDER, "control_share": 0.5}, enabled=True
    )
    users = [_customer(number) for number in range(30)]
    for number, user in enumerate(users):
        _buy(user, f"o{number}", T0)
    config = get_host().config()
    services.decide(T0 + timedelta(hours=1), config, get_host())
    _send_due(T0 + 3 * DAY + WINDOW_END, django_capture_on_commit_callbacks)
    messaged = {e.profile.user_id for e in FlowEntry.objects.filter(control=False)}
    buyers = [u for u in users if str(u.pk) in messaged][:4]
    for number, user in enumerate(buyers):
        _buy(user, f"again{number}", T0 + 6 * DAY, total="3000")
    return len(messaged)


def test_the_report_shows_the_lift_the_attribution_and_sends_per_day(post, staff_user, ran):
    # given
    messaged, control = ran, 30 - ran

    # when
    with freeze_time(T0 + 10 * DAY):
        report = post(REPORT, {"slug": "thanks"}, token=staff_user.api_token)
    missing = post(REPORT, {"slug": "nope"}, token=staff_user.api_token)

    # then
    assert "errors" not in report
    data = report["data"]["crmCampaignReport"]
    assert (data["flow"], data["entered"], data["windowDays"]) == ("thanks", 30, 30)
    assert data["unsubscribed"] == 0
    assert data["steps"][0] == {
        "step": 0,
        "channel": "email",
        "template": "thank_you",
        "pending": 0,
        "sent": messaged,
        "held": control,
        "skipped": 0,
        "failed": 0,
        "reasons": [],
    }
    assert data["steps"][1]["template"] == "review_request"
    assert data["steps"][1]["pending"] == 30  # day 14 is to come
    overall, jpy = data["lift"]
    assert overall["currency"] is None
    assert overall["messaged"] == {
        "customers": messaged,
        "converted": 4,
        "conversionRate": pytest.approx(4 / messaged),
        "revenuePerCustomer": None,
    }
    assert overall["control"]["converted"] == 0
    assert overall["conversion"]["difference"] == pytest.approx(4 / messaged)
    assert overall["conversion"]["low"] < overall["conversion"]["difference"]
    assert overall["revenuePerCustomer"] is None
    assert jpy["currency"] == "JPY"
    per_customer = int((Decimal(12000) / messaged).quantize(Decimal(1), ROUND_HALF_UP))
    assert jpy["messaged"]["revenuePerCustomer"] == {"amount": per_customer, "currency": "JPY"}
    assert jpy["control"]["revenuePerCustomer"] == {"amount": 0, "currency": "JPY"}
    assert jpy["revenuePerCustomer"]["difference"] == {"amount": per_customer, "currency": "JPY"}
    assert jpy["revenuePerCustomer"]["low"]["currency"] == "JPY"
    assert data["attribution"] == [
        {"currency": "JPY", "orders": 4, "revenue": {"amount": 12000, "currency": "JPY"}}
    ]
    # the day-3 mails on the day they went out, the held ones on the day they were due, and
    # the day-14 mails of those still in the flow on the day they are due
    days = {d["day"]: d for d in data["sendsPerDay"]}
    assert days["2026-03-05"]["sent"] == messaged
    assert days["2026-03-05"]["held"] == control
    assert days["2026-03-16"]["pending"] == 30
    assert sum(d["sent"] for d in data["sendsPerDay"]) == messaged
    assert missing["data"]["crmCampaignReport"] is None


def test_the_send_log_pages_through_the_ledger_by_status(post, staff_user, ran):
    # when
    first = post(SENDS, {"slug": "thanks", "status": "SENT"}, token=staff_user.api_token)
    page = first["data"]["crmCampaignSends"]
    second = post(
        SENDS,
        {"slug": "thanks", "status": "SENT", "after": page["pageInfo"]["endCursor"]},
        token=staff_user.api_token,
    )["data"]["crmCampaignSends"]
    everything = post(SENDS, {"slug": "thanks"}, token=staff_user.api_token)
    unknown = post(SENDS, {"slug": "nope"}, token=staff_user.api_token)

    # then
    assert page["totalCount"] == ran
    assert page["pageInfo"]["hasNextPage"] is True
    assert len(page["edges"]) == 2
    node = page["edges"][0]["node"]
    send = CampaignSend.objects.get(key=node["key"])
    assert node["status"] == "SENT"
    assert (node["step"], node["channel"], node["attempts"]) == (0, "email", 1)
    user = SandboxUser.objects.get(pk=send.profile.user_id)
    assert (node["customerEmail"], node["customerId"]) == (user.email, _user_id(user))
    assert (node["reason"], node["error"], node["voucherCode"]) == (None, None, None)
    assert node["sentAt"] is not None
    assert {e["node"]["key"] for e in second["edges"]}.isdisjoint(
        {e["node"]["key"] for e in page["edges"]}
    )
    assert everything["data"]["crmCampaignSends"]["totalCount"] == 60
    assert unknown["data"]["crmCampaignSends"] is None
    assert unknown["errors"][0]["extensions"]["exception"]["field"] == "slug"


@freeze_time(T0 + 3 * DAY)
def test_the_preview_counts_the_last_days_and_renders_for_a_customer(post, staff_user):
    # given: first orders today (two), yesterday and five days ago; a repeat buyer today
    for number, days_ago in enumerate([0, 0, 1, 5]):
        _buy(
            _customer(number, first_name=f"Kai{number}"),
            f"o{number}",
            T0 + 3 * DAY - days_ago * DAY,
        )
    repeat = _customer(9)
    _buy(repeat, "r1", T0 - 20 * DAY)
    _buy(repeat, "r2", T0 + 3 * DAY)
    chosen = SandboxUser.objects.get(email="c1@example.com")

    # when
    answer = post(
        PREVIEW,
        {"definition": json.dumps(FIRST_ORDER), "customer": _user_id(chosen)},
        token=staff_user.api_token,
    )
    sample = post(PREVIEW, {"definition": json.dumps(FIRST_ORDER)}, token=staff_user.api_token)

    # then
    assert "errors" not in answer
    preview = answer["data"]["crmCampaignPreview"]
    assert preview["today"] == 2
    assert preview["segmentMembers"] is None
    assert [d["day"] for d in preview["days"]] == [
        "2026-02-27",
        "2026-02-28",
        "2026-03-01",
        "2026-03-02",
        "2026-03-03",
        "2026-03-04",
        "2026-03-05",
    ]
    assert [d["customers"] for d in preview["days"]] == [0, 1, 0, 0, 0, 1, 2]
    first, second = preview["messages"]
    assert (first["step"], first["channel"], first["template"]) == (0, "email", "thank_you")
    assert first["subject"] == "Thank you for your first order, Kai1"
    assert "/campaigns/unsubscribe/preview" in first["text"]
    assert first["html"].startswith("<")
    assert second["template"] == "review_request"
    assert "Kai1" in second["text"]
    assert sample["data"]["crmCampaignPreview"]["messages"][0]["subject"] == (
        f"Thank you for your first order, {SAMPLE_NAME}"
    )
    assert not FlowEntry.objects.exists()
    assert not CampaignSend.objects.exists()


def test_a_segment_sends_preview_counts_its_members_who_have_not_had_it(post, staff_user):
    # given
    for number in range(3):
        _buy(_customer(number), f"o{number}", T0)
    token = staff_user.api_token

    # when
    unsaved = post(
        PREVIEW, {"definition": json.dumps(NEWSLETTER), "kind": "BROADCAST"}, token=token
    )["data"]["crmCampaignPreview"]
    _save(post, token, slug="news", definition=NEWSLETTER, kind="BROADCAST")
    sent = post(SEND_NOW, {"slug": "news"}, token=token)["data"]["crmCampaignSendNow"]
    after = post(PREVIEW, {"slug": "news"}, token=token)["data"]["crmCampaignPreview"]

    # then
    assert (unsaved["today"], unsaved["segmentMembers"], unsaved["days"]) == (3, 3, [])
    assert unsaved["messages"][0]["template"] == "newsletter"
    assert sent == {"entered": 3, "flow": {"slug": "news", "entered": 3}, "errors": []}
    assert (after["today"], after["segmentMembers"]) == (0, 3)


@pytest.mark.parametrize(
    ("variables", "field", "message"),
    [
        ({}, "slug", "give the flow's slug, or a definition to preview"),
        ({"slug": "nope"}, "slug", "there is no flow 'nope'"),
        (
            {"definition": json.dumps({**FIRST_ORDER, "control_share": 0.9})},
            "definition.$.control_share",
            "0.9 is not a share from 0 to 0.5",
        ),
        (
            {"definition": json.dumps(FIRST_ORDER), "customer": "VXNlcjo5OTk5"},
            "customer",
            "'VXNlcjo5OTk5' is not a customer the CRM knows",
        ),
    ],
    ids=["nothing", "unknown-flow", "definition", "customer"],
)
def test_a_bad_preview_request_names_its_argument(post, staff_user, variables, field, message):
    # when
    answer = post(PREVIEW, variables, token=staff_user.api_token)

    # then
    assert answer["data"]["crmCampaignPreview"] is None
    (error,) = answer["errors"]
    assert error["message"] == f"{field}: {message}"
    assert error["extensions"]["exception"]["field"] == field


def test_a_test_send_mails_the_staff_address_and_records_nothing(post, staff_user):
    # given
    token = staff_user.api_token
    _save(post, token)
    customer = _customer(1, first_name="Mio")
    _buy(customer, "o1", T0)

    # when
    answer = post(
        TEST_SEND,
        {"slug": "thanks", "email": "staff@example.com", "customer": _user_id(customer)},
        token=token,
    )["data"]["crmCampaignTestSend"]
    sample = post(
        TEST_SEND, {"slug": "thanks", "step": 1, "email": "staff@example.com"}, token=token
    )["data"]["crmCampaignTestSend"]

    # then
    assert answer["errors"] == []
    first, second = mail.outbox
    assert first.to == ["staff@example.com"]
    assert first.subject == "[TEST] Thank you for your first order, Mio"
    assert first.extra_headers["Message-ID"] == answer["messageId"]
    assert "/campaigns/unsubscribe/preview" in first.extra_headers["List-Unsubscribe"]
    assert first.alternatives[0][1] == "text/html"
    assert sample["errors"] == []
    assert SAMPLE_NAME in second.body
    assert not CampaignSend.objects.exists()
    assert not FlowEntry.objects.exists()


@pytest.mark.parametrize(
    ("variables", "field", "code", "message"),
    [
        (
            {"email": "not-an-address"},
            "email",
            "INVALID",
            "'not-an-address' is not an email address",
        ),
        ({"step": 2}, "step", "INVALID", "2 is not a step of the flow (0 to 1)"),
        ({"slug": "nope"}, "slug", "NOT_FOUND", "there is no flow 'nope'"),
    ],
    ids=["email", "step", "flow"],
)
def test_a_bad_test_send_is_refused(post, staff_user, variables, field, code, message):
    # given
    _save(post, staff_user.api_token)
    variables = {"slug": "thanks", "email": "staff@example.com", **variables}

    # when
    answer = post(TEST_SEND, variables, token=staff_user.api_token)["data"]["crmCampaignTestSend"]

    # then
    assert answer == {
        "messageId": None,
        "errors": [{"field": field, "code": code, "message": message}],
    }
    assert mail.outbox == []


def test_a_flow_is_not_sent_now(post, staff_user):
    # given
    _save(post, staff_user.api_token)

    # when
    answer = post(SEND_NOW, {"slug": "thanks"}, token=staff_user.api_token)

    # then
    assert answer["data"]["crmCampaignSendNow"] == {
        "entered": None,
        "flow": None,
        "errors": [
            {
                "field": "slug",
                "code": "INVALID",
                "message": "'thanks' is a flow, not a segment send",
            }
        ],
    }
    assert not FlowEntry.objects.exists()


def test_staff_edit_a_template_and_the_preview_uses_it(post, staff_user):
    # given
    token = staff_user.api_token
    shipped = {t["name"]: t for t in post(TEMPLATES, token=token)["data"]["crmMessageTemplates"]}

    # when
    broken = post(
        TEMPLATE_SAVE,
        {"name": "thank_you", "subject": "Hi {% if %}", "text": "Thanks"},
        token=token,
    )["data"]["crmMessageTemplateSave"]
    saved = post(
        TEMPLATE_SAVE,
        {"name": "thank_you", "subject": "Thanks, {{ name }}!", "text": "Thanks {{ name }}"},
        token=token,
    )["data"]["crmMessageTemplateSave"]
    edited = {t["name"]: t for t in post(TEMPLATES, token=token)["data"]["crmMessageTemplates"]}
    preview = post(PREVIEW, {"definition": json.dumps(FIRST_ORDER)}, token=token)

    # then
    assert shipped["thank_you"]["edited"] is False
    assert "{{ name }}" in shipped["thank_you"]["subject"]
    assert shipped["thank_you"]["html"] != ""
    assert broken["template"] is None
    (error,) = broken["errors"]
    assert (error["field"], error["code"]) == ("subject", "INVALID")
    assert error["message"].startswith("is not a valid template: ")
    assert saved == {
        "template": {"name": "thank_you", "subject": "Thanks, {{ name }}!", "edited": True},
        "errors": [],
    }
    assert edited["thank_you"]["edited"] is True
    assert edited["thank_you"]["html"] == ""
    assert edited["review_request"]["edited"] is False
    message = preview["data"]["crmCampaignPreview"]["messages"][0]
    assert (message["subject"], message["text"]) == (
        f"Thanks, {SAMPLE_NAME}!",
        f"Thanks {SAMPLE_NAME}\n",
    )
    assert MessageTemplate.objects.count() == 1


def test_a_flow_is_not_deleted_while_a_worker_sends_its_messages(post, staff_user, ran):
    # given: switched off, one of its messages claimed by a worker
    token = staff_user.api_token
    post(SET_ENABLED, {"slug": "thanks", "enabled": False}, token=token)
    CampaignSend.objects.filter(
        pk=CampaignSend.objects.filter(status="pending").order_by("pk").values("pk")[:1]
    ).update(status="sending")

    # when
    answer = post(DELETE, {"slug": "thanks"}, token=token)["data"]["crmCampaignFlowDelete"]

    # then
    assert answer == {
        "slug": None,
        "errors": [
            {
                "field": "slug",
                "code": "BUSY",
                "message": "a worker is sending 'thanks''s messages now: try again in a few "
                "minutes",
            }
        ],
    }
    assert CampaignSend.objects.count() == 60
