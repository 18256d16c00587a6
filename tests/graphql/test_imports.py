"""Moving in through the staff API: upload, dry run report, import, progress (MANAGE_USERS)."""

import pytest

from saleor_crm_plugin.imports.models import ImportRun
from saleor_crm_plugin.loyalty.models import PointsEntry
from saleor_crm_plugin.sandbox.models import SandboxUser

START = """mutation S($content: String!, $dryRun: Boolean, $kind: String!) {
  crmImportStart(kind: $kind, layout: "shopify", source: "shopify", fileName: "c.csv",
                 content: $content, dryRun: $dryRun) {
    run { id status dryRun } errors { field code message } } }"""
APPLY = """mutation A($id: ID!) { crmImportApply(id: $id) {
  run { id status dryRun } errors { field code message } } }"""
RUN = """query R($id: ID!) { crmImportRun(id: $id) {
  status dryRun totalLines doneLines lines created refusedLines error
  counts { what outcome count } refused { file line field reason } } }"""
FILE = (
    "First Name,Last Name,Email,Accepts Email Marketing,Points,Points Currency,Rank\n"
    "Hanako,Yamada,hanako@example.jp,yes,1200,JPY,GOLD\n"
    "Taro,Suzuki,taro@example.jp,no,,,\n"
)


def test_a_dry_run_then_the_import(post, staff_user, django_capture_on_commit_callbacks):
    # when: the dry run
    with django_capture_on_commit_callbacks(execute=True):
        started = post(START, {"content": FILE, "kind": "customers"}, staff_user.api_token)
    run_id = started["data"]["crmImportStart"]["run"]["id"]
    dry = post(RUN, {"id": run_id}, staff_user.api_token)["data"]["crmImportRun"]

    # then
    assert started["data"]["crmImportStart"]["errors"] == []
    assert dry == {
        "status": "done",
        "dryRun": True,
        "totalLines": 3,
        "doneLines": 3,
        "lines": 2,
        "created": 4,
        "refusedLines": 0,
        "error": "",
        "counts": [
            {"what": "customers", "outcome": "created", "count": 2},
            {"what": "points", "outcome": "created", "count": 1},
            {"what": "ranks", "outcome": "created", "count": 1},
        ],
        "refused": [],
    }
    assert not SandboxUser.objects.filter(is_staff=False).exists()

    # when: imported
    with django_capture_on_commit_callbacks(execute=True):
        applied = post(APPLY, {"id": run_id}, staff_user.api_token)
    done = post(RUN, {"id": run_id}, staff_user.api_token)["data"]["crmImportRun"]

    # then
    assert applied["data"]["crmImportApply"] == {
        "run": {"id": run_id, "status": "pending", "dryRun": False},
        "errors": [],
    }
    assert (done["status"], done["dryRun"], done["doneLines"], done["created"]) == (
        "done",
        False,
        3,
        4,
    )
    assert sorted(SandboxUser.objects.filter(is_staff=False).values_list("email", flat=True)) == [
        "hanako@example.jp",
        "taro@example.jp",
    ]
    assert PointsEntry.objects.get().actor == f"staff:{staff_user.pk}"
    assert ImportRun.objects.get().content == ""  # the file is not kept once imported

    # and: a run imported cannot be imported again
    again = post(APPLY, {"id": run_id}, staff_user.api_token)["data"]["crmImportApply"]
    assert again["errors"] == [
        {"field": "id", "code": "INVALID", "message": "only a finished dry run can be imported"}
    ]


def test_refused_lines_are_reported(post, staff_user, django_capture_on_commit_callbacks):
    # when
    with django_capture_on_commit_callbacks(execute=True):
        started = post(
            START,
            {"content": "Email,Rank\nbad-email,GOLD\n", "kind": "customers"},
            staff_user.api_token,
        )
    run = post(RUN, {"id": started["data"]["crmImportStart"]["run"]["id"]}, staff_user.api_token)

    # then
    assert run["data"]["crmImportRun"]["refused"] == [
        {
            "file": "c.csv",
            "line": 2,
            "field": "email",
            "reason": "'bad-email' is not an email address",
        }
    ]


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        (
            {"content": "", "kind": "customers"},
            {"field": "content", "code": "INVALID", "message": "the file is empty"},
        ),
        (
            {"content": "Email\n", "kind": "orders"},
            {
                "field": "kind",
                "code": "INVALID",
                "message": "'orders' is not one of customers, points, ranks, subscriptions",
            },
        ),
    ],
    ids=["empty", "kind"],
)
def test_a_wrong_upload_is_refused(post, staff_user, variables, expected):
    result = post(START, variables, staff_user.api_token)
    assert result["data"]["crmImportStart"] == {"run": None, "errors": [expected]}
    assert not ImportRun.objects.exists()


def test_staff_without_manage_users_cannot_import(post, staff_without_permission):
    result = post(START, {"content": FILE, "kind": "customers"}, staff_without_permission.api_token)
    assert (
        result["errors"][0]["message"] == "You need one of the following permissions: MANAGE_USERS"
    )
    assert not ImportRun.objects.exists()
