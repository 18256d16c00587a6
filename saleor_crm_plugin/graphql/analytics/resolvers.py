"""Resolvers of the analytics queries: they read what the tasks stored, never compute a model."""

from contextlib import contextmanager
from decimal import Decimal

from django.utils import timezone

from ...analytics.basket_services import basket_runs, top_pairs
from ...analytics.figures import stored
from ...analytics.models import PredictionFit
from ...analytics.recommend_services import (
    MAX_FIRST,
    Pick,
    also_bought_for,
    personal_picks_for,
)
from ...analytics.report_services import (
    cohort_rows,
    f2_rows,
    ltv_rows,
    product_repeat_rows,
    report_in_force,
)
from ...errors import FieldError
from ...money import validate_currency
from ...subscriptions.figures import ChannelFigures
from ..core.errors import InputError
from ..core.pagination import connection_from_queryset
from ..loyalty.resolvers import liability_rows
from .enums import BASKET_KINDS, BASKET_SORTS, F2_BY, LTV_BY, REPEAT_LEVELS
from .sorters import REPEAT_SORTS
from .types import (
    CRMBasketPairCountableConnection,
    CRMF2CountableConnection,
    CRMLtvCountableConnection,
    CRMOverviewFigures,
    CRMPredictionFits,
    CRMProductRepeatCountableConnection,
)


def resolve_overview_figures(info) -> CRMOverviewFigures:
    now = timezone.now()
    points = stored("points_liability", now)
    subscriptions = stored("subscriptions", now)
    rows = [(r["currency"], r["available"], r["pending"]) for r in points.data]
    return CRMOverviewFigures(
        points_liability=liability_rows(info, rows),
        points_computed_at=points.computed_at,
        subscriptions=[
            ChannelFigures(**{**r, "recurring_revenue": Decimal(r["recurring_revenue"])})
            for r in subscriptions.data
        ],
        subscriptions_computed_at=subscriptions.computed_at,
    )


def resolve_prediction_fits(currency: str | None) -> list[CRMPredictionFits]:
    """Per currency (or the one asked), the fit in force and the latest attempt."""
    fits = PredictionFit.objects.all()
    if currency is not None:
        try:
            currency = validate_currency(currency)
        except ValueError as error:
            raise InputError("currency", str(error)) from error
        fits = fits.filter(currency=currency)
    result = []
    for code in fits.values_list("currency", flat=True).distinct().order_by("currency"):
        of_currency = fits.filter(currency=code)
        result.append(
            CRMPredictionFits(
                currency=code,
                in_force=of_currency.filter(in_force=True).first(),
                latest=of_currency.order_by("-created_at", "-pk").first(),
            )
        )
    return result


# --- the stored reports and basket pairs ----------------------------------------------------
# Each `*_filters` turns the query's arguments (snake case, enum names as GraphQL spells them)
# into the read function's keywords, naming a bad one as GraphQL does; the CSV export
# (`export_view.export_analytics_view`) passes its JSON body through the same functions.

# The read functions' argument names (`FieldError.field`) as GraphQL names them.
_GRAPHQL_NAMES = {"first_month": "firstMonth", "sort": "sortBy"}
# OrderDirection -> the read functions' sort prefix.
_DIRECTIONS = {"ASC": "", "DESC": "-"}


@contextmanager
def graphql_names():
    """Raise a read function's FieldError as an InputError naming the GraphQL argument."""
    try:
        yield
    except InputError:
        raise
    except FieldError as error:
        field = _GRAPHQL_NAMES.get(error.field, error.field)
        raise InputError(field, error.message) from error


def _text(args: dict, name: str, field: str) -> str | None:
    value = args.get(name)
    if value is not None and not isinstance(value, str):
        raise InputError(field, f"must be a string, not {value!r}")
    return value


def _choice(args: dict, name: str, field: str, choices: dict, default: str | None) -> str:
    value = args.get(name)
    if value is None:
        if default is None:
            raise InputError(field, f"is required: one of {', '.join(choices)}")
        value = default
    if not isinstance(value, str) or value not in choices:
        raise InputError(field, f"{value!r} is not one of {', '.join(choices)}")
    return choices[value]


def _currency(args: dict) -> str:
    currency = _text(args, "currency", "currency")
    if currency is None:
        raise InputError("currency", "is required")
    try:
        return validate_currency(currency)
    except ValueError as error:
        raise InputError("currency", str(error)) from error


def repeat_filters(args: dict) -> dict:
    """`product_repeat_rows` keywords: a level, a channel ("" or null: all channels), the
    customers of a first-order month (null: all months together) and a sort (default: most
    buyers first)."""
    sort_by = args.get("sort_by")
    if sort_by is None:
        sort = "-buyers"
    elif not isinstance(sort_by, dict):
        raise InputError("sortBy", "must be an object with a field and a direction")
    else:
        field = _choice(sort_by, "field", "sortBy.field", REPEAT_SORTS, None)
        direction = _choice(sort_by, "direction", "sortBy.direction", _DIRECTIONS, None)
        sort = direction + field
    return {
        "level": _choice(args, "level", "level", REPEAT_LEVELS, "PRODUCT"),
        "channel": _text(args, "channel", "channel") or "",
        "first_month": _text(args, "first_month", "firstMonth") or "",
        "sort": sort,
    }


def f2_filters(args: dict) -> dict:
    """`f2_rows` keywords: the split, a channel ("" or null: all) and a first-order month
    (null: every month, all months together ("") first)."""
    return {
        "by": _choice(args, "by", "by", F2_BY, "ALL"),
        "channel": _text(args, "channel", "channel") or "",
        "first_month": _text(args, "first_month", "firstMonth"),
    }


def cohort_filters(args: dict) -> dict:
    """`cohort_rows` keywords: a currency (required) and a channel ("" or null: all)."""
    return {"currency": _currency(args), "channel": _text(args, "channel", "channel") or ""}


def ltv_filters(args: dict) -> dict:
    """`ltv_rows` keywords: a currency and a kind of group, both required (the rows come
    the highest average first)."""
    return {"currency": _currency(args), "by": _choice(args, "by", "by", LTV_BY, None)}


def pairs_filters(args: dict) -> dict:
    """`top_pairs` keywords: a channel (required), a kind and a sort (best first)."""
    channel = _text(args, "channel", "channel")
    if channel is None:
        raise InputError("channel", "is required")
    return {
        "channel": channel,
        "kind": _choice(args, "kind", "kind", BASKET_KINDS, "ORDER"),
        "sort": _choice(args, "sort_by", "sortBy", BASKET_SORTS, "LIFT"),
    }


def resolve_report_run():
    return report_in_force()


def resolve_product_repeat(args: dict):
    with graphql_names():
        rows = product_repeat_rows(**repeat_filters(args))
    return connection_from_queryset(rows, args, CRMProductRepeatCountableConnection)


def resolve_f2(args: dict):
    with graphql_names():
        rows = f2_rows(**f2_filters(args))
    return connection_from_queryset(rows, args, CRMF2CountableConnection)


def resolve_cohorts(args: dict) -> list:
    with graphql_names():
        return list(cohort_rows(**cohort_filters(args)))


def resolve_ltv(args: dict):
    with graphql_names():
        rows = ltv_rows(**ltv_filters(args))
    return connection_from_queryset(rows, args, CRMLtvCountableConnection)


def resolve_basket_runs() -> list:
    return list(basket_runs())


def resolve_basket_pairs(args: dict):
    with graphql_names():
        pairs = top_pairs(**pairs_filters(args))
    return connection_from_queryset(pairs, args, CRMBasketPairCountableConnection)


# --- recommendations --------------------------------------------------------------------

_LONGEST = {"channel": 255, "product": 64}  # as the ledger stores them


def _checked(field: str, value: str) -> str:
    if not value.strip():
        raise InputError(field, "must not be empty")
    if len(value) > _LONGEST[field]:
        raise InputError(field, f"must be at most {_LONGEST[field]} characters")
    return value


def _checked_first(first: int) -> int:
    if not 1 <= first <= MAX_FIRST:
        raise InputError("first", f"must be from 1 to {MAX_FIRST}, not {first}")
    return first


def _offer(info, channel: str):
    """What the store offers in the channel now (the Host): all a pick may name."""
    host = info.context.host
    return lambda product_ids: host.available_products(product_ids, channel)


def resolve_also_bought(info, product: str, channel: str, first: int) -> list[Pick]:
    """ "Customers who bought this also bought" (public): [] for an unknown product or channel."""
    _checked("product", product)
    _checked("channel", channel)
    _checked_first(first)
    return also_bought_for(product, channel, first, available=_offer(info, channel))


def resolve_recommendations(info, profile, channel: str, first: int) -> list[Pick]:
    """The customer's personal picks in the channel ([] without a profile or orders there)."""
    _checked("channel", channel)
    _checked_first(first)
    if profile is None:
        return []
    return personal_picks_for(
        profile.pk, channel, timezone.now(), first, available=_offer(info, channel)
    )
