"""The rank table saved from staff's pages, and the audit trail of what staff changed by hand."""

import json

import pytest

from saleor_crm_plugin.audit.models import AuditEvent
from saleor_crm_plugin.customers.models import CustomerProfile
from saleor_crm_plugin.host import MANAGE_PLUGINS, MANAGE_USERS, get_host
from saleor_crm_plugin.sandbox.models import SandboxSettings
from tests.graphql.conftest import make_user
from tests.graphql.test_loyalty import ADJUST, PIN, PREVIEW, _user_id

pytestmark = pytest.mark.django_db

SETTINGS = "{ crmRankSettings { ranks window inactiveMonths version } crmRanks { code } }"
SAVE = """mutation S($ranks: String!, $version: String!, $window: String, $months: Int) {
  crmRankSettingsSave(ranks: $ranks, version: $version, window: $window,
                      inactiveMonths: $months) {
    rankSettings { ranks window inactiveMonths version }
    errors { field message code }
  }
}"""
TRAIL = """query T($customerId: ID, $actions: [CRMAuditAction!]) {
  crmAuditTrail(first: 20, customerId: $customerId, actions: $actions) {
    totalCount edges { node {
      action actor actorId actorEmail actorName customerId customerEmail points rank reason
      detail } } } }"""
DRAFT = "Bronze (REGULAR)\nSilver (SILVER): spend 10000 JPY\nGold (GOLD): spend 100000 JPY"


@pytest.fixture
def admin(db):
    return make_user("admin@example.com", staff=True, permissions=[MANAGE_USERS, MANAGE_PLUGINS])


def _settings(post, user):
    response = post(SETTINGS, token=user.api_token)
    assert "errors" not in response, response
    return response["data"]["crmRankSettings"]


def test_a_previewed_rank_table_saves_and_reranks_everyone_as_the_preview_said(
    post, ann, admin, django_capture_on_commit_callbacks
):
    current = _settings(post, admin)
    assert current["ranks"].startswith("Regular (REGULAR)")
    assert current["window"] == "rolling 12 months, on day 1"
    assert current["inactiveMonths"] == 0
    preview = post(PREVIEW, {"ranks": DRAFT}, token=admin.api_token)["data"]["crmRankPreview"]
    assert preview[1] == {
        "code": "SILVER",
        "customersNow": 0,
        "customersDraft": 1,
        "movingUp": 1,
        "movingDown": 0,
    }

    with django_capture_on_commit_callbacks(execute=True):
        saved = post(SAVE, {"ranks": DRAFT, "version": current["version"]}, token=admin.api_token)[
            "data"
        ]["crmRankSettingsSave"]

    assert saved["errors"] == []
    assert saved["rankSettings"]["ranks"] == DRAFT
    assert saved["rankSettings"]["version"] != current["version"]
    again = post(SETTINGS, token=admin.api_token)["data"]
    assert again["crmRankSettings"] == saved["rankSettings"]
    assert [rank["code"] for rank in again["crmRanks"]] == ["REGULAR", "SILVER", "GOLD"]
    assert get_host().config().loyalty.ladder.ranks[0].name == "Bronze"
    # the background review ran on commit: Ann holds the rank the preview promised her
    profile = CustomerProfile.objects.get(user_id=str(ann.pk))
    assert profile.member_rank.code == "SILVER"
    assert profile.rank_changes.last().rule_version == saved["rankSettings"]["version"]
    # other settings are kept (the sandbox's start-up time zone)
    assert str(get_host().config().zone) == "Asia/Tokyo"
    event = post(TRAIL, token=admin.api_token)["data"]["crmAuditTrail"]["edges"][0]["node"]
    assert event["action"] == "RANK_TABLE_SAVED"
    assert event["actor"] == f"staff:{admin.pk}"
    assert event["actorId"] == _user_id(admin)
    assert event["customerId"] is None
    detail = json.loads(event["detail"])
    assert detail["before"]["ranks"] == current["ranks"]
    assert detail["version"] == saved["rankSettings"]["version"]
    assert detail["after"] == {
        "ranks": DRAFT,
        "rank-window": "rolling 12 months, on day 1",
        "rank-down-after-inactive-months": "0",
    }


def test_saving_needs_manage_plugins_and_saves_nothing_without_it(post, ann, staff_user):
    current = _settings(post, staff_user)  # MANAGE_USERS reads it

    response = post(
        SAVE, {"ranks": DRAFT, "version": current["version"]}, token=staff_user.api_token
    )

    assert response["data"]["crmRankSettingsSave"] is None
    assert response["errors"][0]["extensions"]["exception"]["code"] == "PermissionDenied"
    assert "MANAGE_PLUGINS" in response["errors"][0]["message"]
    assert not SandboxSettings.objects.exists()
    assert not AuditEvent.objects.exists()
    customer = post(SAVE, {"ranks": DRAFT, "version": current["version"]}, token=ann.api_token)
    assert customer["errors"][0]["extensions"]["exception"]["code"] == "PermissionDenied"


def test_a_table_someone_saved_since_the_preview_is_not_overwritten(post, admin):
    current = _settings(post, admin)
    first = post(SAVE, {"ranks": DRAFT, "version": current["version"]}, token=admin.api_token)
    assert first["data"]["crmRankSettingsSave"]["errors"] == []

    late = post(
        SAVE,
        {"ranks": "Regular (REGULAR)\nVIP (VIP): orders 9", "version": current["version"]},
        token=admin.api_token,
    )["data"]["crmRankSettingsSave"]

    assert late["rankSettings"] is None
    assert late["errors"][0]["field"] == "version"
    assert late["errors"][0]["code"] == "CONFLICT"
    assert "preview the draft again" in late["errors"][0]["message"]
    assert _settings(post, admin)["ranks"] == DRAFT
    assert AuditEvent.objects.count() == 1


@pytest.mark.parametrize(
    ("variables", "field", "words"),
    [
        (
            {"ranks": "Regular (R)\nGold (G): orders 5\nSilver (S): orders 3"},
            "ranks",
            "Silver.min_orders: 3 is below Gold's 5",
        ),
        ({"ranks": "", "window": None}, "ranks", "is empty"),
        ({"ranks": DRAFT, "window": "fortnightly"}, "window", "fortnightly"),
        ({"ranks": DRAFT, "months": -1}, "inactiveMonths", "-1"),
    ],
)
def test_a_wrong_table_names_the_argument_and_saves_nothing(post, admin, variables, field, words):
    current = _settings(post, admin)

    response = post(SAVE, {"version": current["version"], **variables}, token=admin.api_token)

    result = response["data"]["crmRankSettingsSave"]
    assert result["rankSettings"] is None
    assert result["errors"][0]["field"] == field
    assert result["errors"][0]["code"] == "INVALID"
    assert words in result["errors"][0]["message"]
    assert _settings(post, admin) == current
    assert not AuditEvent.objects.exists()


def test_the_audit_trail_lists_adjustments_and_pins_with_who_why_and_whom(post, ann, staff_user):
    customer = _user_id(ann)
    post(
        ADJUST,
        {"customerId": customer, "points": 50, "reason": "late parcel", "requestId": "r1"},
        token=staff_user.api_token,
    )
    # the same request again is one adjustment, and one event
    post(
        ADJUST,
        {"customerId": customer, "points": 50, "reason": "late parcel", "requestId": "r1"},
        token=staff_user.api_token,
    )
    post(
        PIN,
        {"customerId": customer, "code": "GOLD", "reason": "press partner"},
        token=staff_user.api_token,
    )
    post(PIN, {"customerId": customer, "code": None, "reason": "ended"}, token=staff_user.api_token)
    other = make_user("bob@example.com")

    trail = post(TRAIL, token=staff_user.api_token)["data"]["crmAuditTrail"]
    mine = post(TRAIL, {"customerId": customer}, token=staff_user.api_token)
    bobs = post(TRAIL, {"customerId": _user_id(other)}, token=staff_user.api_token)
    pins = post(TRAIL, {"actions": ["RANK_PINNED"]}, token=staff_user.api_token)

    assert trail["totalCount"] == 3 + 0  # adjust once, pin, unpin
    nodes = [edge["node"] for edge in trail["edges"]]
    assert [node["action"] for node in nodes] == ["RANK_UNPINNED", "RANK_PINNED", "POINTS_ADJUSTED"]
    assert nodes[2] | {"detail": None} == {
        "action": "POINTS_ADJUSTED",
        "actor": f"staff:{staff_user.pk}",
        "actorId": _user_id(staff_user),
        "actorEmail": staff_user.email,
        "actorName": None,
        "customerId": customer,
        "customerEmail": "ann@example.com",
        "points": 50,
        "rank": None,
        "reason": "late parcel",
        "detail": None,
    }
    assert (nodes[1]["rank"], nodes[1]["reason"]) == ("GOLD", "press partner")
    assert (nodes[0]["rank"], nodes[0]["reason"]) == (None, "ended")
    assert mine["data"]["crmAuditTrail"]["totalCount"] == 3
    assert bobs["errors"][0]["extensions"]["exception"]["field"] == "customerId"
    assert [e["node"]["action"] for e in pins["data"]["crmAuditTrail"]["edges"]] == ["RANK_PINNED"]
    denied = post(TRAIL, token=ann.api_token)
    assert denied["data"] is None or denied["data"]["crmAuditTrail"] is None
    assert denied["errors"][0]["extensions"]["exception"]["code"] == "PermissionDenied"


def test_the_audit_trail_names_staff_as_the_store_knows_them_in_one_query(
    post, ann, staff_user, django_assert_max_num_queries
):
    # given: two staff users, one with a name; one of them has since been deleted
    from saleor_crm_plugin.audit.services import attach_staff, record
    from saleor_crm_plugin.sandbox.models import SandboxUser
    from tests.factories import T0

    hana = make_user("hana@example.com", staff=True, permissions=[MANAGE_USERS])
    SandboxUser.objects.filter(pk=hana.pk).update(first_name="Hana", last_name="Sato")
    gone = make_user("gone@example.com", staff=True, permissions=[MANAGE_USERS]).pk
    for actor in (f"staff:{hana.pk}", f"staff:{gone}", "staff:app", f"staff:{hana.pk}"):
        record(AuditEvent.RANK_TABLE_SAVED, actor, T0, reason="r")
    SandboxUser.objects.filter(pk=gone).delete()

    # when
    nodes = [
        edge["node"]
        for edge in post(TRAIL, token=staff_user.api_token)["data"]["crmAuditTrail"]["edges"]
    ]
    events = list(AuditEvent.objects.all())
    with django_assert_max_num_queries(1):
        attach_staff(events, get_host())

    # then: "Name <email>" material where the store has the user; the actor when it has not
    assert [(n["actor"], n["actorEmail"], n["actorName"]) for n in nodes] == [
        (f"staff:{hana.pk}", "hana@example.com", "Hana Sato"),
        ("staff:app", None, None),
        (f"staff:{gone}", None, None),
        (f"staff:{hana.pk}", "hana@example.com", "Hana Sato"),
    ]
    assert [e.crm_staff.label if e.crm_staff else None for e in events] == [
        "Hana Sato <hana@example.com>",
        None,
        None,
        "Hana Sato <hana@example.com>",
    ]
