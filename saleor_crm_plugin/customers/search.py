"""Customer search: the filters and orderings a marketer uses, as one queryset builder.

Pure of GraphQL: the API (and later CSV export and segments) call `search_profiles`.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import (
    DecimalField,
    Exists,
    F,
    FilteredRelation,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce

from ..errors import FieldError
from ..money import DECIMAL_PLACES, MAX_DIGITS, validate_currency
from .ingest import digest_for
from .models import CustomerProfile, CustomerSpend, OrderRecord

SORT_FIELDS = {
    "ORDER_COUNT": "order_count",
    "FIRST_ORDER_AT": "first_order_at",
    "LAST_ORDER_AT": "last_order_at",
    "JOINED_AT": "joined_at",
    "CREATED_AT": "created_at",
    "TOTAL_SPENT": "spent_in_currency",
    "AVERAGE_ORDER": "average_in_currency",
    "SEGMENT": "segment_in_currency",
    # From the customer's prediction in the currency; customers without one sort last.
    "P_ALIVE": "p_alive_in_currency",
    "PREDICTED_CLV": "clv_in_currency",
    # Kept by the store (through the host); guests sort last.
    "NAME": "user_name",
    "COUNTRY": "user_country",
    "COUNTRY_AREA": "user_country_area",
    "CITY": "user_city",
    "AGE": "user_birth_date",
    "GENDER": "user_gender",
}
# What a list row shows beside the profile, read a page at a time.
LIST_PREFETCH = ("spends", "predictions__fit")
# Sorting that needs a currency (spend is kept per currency, scores per currency group).
_PER_CURRENCY = {"TOTAL_SPENT", "AVERAGE_ORDER", "SEGMENT", "P_ALIVE", "PREDICTED_CLV"}
_PREDICTED = {"P_ALIVE": "p_alive", "PREDICTED_CLV": "clv"}
_FROM_STORE = {
    "NAME": "name",
    "COUNTRY": "country",
    "COUNTRY_AREA": "country_area",
    "CITY": "city",
    "AGE": "birth_date",
    "GENDER": "gender",
}


class SearchError(FieldError):
    """A filter or sorting argument is wrong; `field` names it as the API spells it."""


@dataclass(frozen=True)
class Range:
    gte: object = None
    lte: object = None


@dataclass(frozen=True)
class RfmFilter:
    """Customers scored in `group` (a currency) with these segments and score ranges."""

    group: str
    segments: tuple[str, ...] = ()
    r: Range | None = None
    f: Range | None = None
    m: Range | None = None


@dataclass(frozen=True)
class CustomerFilter:
    email: str | None = None
    is_guest: bool | None = None
    order_count: Range | None = None
    total_spent: Range | None = None
    total_spent_currency: str | None = None
    first_order_at: Range | None = None
    last_order_at: Range | None = None
    rfm: RfmFilter | None = None
    # Free text matched against the store's emails and names (through the host).
    search: str | None = None
    # A rule tree (see segments.rules): every field a rule segment can use.
    rule: dict | None = None
    # The members of a built-in or saved segment, by name.
    segment: str | None = None


def _check_range(field: str, value: Range | None, kind: type) -> None:
    if value is None:
        return
    for bound in ("gte", "lte"):
        item = getattr(value, bound)
        if item is None:
            continue
        if kind is datetime and (item.tzinfo is None or item.utcoffset() is None):
            raise SearchError(
                f"{field}.{bound}", "needs a time zone (e.g. 2025-01-31T00:00:00+09:00)"
            )
        if kind in (int, Decimal) and item < 0:
            raise SearchError(f"{field}.{bound}", f"must not be negative, got {item}")
    if value.gte is not None and value.lte is not None and value.gte > value.lte:
        raise SearchError(field, f"gte ({value.gte}) is greater than lte ({value.lte})")


def _apply_range(queryset: QuerySet, column: str, value: Range | None) -> QuerySet:
    if value is None:
        return queryset
    if value.gte is not None:
        queryset = queryset.filter(**{f"{column}__gte": value.gte})
    if value.lte is not None:
        queryset = queryset.filter(**{f"{column}__lte": value.lte})
    return queryset


def _with_spend(
    queryset: QuerySet, currency: str, name: str, column: str = "total_spent_amount"
) -> QuerySet:
    spent = CustomerSpend.objects.filter(profile=OuterRef("pk"), currency=currency).values(column)[
        :1
    ]
    money = DecimalField(max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES)
    return queryset.annotate(
        **{name: Coalesce(Subquery(spent, output_field=money), Value(0, output_field=money))}
    )


def _with_prediction(queryset: QuerySet, currency: str, field: str, name: str) -> QuerySet:
    from ..analytics.models import CustomerPrediction

    prediction = CustomerPrediction.objects.filter(profile=OuterRef("pk"), currency=currency)
    return queryset.annotate(**{name: Subquery(prediction.values(field)[:1])})


def _with_segment(queryset: QuerySet, currency: str, name: str) -> QuerySet:
    segment = CustomerSpend.objects.filter(profile=OuterRef("pk"), currency=currency)
    return queryset.annotate(**{name: Subquery(segment.values("segment")[:1])})


SEARCH_LIMIT = 10_000
# A search's count is exact up to this many matches, then stops: counting a broad filter over
# a million profiles takes seconds, a page a few milliseconds (`count_up_to`).
COUNT_LIMIT = 10_000


def search_profiles(
    customer_filter: CustomerFilter | None = None,
    sort_field: str = "CREATED_AT",
    descending: bool = False,
    sort_currency: str | None = None,
    host=None,
) -> QuerySet:
    """Return the profiles a filter selects, in a stable order (ties broken by pk).

    Raises `SearchError` naming the wrong field. The email filter matches the whole address
    (case-insensitive): the ledger keeps only a keyed digest of it.
    """
    if host is None:
        from ..host.protocol import get_host

        host = get_host()
    customer_filter = customer_filter or CustomerFilter()
    f = customer_filter
    queryset = CustomerProfile.objects.filter(anonymized_at__isnull=True)
    _check_range("numberOfOrders", f.order_count, int)
    _check_range("totalSpent", f.total_spent, Decimal)
    _check_range("firstOrderAt", f.first_order_at, datetime)
    _check_range("lastOrderAt", f.last_order_at, datetime)
    if f.email is not None:
        if "@" not in f.email:
            raise SearchError("email", f"'{f.email}' is not an email address")
        queryset = queryset.filter(email_digest=digest_for(f.email))
    if f.is_guest is not None:
        queryset = queryset.filter(user_id__isnull=f.is_guest)
    queryset = _apply_range(queryset, "order_count", f.order_count)
    queryset = _apply_range(queryset, "first_order_at", f.first_order_at)
    queryset = _apply_range(queryset, "last_order_at", f.last_order_at)
    if f.total_spent is not None:
        if not f.total_spent_currency:
            raise SearchError("totalSpent.currency", "is required: spend is kept per currency")
        currency = _currency("totalSpent.currency", f.total_spent_currency)
        queryset = _apply_range(
            _with_spend(queryset, currency, "spent_filter"), "spent_filter", f.total_spent
        )
    if f.rfm is not None:
        queryset = queryset.filter(Exists(_scores_matching(f.rfm, host)))
    if f.search is not None:
        queryset = queryset.filter(_text_matches(f.search, host))
    if f.rule is not None:
        queryset = queryset.filter(_rule_matches(f.rule, host))
    if f.segment is not None:
        queryset = queryset.filter(_segment_matches(f.segment, host))
    if sort_field not in SORT_FIELDS:
        raise SearchError("sortBy.field", f"'{sort_field}' is not one of {', '.join(SORT_FIELDS)}")
    column = SORT_FIELDS[sort_field]
    if sort_field in _PER_CURRENCY:
        if not sort_currency:
            what = sort_field.lower().replace("_", " ")
            raise SearchError("sortBy.currency", f"is required to sort by {what}")
        currency = _currency("sortBy.currency", sort_currency)
        if sort_field == "SEGMENT":
            queryset = _with_segment(queryset, currency, column)
        elif sort_field in _PREDICTED:
            queryset = _with_prediction(queryset, currency, _PREDICTED[sort_field], column)
        else:
            amount = "total_spent_amount" if sort_field == "TOTAL_SPENT" else "average_order_amount"
            return SpendOrdered(queryset, currency, amount, descending)
    elif sort_field in _FROM_STORE:
        queryset = queryset.annotate(**{column: host.user_sort_expression(_FROM_STORE[sort_field])})
    tie = "-pk" if descending else "pk"
    if sort_field == "AGE":  # the youngest have the latest birth dates
        descending = not descending
    order = F(column).desc(nulls_last=True) if descending else F(column).asc(nulls_last=True)
    return queryset.prefetch_related(*LIST_PREFETCH).order_by(order, tie)


class SpendOrdered:
    """Profiles in the order of their spend in one currency; those with none there come last.

    Sliced like a queryset (`count()`, `[start:stop]`) without sorting every match: the
    customers with spend in the currency are read in the order of the spend index
    `(currency, amount, profile)` joined to their profiles, so a page costs a few index reads
    whatever the number of matches; the customers without (no order in that currency) follow,
    by id. `queryset` is the filtered, unordered selection (also what `count()` counts).
    """

    def __init__(self, queryset: QuerySet, currency: str, amount: str, descending: bool):
        self.queryset = queryset
        direction = "-" if descending else ""
        spend = FilteredRelation("spends", condition=Q(spends__currency=currency))
        self.with_spend = (
            queryset.annotate(sort_spend=spend)
            .filter(sort_spend__isnull=False)
            .order_by(f"{direction}sort_spend__{amount}", f"{direction}sort_spend__profile_id")
        )
        has_spend = CustomerSpend.objects.filter(profile=OuterRef("pk"), currency=currency)
        self.without_spend = queryset.exclude(Exists(has_spend)).order_by(f"{direction}pk")
        self._with_spend_count = None

    def count(self) -> int:
        return self.queryset.count()

    def _first_part_size(self) -> int:
        if self._with_spend_count is None:
            self._with_spend_count = self.with_spend.count()
        return self._with_spend_count

    def __getitem__(self, window: slice) -> list[CustomerProfile]:
        start, stop = window.start or 0, window.stop
        page = list(self.with_spend.prefetch_related(*LIST_PREFETCH)[start:stop])
        if len(page) < stop - start:
            skip = max(0, start - self._first_part_size())
            rest = self.without_spend.prefetch_related(*LIST_PREFETCH)
            page += list(rest[skip : skip + (stop - start - len(page))])
        return page


def count_up_to(profiles, limit: int = COUNT_LIMIT) -> tuple[int, bool]:
    """Count what `search_profiles` returned, up to `limit`: (count, True) when at most `limit`
    match, else (`limit`, False). One query, a count over `LIMIT limit + 1` rows of the
    unordered selection, so it reads at most `limit + 1` matches whatever their number.
    """
    if isinstance(profiles, SpendOrdered):
        profiles = profiles.queryset
    counted = profiles.order_by().values("pk")[: limit + 1].count()
    return (counted, True) if counted <= limit else (limit, False)


def _text_matches(text: str, host):
    text = text.strip()
    if len(text) < 2:
        raise SearchError("search", "give at least 2 characters")
    user_ids, order_ids = host.find_customers(text, SEARCH_LIMIT + 1)
    if len(user_ids) > SEARCH_LIMIT or len(order_ids) > SEARCH_LIMIT:
        raise SearchError(
            "search", f"'{text}' matches more than {SEARCH_LIMIT:,} customers; narrow it"
        )
    guest_orders = OrderRecord.objects.filter(profile=OuterRef("pk"), order_id__in=order_ids)
    return Q(user_id__in=user_ids) | Q(Exists(guest_orders), user_id__isnull=True)


def _rule_matches(rule, host, field: str = "rule") -> Q:
    from django.utils import timezone

    from ..segments.rules import RuleError, compile_rule, validate_rule

    config = host.config()
    try:
        valid = validate_rule(rule, config.segment_names)
        return compile_rule(valid, timezone.now(), config.zone, host)
    except RuleError as error:
        if field == "rule":
            raise SearchError("rule" + error.field[1:], error.message) from None
        raise SearchError(field, f"its rule no longer holds: {error}") from None


def _segment_matches(name: str, host) -> Q:
    from ..segments.rule_services import rule_of_segment

    rule = rule_of_segment(name, host.config().dormant_days)
    if rule is None:
        raise SearchError("segment", f"there is no segment named '{name}'")
    return _rule_matches(rule, host, field="segment")


def _scores_matching(rfm: RfmFilter, host):
    scores = CustomerSpend.objects.filter(
        profile=OuterRef("pk"), currency=_currency("rfm.group", rfm.group), segment__isnull=False
    )
    names = host.config().segment_names
    unknown = [name for name in rfm.segments if name not in names]
    if unknown:
        raise SearchError("rfm.segments", f"'{unknown[0]}' is not a segment ({', '.join(names)})")
    if rfm.segments:
        scores = scores.filter(segment__in=rfm.segments)
    for name in ("r", "f", "m"):
        value = getattr(rfm, name)
        _check_range(f"rfm.{name}", value, int)
        for bound in ("gte", "lte"):
            item = None if value is None else getattr(value, bound)
            if item is not None and not 1 <= item <= 5:
                raise SearchError(f"rfm.{name}.{bound}", f"scores are 1 to 5, not {item}")
        scores = _apply_range(scores, name, value)
    return scores


def _currency(field: str, value: str) -> str:
    try:
        return validate_currency(value)
    except ValueError as error:
        raise SearchError(field, str(error)) from None


def _range_from(field: str, value, parse) -> Range | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise SearchError(field, "takes an object with gte and/or lte")
    bounds = {}
    for bound in ("gte", "lte"):
        item = value.get(bound)
        if item is None or not isinstance(item, str):
            bounds[bound] = item
            continue
        try:
            bounds[bound] = parse(item)
        except (ValueError, ArithmeticError):
            raise SearchError(f"{field}.{bound}", f"'{item}' cannot be read") from None
    return Range(**bounds)


def customer_filter_from(data: dict | None) -> CustomerFilter:
    """Build a filter from the API's shape (`CRMCustomerFilterInput`, camelCase or snake_case).

    Values may be parsed already (GraphQL) or plain JSON strings (the CSV export's body).
    """
    if data is None:
        return CustomerFilter()
    if not isinstance(data, dict):
        raise SearchError("filter", "is an object of filters")
    keys = {
        "email": "email",
        "isGuest": "is_guest",
        "numberOfOrders": "number_of_orders",
        "totalSpent": "total_spent",
        "firstOrderAt": "first_order_at",
        "lastOrderAt": "last_order_at",
    }
    values = {keys.get(key, key): value for key, value in data.items()}
    known = {*keys.values(), "rfm", "search", "rule", "segment"}
    unknown = sorted(set(values) - known)
    if unknown:
        raise SearchError(unknown[0], "is not a customer filter")
    spent = values.get("total_spent")
    rfm = values.get("rfm")
    if rfm is not None and (not isinstance(rfm, dict) or not rfm.get("group")):
        raise SearchError("rfm.group", "is required")
    return CustomerFilter(
        email=values.get("email"),
        is_guest=values.get("is_guest"),
        order_count=_range_from("numberOfOrders", values.get("number_of_orders"), int),
        total_spent=_range_from("totalSpent", spent, Decimal),
        total_spent_currency=spent.get("currency") if isinstance(spent, dict) else None,
        first_order_at=_range_from(
            "firstOrderAt", values.get("first_order_at"), datetime.fromisoformat
        ),
        last_order_at=_range_from(
            "lastOrderAt", values.get("last_order_at"), datetime.fromisoformat
        ),
        rfm=None
        if rfm is None
        else RfmFilter(
            group=rfm["group"],
            segments=tuple(rfm.get("segments") or ()),
            **{name: _range_from(f"rfm.{name}", rfm.get(name), int) for name in "rfm"},
        ),
        search=values.get("search"),
        rule=values.get("rule"),
        segment=values.get("segment"),
    )


def attach_list_columns(page: list, host) -> None:
    """Read what a customer list row shows from the store, for a whole page at once.

    Sets `crm_email` and `crm_details` (`host.attributes.UserDetails`, None for guests) on
    each profile.
    """
    emails = host.customer_emails(page)
    details = host.user_details([p.user_id for p in page if p.user_id and not p.anonymized_at])
    for profile in page:
        profile.crm_email = emails.get(profile.pk)
        profile.crm_details = details.get(profile.user_id) if profile.user_id else None


def profile_emails(profiles, user_emails, order_emails) -> dict[int, str]:
    """Return each profile's email as the store keeps it, by profile pk.

    A registered customer's comes from their account (`user_emails(user ids)`), a guest's from
    their latest order (`order_emails(order ids)`); a deleted customer has none. Both lookups
    return {id: email} and are the host's: the ledger stores no emails.
    """
    profiles = [p for p in profiles if p.anonymized_at is None]
    by_user = {p.user_id: p.pk for p in profiles if p.user_id}
    emails = {by_user[user_id]: email for user_id, email in user_emails(list(by_user)).items()}
    guests = [p.pk for p in profiles if p.user_id is None]
    if guests:
        # One index read per guest (profile, placed_at), whatever their number of orders; a
        # guest merged into another profile has its orders there (`merged_from`).
        latest = OrderRecord.objects.filter(
            profile=OuterRef("pk"), merged_from__isnull=True
        ).order_by("-placed_at", "-order_id")
        latest_merged = OrderRecord.objects.filter(merged_from=OuterRef("pk")).order_by(
            "-placed_at", "-order_id"
        )
        by_order = {
            order_id: profile_id
            for profile_id, order_id in CustomerProfile.objects.filter(pk__in=guests)
            .annotate(
                latest_order=Coalesce(
                    Subquery(latest.values("order_id")[:1]),
                    Subquery(latest_merged.values("order_id")[:1]),
                )
            )
            .values_list("pk", "latest_order")
            if order_id is not None
        }
        for order_id, email in order_emails(list(by_order)).items():
            emails[by_order[order_id]] = email
    return emails


__all__ = [
    "CustomerFilter",
    "Range",
    "RfmFilter",
    "SearchError",
    "attach_list_columns",
    "count_up_to",
    "customer_filter_from",
    "profile_emails",
    "search_profiles",
]
