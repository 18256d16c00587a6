"""The profile summary written to the store's private metadata (`crm.*` keys). Pure.

Staff read these on the customer page in Saleor Dashboard. Values are strings, as Saleor's
metadata requires; money keeps its currency and is never added across currencies.
"""

from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import Decimal

from ..money import quantize_amount

__all__ = ["METADATA_PREFIX", "summary_metadata"]

METADATA_PREFIX = "crm."


def _money(pairs: Iterable[tuple[str, Decimal]]) -> str:
    return "; ".join(
        f"{currency} {quantize_amount(amount, currency)}" for currency, amount in pairs
    )


def _time(value: datetime | None) -> str:
    return "" if value is None else value.isoformat()


def summary_metadata(
    order_count: int,
    first_order_at: datetime | None,
    last_order_at: datetime | None,
    spends: Iterable[tuple[str, Decimal, Decimal]],
    scores: Iterable[tuple[str, int, int, int, str]] = (),
    rank: tuple[str, datetime] | None = None,
    points: tuple[int, int] | None = None,
    predictions: Iterable[tuple[str, float, Decimal | None, datetime | None, float | None]] = (),
) -> dict[str, str]:
    """Return the `crm.*` metadata of one customer.

    Parameters
    ----------
    order_count, first_order_at, last_order_at
        The profile's counted orders and their first and last times (aware, UTC).
    spends
        (currency, total spent, average order) per currency.
    scores
        (group, R, F, M, segment) per RFM group (currency).
    rank
        (rank code, since when), when the customer has a rank.
    points
        (balance, pending), when the customer has a points account.
    predictions
        (currency, P(alive), predicted 12-month CLV or None, expected next order or None,
        overdue or None) per currency the customer has a prediction in.

    Returns
    -------
    dict
        Keys `crm.order_count`, `crm.first_order_at`, `crm.last_order_at` (ISO 8601, empty
        when there is none), `crm.total_spent` and `crm.average_order` ("JPY 12000; USD 19.75"),
        `crm.segment` ("JPY Champions") and `crm.rfm` ("JPY R5 F4 M5"), empty when unscored;
        with a rank `crm.rank` (its code, "GOLD") and `crm.rank_since`; with points
        `crm.points` (what can be spent now, negative when owed) and `crm.points_pending`;
        with predictions `crm.p_alive` ("JPY 0.42", two decimals), `crm.predicted_clv`
        ("JPY 23400"), `crm.next_order_on` ("JPY 2027-01-15", the UTC date) and `crm.overdue`
        ("JPY 1.8": days since the last order over the customer's usual gap), each currency
        without the figure left out.
    """
    spends = sorted(spends)
    scores = sorted(scores)
    extra = {}
    if rank is not None:
        extra[f"{METADATA_PREFIX}rank"] = rank[0]
        extra[f"{METADATA_PREFIX}rank_since"] = _time(rank[1])
    if points is not None:
        extra[f"{METADATA_PREFIX}points"] = str(points[0])
        extra[f"{METADATA_PREFIX}points_pending"] = str(points[1])
    predictions = sorted(predictions, key=lambda row: row[0])
    if predictions:
        extra[f"{METADATA_PREFIX}p_alive"] = "; ".join(f"{c} {p:.2f}" for c, p, *_ in predictions)
        extra[f"{METADATA_PREFIX}predicted_clv"] = _money(
            (c, value) for c, _, value, *_ in predictions if value is not None
        )
        extra[f"{METADATA_PREFIX}next_order_on"] = "; ".join(
            f"{c} {at.astimezone(UTC).date().isoformat()}"
            for c, _, _, at, _ in predictions
            if at is not None
        )
        extra[f"{METADATA_PREFIX}overdue"] = "; ".join(
            f"{c} {overdue:.1f}" for c, *_, overdue in predictions if overdue is not None
        )
    return {
        f"{METADATA_PREFIX}order_count": str(order_count),
        f"{METADATA_PREFIX}first_order_at": _time(first_order_at),
        f"{METADATA_PREFIX}last_order_at": _time(last_order_at),
        f"{METADATA_PREFIX}total_spent": _money((c, total) for c, total, _ in spends),
        f"{METADATA_PREFIX}average_order": _money((c, average) for c, _, average in spends),
        f"{METADATA_PREFIX}segment": "; ".join(
            f"{group} {segment}" for group, *_, segment in scores
        ),
        f"{METADATA_PREFIX}rfm": "; ".join(
            f"{group} R{r} F{f} M{m}" for group, r, f, m, _ in scores
        ),
        **extra,
    }
