"""`crm_import --workers N`: parts of one file checked and written by several processes, with
the outcome of one process (PostgreSQL; the processes see only committed rows)."""

from datetime import UTC, datetime

import pytest

from saleor_crm_plugin.customers.models import CustomerProfile
from saleor_crm_plugin.host import get_host, reset_host
from saleor_crm_plugin.imports.services import ImportArgumentError, import_path
from saleor_crm_plugin.loyalty.models import PointsEntry
from saleor_crm_plugin.sandbox.models import SandboxUser

pytestmark = pytest.mark.django_db(transaction=True)
NOW = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _host():
    reset_host()
    yield
    reset_host()


def _customers(path, count, repeated=()):
    """`count` customers, a few with a value that spans two lines (a quoted line break);
    `repeated`: (line index, email) of lines repeating an earlier email."""
    lines = ["email,first_name,last_name,note,external_id,points,points_currency"]
    for n in range(count):
        note = '"first line\nsecond line"' if n % 7 == 0 else ""
        points = f"{n % 3 * 10},JPY" if n % 3 else ","
        lines.append(f"c{n}@example.com,First{n},Last{n},{note},ext-{n},{points}")
    for index, email in repeated:
        lines[index] = f"{email},Again,Again,,,,"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _import(path, workers, **options):
    return import_path(
        path,
        workers=workers,
        kind=options.pop("kind", "customers"),
        source="old",
        file_name=path.name,
        host=get_host(),
        now=NOW,
        actor="staff:1",
        **options,
    )


def _state():
    return (
        sorted(SandboxUser.objects.values_list("email", "first_name")),
        CustomerProfile.objects.count(),
        sorted(PointsEntry.objects.values_list("key", "points")),
    )


@pytest.mark.parametrize("workers", [1, 3])
def test_several_processes_import_what_one_does(tmp_path, workers):
    # given: 60 customers, some with a line break inside a value
    path = _customers(tmp_path / "customers.csv", 60)

    # when
    dry = _import(path, workers, dry_run=True)
    done = _import(path, workers)
    again = _import(path, workers)

    # then
    assert dry.counts == {"customers": {"created": 60}, "points": {"created": 40}}
    assert done.counts == {
        "customers": {"created": 60, "matched": 0},
        "points": {"created": 40, "unchanged": 0},
    }
    assert (done.lines, done.refused_lines) == (69, 0)  # 60 customers on 69 lines
    assert again.created == 0
    users, profiles, entries = _state()
    assert len(users) == profiles == 60
    assert ("c59@example.com", "First59") in users
    assert len(entries) == 40


@pytest.mark.parametrize("workers", [1, 3])
def test_an_email_repeated_in_another_part_is_refused_with_its_line(tmp_path, workers):
    # given: the last line repeats the first customer's email (another part with 3 workers);
    # a line is where its record ends (the first one holds a line break)
    path = _customers(tmp_path / "customers.csv", 60, repeated=[(-1, "c0@example.com")])

    # when
    report = _import(path, workers)

    # then: refused naming the first line, and nothing written
    assert [str(refused) for refused in report.refused] == [
        "customers.csv, line 70, email: is on line 3 already"
    ]
    assert report.refused_lines == 1
    assert _state() == ([], 0, [])

    # when: the other lines are written
    skipped = _import(path, workers, skip_refused=True)

    # then
    assert skipped.counts["customers"] == {"created": 59, "matched": 0}
    assert SandboxUser.objects.get(email="c0@example.com").first_name == "First0"


def test_workers_must_be_one_or_more(tmp_path):
    path = _customers(tmp_path / "customers.csv", 3)
    with pytest.raises(ImportArgumentError) as raised:
        _import(path, 0)
    assert (raised.value.field, raised.value.message) == ("workers", "must be 1 or more, not 0")
