"""Rule segments: a JSON rule tree over profile fields, validated and compiled to one query.

A rule is a tree of nodes:

    {"all": [rule, ...]}   every rule holds          {"any": [rule, ...]}   at least one holds
    {"not": rule}          the rule does not hold
    {"field": "order_count", "op": "gte", "value": 3}                       a condition

Conditions on money name a currency (`"currency": "JPY"`), on scores and segments an RFM group
(`"group": "JPY"`); `bought_sku`, `bought_product` and `bought_category` take `"within_days"`
optionally. `validate_rule` reports the first problem with the JSON path of the node
(`$.all[1].value`); `compile_rule` turns a valid rule into a Django `Q` over `CustomerProfile`,
so a segment is one SQL query.

Fields the store keeps (address of the default shipping address, marketing consent, whether
the account is active) are matched through the host's user table inside that same query; the
CRM copies none of them (STYLE 13). Guests have no address, consent or account.

Predictions (`analytics.predictions`, the fit in force in a currency) name a currency too:
`p_alive` (0 to 1), `expected_orders_30` / `_90` / `_365`, `predicted_clv` and
`expected_order_value` (amounts), `typical_gap_days` (the customer's own average days between
purchases) and `overdue` (days since their last purchase over that gap). A customer without a
prediction in the currency (no orders in it, or none scored yet) meets no such condition.

`rank` is the rank the customer holds now; `points_balance` their points now (available
less what they owe; a customer with no points account has 0), the same figure
`loyalty.services.balance` gives; `active_subscription` whether they have a subscription in
status active.
"""

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from django.db.models import Exists, OuterRef, Q

from ..errors import FieldError
from ..money import validate_currency
from .segment_map import SEGMENT_NAMES

__all__ = ["ACCOUNT_STATES", "FIELDS", "RuleError", "compile_rule", "row_currency", "validate_rule"]

MAX_DEPTH = 12
COMPARISONS = {"eq": "exact", "gt": "gt", "gte": "gte", "lt": "lt", "lte": "lte"}


class RuleError(FieldError):
    """A rule is wrong; `field` is the JSON path of the offending node."""


@dataclass(frozen=True)
class Context:
    as_of: datetime
    zone: ZoneInfo
    host: object = None
    # None: compile over `CustomerProfile`; a currency: over the spend rows in that currency
    # (`row_currency`), where the profile's figures are the rows' `profile_*` copies.
    row: str | None = None

    def column(self, name: str) -> str:
        """A profile field as the compiled query names it."""
        if self.row is None:
            return name
        from ..customers.models import PROFILE_COPIES

        return PROFILE_COPIES.get(name, f"profile__{name}")

    def profile(self):
        """The profile of the outer row, for a subquery."""
        return OuterRef("pk" if self.row is None else "profile_id")

    def store(self):
        if self.host is None:
            from ..host.protocol import get_host

            return get_host()
        return self.host


@dataclass(frozen=True)
class FieldSpec:
    # int, number, money, datetime, days, score, segment, status, flag, bought, place,
    # consent, rank, points, subscription
    kind: str
    ops: tuple[str, ...]
    needs: tuple[str, ...] = ()  # extra keys: currency, group
    column: str = ""
    # "prediction": the column is the customer's `CustomerPrediction` in the currency's.
    source: str = ""
    maximum: int | None = None  # the largest value that makes sense (a probability: 1)


def _predicted(kind: str, column: str, maximum: int | None = None) -> FieldSpec:
    return FieldSpec(kind, _NUMBER_OPS, ("currency",), column, "prediction", maximum)


_NUMBER_OPS = ("eq", "gt", "gte", "lt", "lte", "between")
FIELDS: dict[str, FieldSpec] = {
    "order_count": FieldSpec("int", _NUMBER_OPS, column="order_count"),
    "total_spent": FieldSpec("money", _NUMBER_OPS, ("currency",), "total_spent_amount"),
    "average_order": FieldSpec("money", _NUMBER_OPS, ("currency",), "average_order_amount"),
    "first_order_at": FieldSpec(
        "datetime", ("before", "after", "between"), column="first_order_at"
    ),
    "last_order_at": FieldSpec("datetime", ("before", "after", "between"), column="last_order_at"),
    "days_since_last_order": FieldSpec("days", _NUMBER_OPS),
    "r": FieldSpec("score", _NUMBER_OPS, ("group",), "r"),
    "f": FieldSpec("score", _NUMBER_OPS, ("group",), "f"),
    "m": FieldSpec("score", _NUMBER_OPS, ("group",), "m"),
    "segment": FieldSpec("segment", ("in",), ("group",)),
    "account": FieldSpec("status", ("eq",)),
    "past_usual_interval": FieldSpec("flag", ("eq",)),
    "bought_sku": FieldSpec("bought", ("eq",), column="sku"),
    "bought_product": FieldSpec("bought", ("eq",), column="product_id"),
    "bought_category": FieldSpec("bought", ("eq",), column="category_id"),
    "country": FieldSpec("place", ("in",), column="country"),
    "country_area": FieldSpec("place", ("in",), column="country_area"),
    "city": FieldSpec("place", ("in",), column="city"),
    "marketing_consent": FieldSpec("consent", ("eq",)),
    "rank": FieldSpec("rank", ("in",)),
    "points_balance": FieldSpec("points", _NUMBER_OPS),
    "active_subscription": FieldSpec("subscription", ("eq",)),
    "p_alive": _predicted("number", "p_alive", maximum=1),
    "expected_orders_30": _predicted("number", "expected_30"),
    "expected_orders_90": _predicted("number", "expected_90"),
    "expected_orders_365": _predicted("number", "expected_365"),
    "predicted_clv": _predicted("money", "clv"),
    "expected_order_value": _predicted("money", "expected_value"),
    "typical_gap_days": _predicted("number", "typical_gap_days"),
    "overdue": _predicted("number", "overdue"),
}
ACCOUNT_STATES = ("registered", "guest", "active", "inactive")
_CONDITION_KEYS = {"field", "op", "value", "currency", "group", "within_days"}


# --- validation ---------------------------------------------------------------------------


def _number(path: str, value, kind: str, maximum: int | None = None):
    if isinstance(value, bool):
        raise RuleError(path, f"{value!r} is not a number")
    if kind in ("int", "days", "score"):
        if not isinstance(value, int):
            raise RuleError(path, f"{value!r} is not a whole number")
        if value < 0:
            raise RuleError(path, f"{value} is negative")
        if kind == "score" and not 1 <= value <= 5:
            raise RuleError(path, f"scores are 1 to 5, not {value}")
        return value
    what = "an amount" if kind == "money" else "a number"
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise RuleError(path, f"{value!r} is not {what}") from None
    if not amount.is_finite() or amount < 0:
        raise RuleError(path, f"{value!r} is not {what} of 0 or more")
    if maximum is not None and amount > maximum:
        raise RuleError(path, f"{value!r} is above {maximum}, the largest it can be")
    return amount


def _moment(path: str, value) -> datetime:
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        raise RuleError(path, f"{value!r} is not an ISO 8601 date and time") from None
    if moment.tzinfo is None:
        raise RuleError(path, f"{value!r} needs a time zone (e.g. 2025-01-31T00:00:00+09:00)")
    return moment


def _pair(path: str, value, parse) -> tuple:
    if not isinstance(value, list) or len(value) != 2:
        raise RuleError(path, "between takes a list of two values [low, high]")
    low, high = parse(f"{path}[0]", value[0]), parse(f"{path}[1]", value[1])
    if low > high:
        raise RuleError(path, f"the low end {value[0]!r} is above the high end {value[1]!r}")
    return low, high


def _names(path: str, value, country: bool = False) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise RuleError(path, "takes a non-empty list of names")
    names = []
    for index, item in enumerate(value):
        if not isinstance(item, str) or not item.strip():
            raise RuleError(f"{path}[{index}]", f"{item!r} is not a name")
        item = item.strip()
        if country and not (len(item) == 2 and item.isascii() and item.isalpha()):
            raise RuleError(f"{path}[{index}]", f"{item!r} is not a two-letter country code (JP)")
        names.append(item.upper() if country else item)
    return tuple(names)


def _condition(node: dict, path: str, segment_names: tuple[str, ...]) -> dict:
    unknown = sorted(set(node) - _CONDITION_KEYS)
    if unknown:
        raise RuleError(f"{path}.{unknown[0]}", "is not a key of a condition")
    name = node.get("field")
    if name not in FIELDS:
        raise RuleError(f"{path}.field", f"{name!r} is not a field ({', '.join(FIELDS)})")
    spec = FIELDS[name]
    op = node.get("op")
    if op not in spec.ops:
        raise RuleError(f"{path}.op", f"{op!r} does not fit {name} (use {', '.join(spec.ops)})")
    clean = {"field": name, "op": op}
    for key in spec.needs:
        if key not in node:
            raise RuleError(f"{path}.{key}", f"is required for {name}")
        try:
            clean[key] = validate_currency(node[key])
        except ValueError as error:
            raise RuleError(f"{path}.{key}", str(error)) from None
    extra = sorted(
        set(node)
        - {
            "field",
            "op",
            "value",
            *spec.needs,
            *(("within_days",) if spec.kind == "bought" else ()),
        }
    )
    if extra:
        raise RuleError(f"{path}.{extra[0]}", f"does not apply to {name}")
    if "value" not in node:
        raise RuleError(f"{path}.value", "is required")
    value, value_path = node["value"], f"{path}.value"
    if spec.kind in ("int", "number", "days", "score", "money", "points"):
        parse = lambda p, v: _number(p, v, spec.kind, spec.maximum)  # noqa: E731
        clean["value"] = (
            _pair(value_path, value, parse) if op == "between" else parse(value_path, value)
        )
    elif spec.kind == "datetime":
        clean["value"] = (
            _pair(value_path, value, _moment) if op == "between" else _moment(value_path, value)
        )
    elif spec.kind == "segment":
        if not isinstance(value, list) or not value:
            raise RuleError(value_path, "takes a non-empty list of segment names")
        for index, item in enumerate(value):
            if item not in segment_names:
                raise RuleError(
                    f"{value_path}[{index}]",
                    f"{item!r} is not a segment ({', '.join(segment_names)})",
                )
        clean["value"] = tuple(value)
    elif spec.kind in ("flag", "consent", "subscription"):
        if not isinstance(value, bool):
            raise RuleError(value_path, f"{value!r} is not true or false")
        clean["value"] = value
    elif spec.kind == "status":
        if value not in ACCOUNT_STATES:
            raise RuleError(value_path, f"{value!r} is not one of {', '.join(ACCOUNT_STATES)}")
        clean["value"] = value
    elif spec.kind in ("place", "rank"):
        clean["value"] = _names(value_path, value, country=name == "country")
    else:  # bought
        if not isinstance(value, str) or not value.strip():
            what = {"sku": "a SKU", "product_id": "a product ID", "category_id": "a category ID"}
            raise RuleError(value_path, f"takes {what[spec.column]}")
        clean["value"] = value.strip()
        if "within_days" in node:
            clean["within_days"] = _number(f"{path}.within_days", node["within_days"], "days")
    return clean


def validate_rule(
    rule, segment_names: tuple[str, ...] = SEGMENT_NAMES, path: str = "$", depth: int = 0
) -> dict:
    """Return the rule with its values parsed, or raise `RuleError` at the first problem.

    `segment_names` are the named segments of the store's map (the plugin setting).
    """
    if depth > MAX_DEPTH:
        raise RuleError(path, f"rules nest at most {MAX_DEPTH} levels deep")
    if not isinstance(rule, dict):
        raise RuleError(path, "a rule is an object: all, any, not, or a condition with field")
    groups = [key for key in ("all", "any", "not") if key in rule]
    if (groups and "field" in rule) or len(groups) > 1:
        raise RuleError(path, "a node is exactly one of all, any, not or a condition")
    if not groups:
        return _condition(rule, path, segment_names)
    key = groups[0]
    if len(rule) > 1:
        other = min(set(rule) - {key})
        raise RuleError(f"{path}.{other}", f"does not belong beside {key}")
    if key == "not":
        return {"not": validate_rule(rule["not"], segment_names, f"{path}.not", depth + 1)}
    children = rule[key]
    if not isinstance(children, list) or not children:
        raise RuleError(f"{path}.{key}", "takes a non-empty list of rules")
    return {
        key: [
            validate_rule(child, segment_names, f"{path}.{key}[{i}]", depth + 1)
            for i, child in enumerate(children)
        ]
    }


# --- compilation --------------------------------------------------------------------------


def _compare(column: str, op: str, value) -> Q:
    if op == "between":
        return Q(**{f"{column}__gte": value[0], f"{column}__lte": value[1]})
    if op in ("before", "after"):
        return Q(**{f"{column}__{'lt' if op == 'before' else 'gt'}": value})
    return Q(**{f"{column}__{COMPARISONS[op]}": value})


def _holds_for_zero(op: str, value) -> bool:
    if op == "between":
        return value[0] <= 0 <= value[1]
    return {
        "eq": value == 0,
        "gt": 0 > value,
        "gte": 0 >= value,
        "lt": 0 < value,
        "lte": 0 <= value,
    }[op]


def _start_of_local_day(day, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=zone)


def _days_since(condition: dict, context: Context) -> Q:
    """`days since the last order` in the store's zone, as bounds on `last_order_at`."""
    today = context.as_of.astimezone(context.zone).date()
    last = context.column("last_order_at")

    def at_least(days):  # last order on or before today - days
        start = _start_of_local_day(today - timedelta(days=days - 1), context.zone)
        return Q(**{f"{last}__lt": start})

    def at_most(days):  # last order on or after today - days
        start = _start_of_local_day(today - timedelta(days=days), context.zone)
        return Q(**{f"{last}__gte": start})

    op, value = condition["op"], condition["value"]
    if op == "between":
        return at_least(value[0]) & at_most(value[1])
    return {
        "eq": lambda: at_least(value) & at_most(value),
        "gte": lambda: at_least(value),
        "gt": lambda: at_least(value + 1),
        "lte": lambda: at_most(value),
        "lt": lambda: at_most(value - 1) if value > 0 else Q(pk__in=[]),
    }[op]()


def _compile_condition(condition: dict, context: Context) -> Q:
    from ..customers.models import CustomerSpend, OrderLineRecord

    spec = FIELDS[condition["field"]]
    op, value = condition["op"], condition["value"]
    user_id = context.column("user_id")
    if spec.source == "prediction":
        from ..analytics.models import CustomerPrediction

        predictions = CustomerPrediction.objects.filter(
            profile=context.profile(), currency=condition["currency"]
        )
        return Q(Exists(predictions.filter(_compare(spec.column, op, value))))
    if spec.kind in ("int", "datetime"):
        return _compare(context.column(spec.column), op, value)
    if spec.kind == "days":
        return _days_since(condition, context)
    if spec.kind in ("money", "score", "segment"):
        currency = condition.get("currency") or condition["group"]
        if spec.kind == "segment":
            matching = Q(segment__in=value)
        else:
            matching = _compare(spec.column, op, value)
        if currency == context.row:  # the row itself is the customer's in that currency
            return matching
        spends = CustomerSpend.objects.filter(profile=context.profile(), currency=currency)
        result = Q(Exists(spends.filter(matching)))
        if spec.column == "total_spent_amount" and _holds_for_zero(op, value):
            result |= ~Q(Exists(spends))  # no orders in that currency: spent 0
        return result
    if spec.kind == "status":
        if value in ("registered", "guest"):
            return Q(**{f"{user_id}__isnull": value == "guest"})
        active = Q(**{f"{user_id}__in": context.store().users_where("is_active", True)})
        return active if value == "active" else Q(**{f"{user_id}__isnull": False}) & ~active
    if spec.kind == "flag":  # past_usual_interval
        past = Q(**{f"{context.column('lapse_at')}__lt": context.as_of})
        return past if value else ~past
    if spec.kind == "place":
        return Q(**{f"{user_id}__in": context.store().users_where(spec.column, list(value))})
    if spec.kind == "consent":
        consenting = Q(**{f"{user_id}__in": context.store().users_where("marketing_consent", True)})
        return consenting if value else ~consenting
    if spec.kind == "subscription":
        from ..subscriptions.models import Subscription

        active = Q(
            Exists(
                Subscription.objects.filter(
                    profile=context.profile(), status=Subscription.Status.ACTIVE
                )
            )
        )
        return active if value else ~active
    if spec.kind == "rank":
        from ..loyalty.models import MemberRank

        return Q(Exists(MemberRank.objects.filter(profile=context.profile(), code__in=value)))
    if spec.kind == "points":
        return _points_balance(op, value, context)
    lines = OrderLineRecord.objects.filter(
        order__profile=context.profile(), order__counts=True, **{spec.column: value}
    )
    if "within_days" in condition:
        lines = lines.filter(
            order__placed_at__gte=context.as_of - timedelta(days=condition["within_days"])
        )
    return Q(Exists(lines))


def _points_balance(op: str, value, context: Context) -> Q:
    """The balance as `loyalty.services.balance` reads it: the account's remaining points less
    its debt, less the lots still pending and those expired but not yet written off."""
    from django.db.models import F, IntegerField, Subquery, Sum
    from django.db.models.functions import Coalesce

    from ..loyalty.models import PointsAccount, PointsLot

    now = context.as_of

    def lots(condition: Q):
        rows = PointsLot.objects.filter(condition, account=OuterRef("pk"), remaining__gt=0)
        total = rows.order_by().values("account").annotate(total=Sum("remaining")).values("total")
        return Coalesce(Subquery(total, output_field=IntegerField()), 0)

    # Three index range reads per account (held, not yet available, expired), as in
    # `loyalty.services.balances`; an OR of them would read every lot of the account.
    held = lots(Q(available_at__isnull=True))
    later = lots(Q(available_at__gt=now))
    expired = lots(Q(expires_at__isnull=False, expires_at__lte=now, available_at__lte=now))
    accounts = PointsAccount.objects.filter(profile=context.profile()).annotate(
        crm_balance=F("remaining") - F("debt") - held - later - expired
    )
    result = Q(Exists(accounts.filter(_compare("crm_balance", op, value))))
    if _holds_for_zero(op, value):
        result |= ~Q(Exists(PointsAccount.objects.filter(profile=context.profile())))
    return result


def row_currency(rule: dict) -> str | None:
    """A currency every customer the (validated) rule selects has a spend row in, if any.

    A condition on spend that fails for a customer with no orders in its currency, or on
    scores or segments of a group, needs that row; `all` needs what any child needs, `any`
    what every child needs. Such a rule can be counted over those rows alone
    (`compile_rule(..., row=currency)`), one row per customer.
    """
    if "all" in rule:
        return next(filter(None, map(row_currency, rule["all"])), None)
    if "any" in rule:
        needed = {row_currency(child) for child in rule["any"]}
        return needed.pop() if len(needed) == 1 else None
    if "not" in rule:
        return None
    spec = FIELDS[rule["field"]]
    if spec.source == "prediction":  # predicted from the customer's orders in the currency
        return rule["currency"]
    if spec.kind in ("score", "segment"):
        return rule["group"]
    if spec.kind == "money":
        if spec.column == "total_spent_amount" and _holds_for_zero(rule["op"], rule["value"]):
            return None
        return rule["currency"]
    return None


def compile_rule(
    rule: dict, as_of: datetime, zone: ZoneInfo, host=None, row: str | None = None
) -> Q:
    """Compile a validated rule (see `validate_rule`) into a `Q` over `CustomerProfile`.

    With `row` (the rule's `row_currency`), the `Q` is over `CustomerSpend` instead: the
    rows in that currency of the customers the rule selects (the caller filters the rows on
    that currency and on `profile_active`). `host` (default: the configured one) answers the
    conditions on what the store keeps.
    """
    context = Context(as_of=as_of, zone=zone, host=host, row=row)
    return _compile(rule, context)


def _compile(rule: dict, context: Context) -> Q:
    if "all" in rule:
        result = Q()
        for child in rule["all"]:
            result &= _compile(child, context)
        return result
    if "any" in rule:
        result = Q(pk__in=[])
        for child in rule["any"]:
            result |= _compile(child, context)
        return result
    if "not" in rule:
        return ~_compile(rule["not"], context)
    return _compile_condition(rule, context)
