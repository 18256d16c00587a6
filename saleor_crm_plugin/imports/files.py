"""The import files of "moving in": read and check every line, without Django.

Four kinds of file (`KINDS`): customers, point lots, ranks, running subscriptions; two layouts
(`LAYOUTS`): `generic` (our own snake_case columns, every kind) and `shopify` (Shopify's
customers export, customers only, with a few optional columns of ours added for what Shopify
does not export: birth date, LINE user ID, opening points and rank).

`read_file` streams a file: it yields one `Refused` or one row (`CustomerRow`, `LotRow`,
`RankRow`, `SubscriptionRow`) a line, so a file of millions of lines is never held in memory.
Every refusal names the file, the line number (1 is the header), the column and the reason.
What a refusal means for the rest of the file (nothing is written) is the service's rule.
"""

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

from ..money import parse_amount, validate_currency
from ..subscriptions.schedule import Interval, ScheduleError, parse_interval

__all__ = [
    "COLUMNS",
    "KINDS",
    "LAYOUTS",
    "Address",
    "CustomerRef",
    "CustomerRow",
    "FileRefused",
    "LotRow",
    "RankRow",
    "Refused",
    "SubscriptionRow",
    "normalise_email",
    "read_file",
]

KINDS = ("customers", "points", "ranks", "subscriptions")
LAYOUTS = ("generic", "shopify")
FUNDING = ("free", "paid")

# The generic layout: (required, optional) columns of each kind. A customer is named by
# `email` or `external_id` (one of them at least) in the files that refer to one.
COLUMNS = {
    "customers": (
        ("email",),
        (
            "first_name",
            "last_name",
            "phone",
            "company",
            "street_address_1",
            "street_address_2",
            "city",
            "postal_code",
            "country",
            "country_area",
            "birth_date",
            "marketing_consent",
            "line_user_id",
            "external_id",
            "note",
            "points",
            "points_currency",
            "points_expire_at",
            "rank",
            "rank_expires_at",
        ),
    ),
    "points": (
        ("lot_id", "points", "earned_at", "currency"),
        ("email", "external_id", "expires_at", "kind", "paid_amount"),
    ),
    "ranks": (("rank",), ("email", "external_id", "expires_at")),
    "subscriptions": (
        ("subscription_id", "items", "interval", "next_delivery", "channel", "currency"),
        (
            "email",
            "external_id",
            "ship_first_name",
            "ship_last_name",
            "ship_company",
            "ship_street_address_1",
            "ship_street_address_2",
            "ship_city",
            "ship_postal_code",
            "ship_country",
            "ship_country_area",
            "ship_phone",
        ),
    ),
}

# Shopify's customers export (Customers > Export, "CSV for Excel, Numbers, or other
# spreadsheet programs"): its column -> ours. Columns not named here are ignored.
SHOPIFY_COLUMNS = {
    "Customer ID": "external_id",
    "First Name": "first_name",
    "Last Name": "last_name",
    "Email": "email",
    "Accepts Email Marketing": "marketing_consent",
    "Default Address Company": "company",
    "Default Address Address1": "street_address_1",
    "Default Address Address2": "street_address_2",
    "Default Address City": "city",
    "Default Address Province Code": "country_area",
    "Default Address Country Code": "country",
    "Default Address Zip": "postal_code",
    "Default Address Phone": "address_phone",
    "Phone": "phone",
    "Note": "note",
    "Tags": "tags",
    "Total Spent": "total_spent",
    "Total Orders": "total_orders",
    # Not in Shopify's export: ours, added by the merchant (e.g. from Smile's export).
    "Birth Date": "birth_date",
    "LINE User ID": "line_user_id",
    "Points": "points",
    "Points Currency": "points_currency",
    "Points Expire At": "points_expire_at",
    "Rank": "rank",
    "Rank Expires At": "rank_expires_at",
}

_YES = {"yes", "true", "1", "y", "on"}
_NO = {"no", "false", "0", "n", "off", ""}
MAX_KEY = 40  # an external id, lot id or subscription id (they go into idempotency keys)


def normalise_email(text: str) -> str:
    """The email as the store matches it: trimmed and lower-cased (Saleor lower-cases it)."""
    return (text or "").strip().lower()


@dataclass(frozen=True)
class Refused:
    """One refused line: which file, which line (the header is line 1), which column, why."""

    file: str
    line: int
    field: str
    reason: str

    def __str__(self) -> str:
        where = f"{self.file}, line {self.line}"
        return f"{where}, {self.field}: {self.reason}" if self.field else f"{where}: {self.reason}"


class FileRefused(ValueError):
    """The file cannot be read at all (empty, not UTF-8, a missing column, a wrong layout)."""

    def __init__(self, refused: Refused):
        self.refused = refused
        super().__init__(str(refused))


@dataclass(frozen=True)
class Address:
    """A postal address, in the keys of Saleor's `AddressInput` (`as_input`)."""

    first_name: str = ""
    last_name: str = ""
    company: str = ""
    street_address_1: str = ""
    street_address_2: str = ""
    city: str = ""
    postal_code: str = ""
    country: str = ""  # ISO 3166-1 alpha-2, upper case
    country_area: str = ""
    phone: str = ""

    def as_input(self) -> dict:
        names = {
            "first_name": "firstName",
            "last_name": "lastName",
            "company": "companyName",
            "street_address_1": "streetAddress1",
            "street_address_2": "streetAddress2",
            "city": "city",
            "postal_code": "postalCode",
            "country": "country",
            "country_area": "countryArea",
            "phone": "phone",
        }
        return {names[key]: value for key, value in self.__dict__.items() if value}


@dataclass(frozen=True)
class CustomerRef:
    """How a line names its customer: the email, else the old system's id."""

    email: str = ""
    external_id: str = ""

    def __str__(self) -> str:
        return self.email or f"external id {self.external_id}"


@dataclass(frozen=True)
class LotRow:
    line: int
    customer: CustomerRef
    lot_id: str
    points: int
    earned_at: datetime
    expires_at: datetime | None
    currency: str
    funding: str = "free"  # free (earned, 無償) or paid (bought, 有償)
    paid_amount: Decimal | None = None


@dataclass(frozen=True)
class RankRow:
    line: int
    customer: CustomerRef
    code: str
    expires_at: datetime | None


@dataclass(frozen=True)
class CustomerRow:
    line: int
    email: str
    first_name: str = ""
    last_name: str = ""
    phone: str = ""
    address: Address | None = None  # the default shipping and billing address
    birth_date: date | None = None
    marketing_consent: bool | None = None  # None: the file does not say
    line_user_id: str = ""
    external_id: str = ""
    note: str = ""
    tags: tuple[str, ...] = ()
    # Opening balance and rank given on the customer's own line.
    points: LotRow | None = None
    rank: RankRow | None = None
    # What the old system says of the history (reported, never written: orders come through
    # Saleor's orderBulkCreate).
    total_orders: int | None = None


@dataclass(frozen=True)
class SubscriptionRow:
    line: int
    customer: CustomerRef
    subscription_id: str
    items: tuple[tuple[str, int], ...]  # (variant id or SKU, quantity)
    interval: Interval
    next_delivery: date
    channel: str
    currency: str
    address: Address | None = None


@dataclass
class _Line:
    """One line being checked: its cells and the refusals found so far."""

    file: str
    number: int
    cells: dict
    zone: ZoneInfo
    refusals: list = field(default_factory=list)

    def text(self, column: str) -> str:
        return (self.cells.get(column) or "").strip()

    def refuse(self, column: str, reason: str) -> None:
        self.refusals.append(Refused(self.file, self.number, column, reason))

    def required(self, column: str) -> str:
        value = self.text(column)
        if not value:
            self.refuse(column, "is empty")
        return value

    def key(self, column: str, required: bool = True) -> str:
        value = self.required(column) if required else self.text(column)
        if len(value) > MAX_KEY:
            self.refuse(column, f"is longer than {MAX_KEY} characters")
        elif ":" in value:
            self.refuse(column, "may not contain ':'")
        return value

    def email(self, column: str = "email", required: bool = True) -> str:
        value = normalise_email(self.cells.get(column))
        if not value:
            if required:
                self.refuse(column, "is empty")
            return ""
        local, at, domain = value.partition("@")
        if not at or not local or "." not in domain or " " in value or len(value) > 254:
            self.refuse(column, f"'{value}' is not an email address")
        return value

    def customer(self) -> CustomerRef:
        email = self.email(required=False)
        external_id = self.key("external_id", required=False)
        if not email and not external_id:
            self.refuse("email", "is empty, and so is external_id: name the customer")
        return CustomerRef(email, external_id)

    def whole(self, column: str, low: int, required: bool = True) -> int | None:
        text = self.required(column) if required else self.text(column)
        if not text:
            return None
        try:
            value = int(text.replace(",", ""))
        except ValueError:
            self.refuse(column, f"'{text}' is not a whole number")
            return None
        if value < low:
            self.refuse(column, f"{value} is below {low}")
            return None
        return value

    def day(self, column: str, required: bool = False) -> date | None:
        text = self.required(column) if required else self.text(column)
        if not text:
            return None
        try:
            return date.fromisoformat(text.replace("/", "-"))
        except ValueError:
            self.refuse(column, f"'{text}' is not a date (YYYY-MM-DD)")
            return None

    def moment(self, column: str, required: bool = False) -> datetime | None:
        """An ISO 8601 time; without a zone, in the store's; a date alone is its midnight."""
        text = self.required(column) if required else self.text(column)
        if not text:
            return None
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            try:
                value = datetime.combine(date.fromisoformat(text), time())
            except ValueError:
                self.refuse(
                    column,
                    f"'{text}' is not an ISO 8601 time (2025-03-31 or 2025-03-31T14:05:00+09:00)",
                )
                return None
        return value if value.tzinfo else value.replace(tzinfo=self.zone)

    def currency(self, column: str, required: bool = True) -> str:
        text = self.required(column) if required else self.text(column)
        if not text:
            return ""
        try:
            return validate_currency(text)
        except ValueError as error:
            self.refuse(column, str(error))
            return ""

    def yes_no(self, column: str) -> bool | None:
        if column not in self.cells:
            return None
        text = self.text(column).lower()
        if text in _YES:
            return True
        if text in _NO:
            return False
        self.refuse(column, f"'{self.text(column)}' is not yes or no")
        return None

    def country(self, column: str) -> str:
        text = self.text(column).upper()
        if text and (len(text) != 2 or not text.isalpha()):
            self.refuse(column, f"'{self.text(column)}' is not a two-letter country code (JP)")
        return text

    def phone(self, column: str) -> str:
        text = self.text(column).lstrip("'")
        digits = text.replace(" ", "").replace("-", "").replace("(", "").replace(")", "")
        if text and not (digits.lstrip("+").isdigit() and 6 <= len(digits.lstrip("+")) <= 15):
            self.refuse(column, f"'{text}' is not a phone number (+81 90 1234 5678)")
        return digits


def _address(line: _Line, prefix: str, first_name: str, last_name: str, phone: str):
    """The address of these columns (None when the line has none); a partial one is refused
    naming what it lacks (what Saleor needs to ship to it)."""
    parts = {
        name: line.text(prefix + name)
        for name in (
            "company",
            "street_address_1",
            "street_address_2",
            "city",
            "postal_code",
            "country_area",
        )
    }
    country = line.country(prefix + "country")
    if not any(parts.values()) and not country:
        return None
    address = Address(
        first_name=first_name,
        last_name=last_name,
        country=country,
        phone=phone,
        **parts,
    )
    for column in ("street_address_1", "city", "country"):
        if not getattr(address, column):
            line.refuse(prefix + column, "is empty while the line has an address")
    return address


def _lot(
    line: _Line,
    customer: CustomerRef,
    lot_id: str,
    columns: dict,
    as_of: datetime,
    earned_at: datetime | None = None,
) -> LotRow | None:
    before = len(line.refusals)
    points = line.whole(columns["points"], 1)
    currency = line.currency(columns["currency"])
    if earned_at is None:
        earned_at = line.moment(columns["earned_at"], required=True)
    expires_at = line.moment(columns["expires_at"])
    funding = line.text(columns.get("kind", "")).lower() or "free"
    if funding not in FUNDING:
        line.refuse(columns["kind"], f"'{funding}' is not free or paid")
    paid_amount = None
    paid_text = line.text(columns.get("paid_amount", ""))
    if funding == "paid":
        if not paid_text:
            line.refuse("paid_amount", "is empty: a paid lot says what the customer paid")
        elif currency:
            try:
                paid_amount = parse_amount(paid_text, currency)
            except ValueError as error:
                line.refuse("paid_amount", str(error))
    elif paid_text:
        line.refuse("paid_amount", "is given for a free lot (kind paid takes an amount)")
    if earned_at is not None and earned_at > as_of:
        line.refuse(columns["earned_at"], f"{earned_at.isoformat()} is in the future")
    if expires_at is not None and expires_at <= as_of:
        line.refuse(columns["expires_at"], f"{expires_at.isoformat()} has passed")
    if len(line.refusals) > before or points is None or earned_at is None:
        return None
    return LotRow(
        line.number,
        customer,
        lot_id,
        points,
        earned_at,
        expires_at,
        currency,
        funding,
        paid_amount,
    )


def _rank(line: _Line, customer: CustomerRef, columns: dict, as_of: datetime) -> RankRow | None:
    code = line.required(columns["rank"])
    expires_at = line.moment(columns["expires_at"])
    if expires_at is not None and expires_at <= as_of:
        line.refuse(columns["expires_at"], f"{expires_at.isoformat()} has passed")
        return None
    return RankRow(line.number, customer, code, expires_at) if code else None


def _customer(line: _Line, as_of: datetime) -> CustomerRow:
    email = line.email()
    first_name, last_name = line.text("first_name"), line.text("last_name")
    phone = line.phone("phone")
    address_phone = line.phone("address_phone") if "address_phone" in line.cells else phone
    address = _address(line, "", first_name, last_name, address_phone or phone)
    birth_date = line.day("birth_date")
    if birth_date is not None and birth_date > as_of.date():
        line.refuse("birth_date", f"{birth_date} is in the future")
    line_user_id = line.text("line_user_id")
    if line_user_id and not (
        line_user_id.startswith("U") and len(line_user_id) == 33 and line_user_id[1:].isalnum()
    ):
        line.refuse("line_user_id", f"'{line_user_id}' is not a LINE user ID (U + 32 characters)")
    customer = CustomerRef(email, line.key("external_id", required=False))
    points = rank = None
    if line.text("points"):
        points = _lot(
            line,
            customer,
            "opening",
            {"points": "points", "currency": "points_currency", "expires_at": "points_expire_at"},
            as_of,
            earned_at=as_of,
        )
    elif line.text("points_currency") or line.text("points_expire_at"):
        line.refuse("points", "is empty while points_currency or points_expire_at is given")
    if line.text("rank"):
        rank = _rank(line, customer, {"rank": "rank", "expires_at": "rank_expires_at"}, as_of)
    elif line.text("rank_expires_at"):
        line.refuse("rank", "is empty while rank_expires_at is given")
    tags = tuple(tag.strip() for tag in line.text("tags").split(",") if tag.strip())
    return CustomerRow(
        line=line.number,
        email=email,
        first_name=first_name,
        last_name=last_name,
        phone=phone,
        address=address,
        birth_date=birth_date,
        marketing_consent=line.yes_no("marketing_consent"),
        line_user_id=line_user_id,
        external_id=customer.external_id,
        note=line.text("note"),
        tags=tags,
        points=points,
        rank=rank,
        total_orders=line.whole("total_orders", 0, required=False),
    )


def _items(line: _Line) -> tuple[tuple[str, int], ...]:
    """`SKU-1:2; 12345:1` (variant ID or SKU, then the quantity; `:1` may be left out)."""
    items = []
    for part in line.text("items").split(";"):
        part = part.strip()
        if not part:
            continue
        variant, _, quantity = part.rpartition(":") if ":" in part else (part, "", "1")
        variant, quantity = variant.strip(), quantity.strip()
        if not variant or not quantity.isdigit() or not 1 <= int(quantity) <= 999:
            line.refuse("items", f"'{part}' is not VARIANT:QUANTITY with a quantity of 1 to 999")
            continue
        items.append((variant, int(quantity)))
    if not items and line.text("items"):
        return ()
    if not items:
        line.refuse("items", "is empty")
    return tuple(items)


def _subscription(line: _Line, as_of: datetime) -> SubscriptionRow | None:
    customer = line.customer()
    subscription_id = line.key("subscription_id")
    items = _items(line)
    interval = None
    if line.required("interval"):
        try:
            interval = parse_interval(line.text("interval"))
        except ScheduleError as error:
            line.refuse("interval", error.message)
    next_delivery = line.day("next_delivery", required=True)
    if next_delivery is not None and next_delivery < as_of.astimezone(line.zone).date():
        line.refuse("next_delivery", f"{next_delivery} has passed")
    channel = line.required("channel")
    currency = line.currency("currency")
    address = _address(
        line,
        "ship_",
        line.text("ship_first_name"),
        line.text("ship_last_name"),
        line.phone("ship_phone"),
    )
    if address is not None:
        for column in ("first_name", "last_name"):
            if not getattr(address, column):
                line.refuse("ship_" + column, "is empty while the line has an address")
    if line.refusals or interval is None or next_delivery is None:
        return None
    return SubscriptionRow(
        line.number,
        customer,
        subscription_id,
        items,
        interval,
        next_delivery,
        channel,
        currency,
        address,
    )


def _column(name: str) -> str:
    return name.strip().lower().replace(" ", "_").replace("-", "_")


def _lines(source: Iterable, line_offset: int = 0) -> Iterator[str]:
    """Decode each line of a binary or text source (UTF-8, with or without a BOM); the lines
    after the first are numbered from `line_offset` + 2 (a part of a file after its header)."""
    for number, raw in enumerate(source, start=1):
        if isinstance(raw, bytes):
            try:
                raw = raw.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError as error:
                shown = number + line_offset if number > 1 else number
                raise ValueError(
                    f"line {shown}: byte 0x{raw[error.start]:02X} is not UTF-8; "
                    "save the file as UTF-8"
                ) from None
        elif number == 1:
            raw = raw.lstrip("\ufeff")
        yield raw


def read_file(
    source: Iterable,
    *,
    kind: str,
    layout: str = "generic",
    file: str = "",
    zone: ZoneInfo,
    as_of: datetime,
    line_offset: int = 0,
) -> Iterator:
    """Yield, line by line, the checked row of each line or a `Refused` for each problem.

    Parameters
    ----------
    source
        The file's lines: an open file (text or binary) or a list of strings.
    kind
        One of `KINDS`.
    layout
        `generic`, or `shopify` (customers only).
    file
        The file's name, carried by every refusal.
    zone
        The store's time zone: times and dates without a zone are read in it.
    as_of
        The time of the import (aware): opening points are earned then; an expiry before it,
        an earning or a birth date after it are refused.
    line_offset
        For a part of a file (its header line, then lines from the middle): how many lines
        of the file come between the header and the part's first line.

    Returns
    -------
    An iterator of rows and `Refused`, in line order. Blank lines are skipped. Raises
    `FileRefused` when the file as a whole cannot be read (no header, a missing column, bytes
    that are not UTF-8, a kind the layout does not have).
    """
    if kind not in KINDS:
        raise FileRefused(Refused(file, 1, "", f"'{kind}' is not one of {', '.join(KINDS)}"))
    if layout not in LAYOUTS:
        raise FileRefused(Refused(file, 1, "", f"'{layout}' is not one of {', '.join(LAYOUTS)}"))
    if layout == "shopify" and kind != "customers":
        raise FileRefused(
            Refused(file, 1, "", "the shopify layout is Shopify's customers export: use generic")
        )
    decoded = _lines(source, line_offset)
    reader = csv.reader(decoded)
    try:
        header = next(reader)
    except StopIteration:
        raise FileRefused(Refused(file, 1, "", "the file is empty; line 1 names the columns"))
    except ValueError as error:
        raise FileRefused(Refused(file, 1, "", str(error))) from None
    if layout == "shopify":
        columns = [SHOPIFY_COLUMNS.get(name.strip(), "") for name in header]
        missing = [name for name in ("Email",) if name not in [h.strip() for h in header]]
    else:
        columns = [_column(name) for name in header]
        required, optional = COLUMNS[kind]
        missing = [name for name in required if name not in columns]
        unknown = [name for name in columns if name and name not in (*required, *optional)]
        if unknown:
            raise FileRefused(Refused(file, 1, unknown[0], f"is not a column of a {kind} file"))
    if missing:
        raise FileRefused(Refused(file, 1, missing[0], "is a required column and is missing"))
    check = {
        "customers": _customer,
        "points": _points_line,
        "ranks": _rank_line,
        "subscriptions": _subscription,
    }[kind]
    number = 1 + line_offset
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except (ValueError, csv.Error) as error:
            raise FileRefused(Refused(file, number + 1, "", str(error))) from None
        number = reader.line_num + line_offset
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) > len(columns):
            yield Refused(
                file, number, "", f"has {len(cells)} cells, the header {len(columns)} columns"
            )
            continue
        line = _Line(file, number, dict(zip(columns, cells, strict=False)), zone)
        line.cells.pop("", None)
        row = check(line, as_of)
        if line.refusals:
            yield from line.refusals
        else:
            yield row


def _points_line(line: _Line, as_of: datetime) -> LotRow | None:
    customer = line.customer()
    lot_id = line.key("lot_id")
    columns = {
        "points": "points",
        "currency": "currency",
        "earned_at": "earned_at",
        "expires_at": "expires_at",
        "kind": "kind",
        "paid_amount": "paid_amount",
    }
    return _lot(line, customer, lot_id, columns, as_of)


def _rank_line(line: _Line, as_of: datetime) -> RankRow | None:
    return _rank(line, line.customer(), {"rank": "rank", "expires_at": "expires_at"}, as_of)


def text_source(text: str) -> Iterable[str]:
    """The lines of a text held in memory, for `read_file`."""
    return io.StringIO(text)
