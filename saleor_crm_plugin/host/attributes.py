"""Customer attributes the store keeps and the CRM filters, sorts and shows without copying them.

Names, addresses, birth dates and genders stay in the store's user table (STYLE 13). Both hosts
describe where their user table keeps them (`UserColumns`); the functions here turn that into
querysets and expressions the CRM combines with its own tables in one SQL query, and into the
values a customer list row shows.

Attributes:
    country, country_area, city   of the default shipping address (country_area is the
                                  prefecture / state)
    marketing_consent             the configured metadata key holds true/yes/1/on
    is_active                     the account is active (not deactivated by staff)
    birth_date, gender            the configured metadata keys (private metadata first, then
                                  the public one)
    name                          last name, then first name (sorting only)
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from django.db.models import CharField, F, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, Coalesce, Concat, Lower, NullIf, Trim, Upper

from ..conf import CRMConfig

__all__ = [
    "ADDRESS_ATTRIBUTES",
    "SORT_ATTRIBUTES",
    "StaffMember",
    "UserColumns",
    "UserDetails",
    "age_on",
    "staff_members",
    "user_details",
    "user_sort_expression",
    "users_where",
]

ADDRESS_ATTRIBUTES = ("country", "country_area", "city")
SORT_ATTRIBUTES = ("name", "country", "country_area", "city", "birth_date", "gender")
CONSENT_VALUES = ("true", "yes", "1", "on", "y")


@dataclass(frozen=True)
class UserColumns:
    """Where a store's user model keeps each attribute (Django lookups from the user)."""

    model: type
    first_name: str
    last_name: str
    country: str
    country_area: str
    city: str
    metadata: str
    private_metadata: str
    is_active: str = "is_active"
    customers: Q = field(default_factory=Q)  # which users are customers (not staff)
    email: str = "email"


@dataclass(frozen=True)
class UserDetails:
    """What a customer list row shows of a user."""

    first_name: str = ""
    last_name: str = ""
    country: str = ""
    country_area: str = ""
    city: str = ""
    birth_date: date | None = None
    gender: str = ""

    @property
    def name(self) -> str:
        return " ".join(part for part in (self.first_name, self.last_name) if part)


@dataclass(frozen=True)
class StaffMember:
    """Who a staff user is, as an audit trail names them."""

    email: str
    first_name: str = ""
    last_name: str = ""

    @property
    def name(self) -> str:
        return " ".join(part for part in (self.first_name, self.last_name) if part)

    @property
    def label(self) -> str:
        """`Name <email>`, or the email alone when the store has no name."""
        return f"{self.name} <{self.email}>" if self.name else self.email


def staff_members(columns: UserColumns, user_ids: Iterable[str]) -> dict[str, StaffMember]:
    """The email and name of each user, by user id, in one query (unknown ids left out).

    Any user, not only today's staff: one who made a change and has left the staff since is
    still who made it.
    """
    pks = {int(user_id) for user_id in user_ids if str(user_id).isdigit()}
    rows = columns.model.objects.filter(pk__in=pks).values_list(
        "pk", columns.email, columns.first_name, columns.last_name
    )
    return {
        str(pk): StaffMember(email=email, first_name=first or "", last_name=last or "")
        for pk, email, first, last in rows
    }


def _metadata_value(columns: UserColumns, key: str):
    return Coalesce(
        NullIf(KeyTextTransform(key, columns.private_metadata), Value("")),
        NullIf(KeyTextTransform(key, columns.metadata), Value("")),
        output_field=CharField(),
    )


def _expression(columns: UserColumns, config: CRMConfig, attribute: str):
    """The attribute as lower-case text, NULL where the store has nothing (sorts last)."""
    if attribute == "name":
        text = Trim(
            Concat(
                F(columns.last_name), Value(" "), F(columns.first_name), output_field=CharField()
            )
        )
    elif attribute == "country":
        text = Cast(F(columns.country), CharField())
    elif attribute in ("country_area", "city"):
        text = F(getattr(columns, attribute))
    elif attribute == "birth_date":
        return _metadata_value(columns, config.birth_date_key)
    elif attribute == "gender":
        text = _metadata_value(columns, config.gender_key)
    elif attribute == "marketing_consent":
        text = _metadata_value(columns, config.consent_key)
    else:
        raise ValueError(f"unknown user attribute {attribute!r}")
    return NullIf(Lower(text), Value(""))


def users_where(columns: UserColumns, config: CRMConfig, attribute: str, values) -> QuerySet:
    """Return the ids (as text) of customers whose attribute matches, as a subquery.

    Address attributes take a list of values (countries as ISO codes; prefectures and cities
    compared case-insensitively); `marketing_consent` and `is_active` take True.
    """
    users = columns.model.objects.filter(columns.customers)
    if attribute == "is_active":
        users = users.filter(**{columns.is_active: bool(values)})
    elif attribute == "marketing_consent":
        users = users.annotate(crm_value=_expression(columns, config, attribute)).filter(
            crm_value__in=CONSENT_VALUES
        )
    elif attribute == "country":
        users = users.filter(**{f"{columns.country}__in": [v.upper() for v in values]})
    elif attribute in ADDRESS_ATTRIBUTES:
        wanted = [v.strip() for v in values]
        if all(v.lower() == v.upper() for v in wanted):
            # No letter has a case (東京都, 大阪府): the plain column matches the same users,
            # and the planner can estimate it from the column's statistics (LOWER() of it
            # was guessed at 0.5% and got nested loops over 100,000 matching users).
            users = users.filter(**{f"{getattr(columns, attribute)}__in": wanted})
        else:
            users = users.annotate(crm_value=_expression(columns, config, attribute)).filter(
                crm_value__in=[v.lower() for v in wanted]
            )
    else:
        raise ValueError(f"cannot filter by user attribute {attribute!r}")
    return users.annotate(crm_id=Cast("pk", CharField())).values("crm_id")


def user_sort_expression(columns: UserColumns, config: CRMConfig, attribute: str) -> Subquery:
    """Return the attribute of each `CustomerProfile`'s user, to order profiles by (null: guest)."""
    if attribute not in SORT_ATTRIBUTES:
        raise ValueError(f"cannot sort by user attribute {attribute!r}")
    user = columns.model.objects.filter(pk=Cast(OuterRef("user_id"), IntegerField())).annotate(
        crm_value=_expression(columns, config, attribute)
    )
    return Subquery(user.values("crm_value")[:1], output_field=CharField())


def user_values(columns: UserColumns, config: CRMConfig, attribute: str) -> QuerySet:
    """Return a subquery of the users who have the attribute: `crm_id` (the user id as text,
    as `CustomerProfile.user_id` holds it) and `crm_value` (as `user_sort_expression` gives
    it), for one join over every profile where a lookup per profile would cost a million."""
    if attribute not in SORT_ATTRIBUTES:
        raise ValueError(f"cannot read user attribute {attribute!r}")
    return (
        columns.model.objects.order_by()
        .annotate(crm_id=Cast("pk", CharField()), crm_value=_expression(columns, config, attribute))
        .filter(crm_value__isnull=False)
        .values("crm_id", "crm_value")
    )


def _parse_date(text) -> date | None:
    try:
        return date.fromisoformat(str(text).strip()[:10])
    except ValueError:
        return None


def user_details(
    columns: UserColumns, config: CRMConfig, user_ids: Iterable[str]
) -> dict[str, UserDetails]:
    """Return what the customer list shows of each user, by user id (unknown ids left out)."""
    pks = [int(user_id) for user_id in user_ids if str(user_id).isdigit()]
    rows = (
        columns.model.objects.filter(pk__in=pks)
        .annotate(
            crm_birth=_expression(columns, config, "birth_date"),
            crm_gender=_metadata_value(columns, config.gender_key),
            crm_country=Upper(Cast(F(columns.country), CharField())),
        )
        .values_list(
            "pk",
            columns.first_name,
            columns.last_name,
            "crm_country",
            columns.country_area,
            columns.city,
            "crm_birth",
            "crm_gender",
        )
    )
    return {
        str(pk): UserDetails(
            first_name=first or "",
            last_name=last or "",
            country=country or "",
            country_area=area or "",
            city=city or "",
            birth_date=_parse_date(birth) if birth else None,
            gender=gender or "",
        )
        for pk, first, last, country, area, city, birth, gender in rows
    }


def private_metadata(
    columns: UserColumns, user_ids: Iterable[str], keys: Iterable[str]
) -> dict[str, dict[str, str]]:
    """The values of `keys` in each user's private metadata (users without any left out)."""
    keys = list(keys)
    pks = [int(user_id) for user_id in user_ids if str(user_id).isdigit()]
    if not keys or not pks:
        return {}
    result = {}
    rows = columns.model.objects.filter(pk__in=pks).values_list("pk", columns.private_metadata)
    for pk, metadata in rows:
        values = {
            key: str(metadata[key])
            for key in keys
            if isinstance(metadata, dict) and metadata.get(key) not in (None, "")
        }
        if values:
            result[str(pk)] = values
    return result


def age_on(birth_date: date | None, today: date) -> int | None:
    """Whole years from the birth date to `today` (None when unknown or in the future)."""
    if birth_date is None or birth_date > today:
        return None
    return (
        today.year
        - birth_date.year
        - ((today.month, today.day) < (birth_date.month, birth_date.day))
    )
