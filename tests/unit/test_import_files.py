"""The import files' reader: every line checked, every refusal with file, line, column, reason."""

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from saleor_crm_plugin.imports.files import (
    Address,
    CustomerRef,
    CustomerRow,
    FileRefused,
    LotRow,
    RankRow,
    Refused,
    read_file,
)
from saleor_crm_plugin.subscriptions.schedule import Interval, Unit

TOKYO = ZoneInfo("Asia/Tokyo")
NOW = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)


def _read(text, kind, layout="generic"):
    return list(
        read_file(
            text.splitlines(keepends=True),
            kind=kind,
            layout=layout,
            file="f.csv",
            zone=TOKYO,
            as_of=NOW,
        )
    )


def test_a_shopify_export_line_with_points_and_rank():
    # given
    text = (
        "Customer ID,First Name,Last Name,Email,Accepts Email Marketing,"
        "Default Address Address1,Default Address City,Default Address Country Code,"
        "Default Address Zip,Phone,Total Orders,Tags,Birth Date,Points,Points Currency,Rank\n"
        "42,Hanako,Yamada, Hanako@Example.JP ,yes,1-2-3 Jingumae,Shibuya-ku,jp,150-0001,"
        '\'+81 90-1234-5678,7,"vip, tea",1988-04-12,1200,JPY,GOLD\n'
    )

    # when
    rows = _read(text, "customers", "shopify")

    # then
    ref = CustomerRef("hanako@example.jp", "42")
    assert rows == [
        CustomerRow(
            line=2,
            email="hanako@example.jp",
            first_name="Hanako",
            last_name="Yamada",
            phone="+819012345678",
            address=Address(
                first_name="Hanako",
                last_name="Yamada",
                street_address_1="1-2-3 Jingumae",
                city="Shibuya-ku",
                postal_code="150-0001",
                country="JP",
                phone="+819012345678",
            ),
            birth_date=date(1988, 4, 12),
            marketing_consent=True,
            external_id="42",
            tags=("vip", "tea"),
            points=LotRow(2, ref, "opening", 1200, NOW, None, "JPY"),
            rank=RankRow(2, ref, "GOLD", None),
            total_orders=7,
        )
    ]


def test_every_problem_of_a_line_is_refused_with_its_column():
    # given
    text = (
        "email,birth_date,marketing_consent,country,city,points,line_user_id\n"
        "not-an-email,2030-01-01,maybe,Japan,,10,U123\n"
    )

    # when
    rows = _read(text, "customers")

    # then
    assert [(r.line, r.field, r.reason) for r in rows] == [
        (2, "email", "'not-an-email' is not an email address"),
        (2, "country", "'Japan' is not a two-letter country code (JP)"),
        (2, "street_address_1", "is empty while the line has an address"),
        (2, "city", "is empty while the line has an address"),
        (2, "birth_date", "2030-01-01 is in the future"),
        (2, "line_user_id", "'U123' is not a LINE user ID (U + 32 characters)"),
        (2, "points_currency", "is empty"),
        (2, "marketing_consent", "'maybe' is not yes or no"),
    ]
    assert str(rows[0]) == "f.csv, line 2, email: 'not-an-email' is not an email address"


def test_point_lots_by_email_or_external_id():
    # given
    text = (
        "lot_id,email,external_id,points,earned_at,expires_at,currency,kind,paid_amount\n"
        "L1,a@example.com,,250,2026-05-01,2027-05-01,JPY,,\n"
        "L2,,old-7,100,2026-08-15T10:00:00+09:00,,jpy,paid,1000\n"
    )

    # when
    rows = _read(text, "points")

    # then
    assert rows == [
        LotRow(
            2,
            CustomerRef("a@example.com"),
            "L1",
            250,
            datetime(2026, 5, 1, tzinfo=TOKYO),
            datetime(2027, 5, 1, tzinfo=TOKYO),
            "JPY",
        ),
        LotRow(
            3,
            CustomerRef("", "old-7"),
            "L2",
            100,
            datetime(2026, 8, 15, 1, 0, tzinfo=UTC),
            None,
            "JPY",
            "paid",
            1000,
        ),
    ]


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        (
            "L1,,,5,2026-01-01,,JPY,,",
            [("email", "is empty, and so is external_id: name the customer")],
        ),
        ("L1,a@b.jp,,0,2026-01-01,,JPY,,", [("points", "0 is below 1")]),
        (
            "L1,a@b.jp,,5,2027-01-01,,JPY,,",
            [("earned_at", "2027-01-01T00:00:00+09:00 is in the future")],
        ),
        (
            "L1,a@b.jp,,5,2026-01-01,2026-02-01,JPY,,",
            [("expires_at", "2026-02-01T00:00:00+09:00 has passed")],
        ),
        ("L1,a@b.jp,,5,2026-01-01,,JPY,gift,", [("kind", "'gift' is not free or paid")]),
        (
            "L1,a@b.jp,,5,2026-01-01,,JPY,paid,",
            [("paid_amount", "is empty: a paid lot says what the customer paid")],
        ),
        (
            "L1,a@b.jp,,5,2026-01-01,,JPY,free,100",
            [("paid_amount", "is given for a free lot (kind paid takes an amount)")],
        ),
        ("L:1,a@b.jp,,5,2026-01-01,,JPY,,", [("lot_id", "may not contain ':'")]),
        (
            "L1,a@b.jp,,5,01/02/2026,,JPY,,",
            [
                (
                    "earned_at",
                    "'01/02/2026' is not an ISO 8601 time (2025-03-31 or 2025-03-31T14:05:00+09:00)",
                )
            ],
        ),
    ],
    ids=[
        "no customer",
        "zero",
        "future",
        "expired",
        "kind",
        "paid without amount",
        "free with amount",
        "colon",
        "date",
    ],
)
def test_a_refused_point_lot(cells, expected):
    # given
    text = (
        "lot_id,email,external_id,points,earned_at,expires_at,currency,kind,paid_amount\n" + cells
    )

    # when
    rows = _read(text, "points")

    # then
    assert [(r.field, r.reason) for r in rows] == expected
    assert all(isinstance(r, Refused) and r.line == 2 for r in rows)


def test_subscriptions_with_items_interval_and_address():
    # given
    text = (
        "subscription_id,email,items,interval,next_delivery,channel,currency,"
        "ship_first_name,ship_last_name,ship_street_address_1,ship_city,ship_country\n"
        "S1,a@b.jp,TEA-100G:2; 12345,1 month,2027-01-10,ch,JPY,Aiko,Tanaka,2-1-1,Tokyo,JP\n"
        "S2,a@b.jp,TEA:0,fortnightly,2026-12-01,ch,JPY,,,1-1,,\n"
    )

    # when
    rows = _read(text, "subscriptions")

    # then
    assert rows[0].items == (("TEA-100G", 2), ("12345", 1))
    assert rows[0].interval == Interval(1, Unit.MONTH)
    assert rows[0].next_delivery == date(2027, 1, 10)
    assert rows[0].address.as_input() == {
        "firstName": "Aiko",
        "lastName": "Tanaka",
        "streetAddress1": "2-1-1",
        "city": "Tokyo",
        "country": "JP",
    }
    assert [(r.line, r.field) for r in rows[1:]] == [
        (3, "items"),
        (3, "interval"),
        (3, "next_delivery"),
        (3, "ship_city"),
        (3, "ship_country"),
        (3, "ship_first_name"),
        (3, "ship_last_name"),
    ]


def test_ranks_and_a_line_with_too_many_cells():
    # given
    text = "email,rank,expires_at\na@b.jp,GOLD,2027-03-31\n\nb@b.jp,SILVER,,extra\n"

    # when
    rows = _read(text, "ranks")

    # then
    assert rows == [
        RankRow(2, CustomerRef("a@b.jp"), "GOLD", datetime(2027, 3, 31, tzinfo=TOKYO)),
        Refused("f.csv", 4, "", "has 4 cells, the header 3 columns"),
    ]


@pytest.mark.parametrize(
    ("text", "kind", "layout", "message"),
    [
        ("", "customers", "generic", "f.csv, line 1: the file is empty; line 1 names the columns"),
        (
            "first_name\n",
            "customers",
            "generic",
            "f.csv, line 1, email: is a required column and is missing",
        ),
        (
            "email,shoe_size\n",
            "customers",
            "generic",
            "f.csv, line 1, shoe_size: is not a column of a customers file",
        ),
        (
            "Email\n",
            "points",
            "shopify",
            "f.csv, line 1: the shopify layout is Shopify's customers export: use generic",
        ),
        (
            "First Name\n",
            "customers",
            "shopify",
            "f.csv, line 1, Email: is a required column and is missing",
        ),
    ],
    ids=["empty", "missing", "unknown", "shopify points", "shopify without email"],
)
def test_a_file_refused_whole(text, kind, layout, message):
    with pytest.raises(FileRefused) as caught:
        _read(text, kind, layout)
    assert str(caught.value) == message


def test_bytes_that_are_not_utf8_are_refused_with_their_line():
    with pytest.raises(FileRefused) as caught:
        list(
            read_file(
                [b"email\n", b"a\xff@b.jp\n"],
                kind="customers",
                file="f.csv",
                zone=TOKYO,
                as_of=NOW,
            )
        )
    assert (
        str(caught.value) == "f.csv, line 2: line 2: byte 0xFF is not UTF-8; save the file as UTF-8"
    )
