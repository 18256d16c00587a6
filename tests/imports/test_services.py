"""Moving in on PostgreSQL: customers through the host, lots, ranks and subscriptions in the
ledger; a dry run and a second import write nothing; a refused line stops the whole file."""

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from saleor_crm_plugin.audit.models import AuditEvent
from saleor_crm_plugin.customers.models import CustomerProfile
from saleor_crm_plugin.host import get_host, reset_host
from saleor_crm_plugin.imports.services import ImportArgumentError, import_file
from saleor_crm_plugin.loyalty.models import MemberRank, PointsAccount, PointsEntry, PointsLot
from saleor_crm_plugin.loyalty.services import balance
from saleor_crm_plugin.sandbox.models import SandboxUser
from saleor_crm_plugin.subscriptions.models import Cycle, Subscription, SubscriptionLine

pytestmark = pytest.mark.django_db
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "import"
NOW = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)
TABLES = (
    SandboxUser,
    CustomerProfile,
    PointsAccount,
    PointsEntry,
    PointsLot,
    MemberRank,
    Subscription,
    SubscriptionLine,
    Cycle,
    AuditEvent,
)


@pytest.fixture(autouse=True)
def _host():
    reset_host()
    yield
    reset_host()


def _import(name, kind, layout="generic", **options):
    return import_file(
        lambda: (EXAMPLES / name).open("rb"),
        kind=kind,
        layout=layout,
        source="shopify",
        file_name=name,
        host=get_host(),
        now=NOW,
        actor="staff:1",
        **options,
    )


def _text_import(text, kind, **options):
    return import_file(
        lambda: text.splitlines(keepends=True),
        kind=kind,
        source="old",
        file_name="f.csv",
        host=get_host(),
        now=NOW,
        actor="staff:1",
        **options,
    )


def _state():
    """Every table's rows with their times: equal means nothing was written."""
    return {model.__name__: sorted(map(repr, model.objects.values_list())) for model in TABLES}


def test_a_dry_run_reports_and_writes_nothing():
    # given
    before = _state()

    # when
    report = _import("customers-shopify.csv", "customers", "shopify", dry_run=True)

    # then
    assert report.counts == {
        "customers": {"created": 3},
        "points": {"created": 2},
        "ranks": {"created": 2},
    }
    assert (report.lines, report.refused_lines, report.written) == (3, 0, False)
    assert _state() == before


def test_a_shopify_file_imports_once():
    # when
    first = _import("customers-shopify.csv", "customers", "shopify")

    # then
    assert first.counts == {
        "customers": {"created": 3, "matched": 0},
        "points": {"created": 2, "unchanged": 0},
        "ranks": {"created": 2, "unchanged": 0},
    }
    hanako = SandboxUser.objects.get(email="hanako.yamada@example.jp")
    assert (hanako.first_name, hanako.last_name, hanako.country, hanako.city) == (
        "Hanako",
        "Yamada",
        "JP",
        "Shibuya-ku",
    )
    assert hanako.private_metadata == {
        "birth_date": "1988-04-12",
        "line_user_id": "U4af4980629a9b6f1d2b8e1a0c3e7f9d1",
        "marketing_consent": "true",
        "external_reference": "7011000001",
    }
    profile = CustomerProfile.objects.get(user_id=str(hanako.pk))
    state = balance(profile.pk, NOW)
    assert (state.available, state.pending) == (1200, 0)
    entry = PointsEntry.objects.get(account__profile=profile)
    assert (entry.key, entry.kind, entry.reason, entry.actor, entry.currency) == (
        f"import:shopify:opening:{hanako.pk}",
        "earn",
        "import:shopify",
        "staff:1",
        "JPY",
    )
    member = MemberRank.objects.get(profile=profile)
    assert (member.code, member.pin_code, member.pin_reason) == ("GOLD", "GOLD", "import:shopify")
    assert member.pin_expires_at == datetime(2027, 3, 30, 15, 0, tzinfo=UTC)
    assert AuditEvent.objects.get().action == "imported"

    # when: the same file again
    before = _state()
    again = _import("customers-shopify.csv", "customers", "shopify")

    # then
    assert again.created == 0
    assert again.counts == {
        "customers": {"created": 0, "matched": 3},
        "points": {"created": 0, "unchanged": 2},
        "ranks": {"created": 0, "unchanged": 2},
    }
    assert _state() == before

    # and a dry run now says the same
    assert _import("customers-shopify.csv", "customers", "shopify", dry_run=True).counts == {
        "customers": {"matched": 3},
        "points": {"unchanged": 2},
        "ranks": {"unchanged": 2},
    }


def test_lots_ranks_and_subscriptions_by_email_or_external_id():
    # given
    _import("customers-generic.csv", "customers")

    # when
    reports = [
        _import("points.csv", "points"),
        _import("ranks.csv", "ranks"),
        _import("subscriptions.csv", "subscriptions"),
    ]

    # then
    assert [report.counts for report in reports] == [
        {"points": {"created": 2, "unchanged": 0}},
        {"ranks": {"created": 2, "unchanged": 0}},
        {"subscriptions": {"created": 2, "unchanged": 0}},
    ]
    aiko = CustomerProfile.objects.get(
        user_id=str(SandboxUser.objects.get(email="aiko.tanaka@example.jp").pk)
    )
    ken = CustomerProfile.objects.get(
        user_id=str(SandboxUser.objects.get(email="ken.sato@example.jp").pk)
    )
    assert balance(aiko.pk, NOW).available == 750  # 500 opening + 250 lot
    assert balance(ken.pk, NOW).available == 100
    assert MemberRank.objects.get(profile=aiko).code == "GOLD"  # ranks.csv wins over SILVER
    assert MemberRank.objects.get(profile=ken).code == "SILVER"
    subscription = Subscription.objects.get(source_order_id="import:shopify:S-501")
    assert (subscription.profile_id, subscription.next_delivery_on.isoformat()) == (
        aiko.pk,
        "2027-01-10",
    )
    assert sorted(subscription.lines.values_list("variant_id", "quantity")) == [
        ("TEA-100G", 2),
        ("TEA-CUP", 1),
    ]
    assert list(subscription.cycles.values_list("sequence", "delivery_on", "status")) == [
        (1, date(2027, 1, 10), "scheduled"),
        (2, date(2027, 2, 10), "scheduled"),
        (3, date(2027, 3, 10), "scheduled"),
    ]
    assert subscription.shipping_address["streetAddress1"] == "2-1-1 Nishi-Shinjuku"

    # when: all three again
    before = _state()
    again = [
        _import(name, kind)
        for name, kind in (
            ("points.csv", "points"),
            ("ranks.csv", "ranks"),
            ("subscriptions.csv", "subscriptions"),
        )
    ]

    # then
    assert [report.created for report in again] == [0, 0, 0]
    assert _state() == before


def test_a_refused_line_stops_the_file_unless_skipped():
    # given
    text = (
        "email,rank,points,points_currency\n"
        "a@example.com,,10,JPY\n"
        "b@example.com,DIAMOND,,\n"
        "a@example.com,,,\n"
    )
    before = _state()

    # when
    report = _text_import(text, "customers")

    # then
    assert [str(refused) for refused in report.refused] == [
        "f.csv, line 3, rank: 'DIAMOND' is not a rank of the store; the ranks are "
        "GOLD, PLATINUM, REGULAR, SILVER",
        "f.csv, line 4, email: is on line 2 already",
    ]
    assert (report.refused_lines, report.written, report.counts) == (2, False, {})
    assert _state() == before

    # when: the good lines only
    skipped = _text_import(text, "customers", skip_refused=True)

    # then
    assert skipped.counts == {
        "customers": {"created": 1, "matched": 0},
        "points": {"created": 1, "unchanged": 0},
    }
    assert skipped.refused_lines == 2
    assert list(SandboxUser.objects.values_list("email", flat=True)) == ["a@example.com"]


def test_an_external_id_of_another_customer_of_the_store_is_refused():
    # given: the old system's id 7001 already on a's account
    _text_import("email,external_id\na@example.com,7001\n", "customers")
    text = "email,external_id\nb@example.com,7001\n"
    before = _state()

    # when: b comes with a's id (a typo, or a recycled id)
    dry = _text_import(text, "customers", dry_run=True)
    report = _text_import(text, "customers")

    # then: refused in the dry run as in the import, naming the column; nothing written
    user = SandboxUser.objects.get(email="a@example.com")
    expected = [
        f"f.csv, line 2, external_id: '7001' belongs to another customer of the store "
        f"(user {user.pk}), not to b@example.com"
    ]
    assert [str(refused) for refused in dry.refused] == expected
    assert [str(refused) for refused in report.refused] == expected
    assert _state() == before


def test_a_lot_of_a_customer_the_store_does_not_have_is_refused():
    # given
    text = (
        "lot_id,email,points,earned_at,currency,kind,paid_amount\n"
        "L1,x@example.com,5,2026-01-01,JPY,,\n"
    )

    # when
    report = _text_import(text, "points")

    # then
    assert [str(refused) for refused in report.refused] == [
        "f.csv, line 2, email: no customer x@example.com in the store: import the customers first",
    ]
    assert not PointsEntry.objects.exists()


def test_paid_points_keep_their_funding_and_price():
    # given
    _import("customers-generic.csv", "customers")
    text = (
        "lot_id,email,points,earned_at,currency,kind,paid_amount\n"
        "P1,ken.sato@example.jp,1000,2026-10-01,JPY,paid,1000\n"
        "F1,ken.sato@example.jp,50,2026-10-02,JPY,free,\n"
    )

    # when
    report = _text_import(text, "points")

    # then
    assert report.counts == {"points": {"created": 2, "unchanged": 0}}
    lots = (
        PointsLot.objects.filter(key__startswith="import:old:")
        .order_by("key")
        .values_list("key", "funding", "paid_amount", "remaining")
    )
    assert [(key, funding, amount, remaining) for key, funding, amount, remaining in lots] == [
        ("import:old:lot:F1", "free", None, 50),
        ("import:old:lot:P1", "paid", 1000, 1000),
    ]
    assert PointsEntry.objects.get(key="import:old:lot:P1").funding == "paid"


def test_the_command_dry_run_then_import(capsys):
    # given
    path = str(EXAMPLES / "customers-shopify.csv")

    # when
    call_command("crm_import", path, "--kind", "customers", "--layout", "shopify", "--dry-run")
    dry = capsys.readouterr().out
    call_command("crm_import", path, "--kind", "customers", "--layout", "shopify")
    done = capsys.readouterr().out
    call_command("crm_import", path, "--kind", "customers", "--layout", "shopify")
    again = capsys.readouterr().out

    # then
    assert dry == (
        "customers-shopify.csv: 3 lines, 0 refused; would import: customers: 3 created; "
        "points: 2 created; ranks: 2 created\n"
    )
    assert done == (
        "customers-shopify.csv: 3 lines, 0 refused; imported: customers: 3 created, 0 matched; "
        "points: 2 created, 0 unchanged; ranks: 2 created, 0 unchanged\n"
    )
    assert again == (
        "customers-shopify.csv: 3 lines, 0 refused; imported: customers: 0 created, 3 matched; "
        "points: 0 created, 2 unchanged; ranks: 0 created, 2 unchanged\n"
    )
    assert SandboxUser.objects.count() == 3


def test_the_command_refuses_with_the_lines(tmp_path, capsys):
    # given
    path = tmp_path / "ranks.csv"
    path.write_text("email,rank\nnobody@example.com,GOLD\n")

    # when
    with pytest.raises(CommandError) as caught:
        call_command("crm_import", str(path), "--kind", "ranks", "--source", "old")

    # then
    assert str(caught.value) == (
        "1 line(s) refused: nothing was written (fix them, or --skip-refused)"
    )
    assert capsys.readouterr().err.splitlines()[-1] == (
        "ranks.csv, line 2, email: no customer nobody@example.com in the store: import the "
        "customers first"
    )


def test_a_whole_move_dry_runs_before_anything_is_written(capsys):
    # given: nothing imported yet
    before = _state()

    # when: the points, ranks and subscriptions files are dry-run alone
    alone = _import("points.csv", "points", dry_run=True)

    # then: every line names a customer the store does not have
    assert alone.counts == {}
    assert {refused.reason.split(":")[-1].strip() for refused in alone.refused} == {
        "import the customers first"
    }

    # when: each with the customers file of the same move
    with_customers = {
        kind: _import(
            f"{kind}.csv",
            kind,
            dry_run=True,
            with_customers=lambda: (EXAMPLES / "customers-generic.csv").open("rb"),
        )
        for kind in ("points", "ranks", "subscriptions")
    }

    # then: what would be created, by email and by external id alike, and nothing written
    assert {kind: (r.refused_lines, r.counts) for kind, r in with_customers.items()} == {
        "points": (0, {"points": {"created": alone.refused_lines}}),
        "ranks": (0, {"ranks": {"created": 2}}),
        "subscriptions": (0, {"subscriptions": {"created": 2}}),
    }
    assert _state() == before

    # and: the command says the same
    call_command(
        "crm_import",
        str(EXAMPLES / "ranks.csv"),
        "--kind",
        "ranks",
        "--dry-run",
        "--with-customers",
        str(EXAMPLES / "customers-generic.csv"),
    )
    assert capsys.readouterr().out == (
        "ranks.csv: 2 lines, 0 refused; would import: ranks: 2 created\n"
    )


@pytest.mark.parametrize(
    ("kind", "dry_run", "reason"),
    [
        ("points", False, "is for a dry run: import the customers file first, then this one"),
        ("customers", True, "is for a points, ranks or subscriptions file"),
    ],
)
def test_with_customers_is_for_dry_runs_of_the_other_files(kind, dry_run, reason):
    before = _state()
    with pytest.raises(ImportArgumentError) as raised:
        _import(
            "points.csv" if kind == "points" else "customers-generic.csv",
            kind,
            dry_run=dry_run,
            with_customers=lambda: (EXAMPLES / "customers-generic.csv").open("rb"),
        )
    assert (raised.value.field, raised.value.message) == ("with_customers", reason)
    assert _state() == before
