"""What a merge of two customer profiles moves, and what its undoing sends back. Pure.

A merge puts the ledger of the *absorbed* profile on the *surviving* one: its orders, points
entries, rank history, subscriptions and campaign entries. It is undone exactly: each row
goes back to the profile it came from, including what happened after the merge:

- an order remembers the profile it belongs to by the store's own rule while it sits on the
  survivor (`merged_from`), whether the merge moved it or ingestion routed it there later
  (a later order or refund of the absorbed customer's account);
- a points entry goes back with the order it is about (`earn`, `release`, `reverse` of an
  order going back), with the lot it acts on (the expiry of a lot going back), or because the
  merge moved it;
- subscriptions go back when the merge moved them or an order going back started them;
- rank changes and campaign entries go back when the merge moved them. A campaign entry the
  survivor already has for the same flow and occasion is not moved (a customer enters a flow
  once per occasion) and stays where it is.

Rows the survivor made while merged (a redemption, a staff adjustment, a rank review) stay on
the survivor. Figures (order count, spend, balance, scores, rank) are never moved: they are
recomputed from the rows on each side.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

__all__ = [
    "FLOW_ENTRY",
    "KINDS",
    "ORDER",
    "POINTS",
    "RANK_CHANGE",
    "SUBSCRIPTION",
    "MergePlan",
    "Row",
    "apply_moves",
    "plan_merge",
    "plan_unmerge",
    "route",
]

ORDER = "order"
POINTS = "points"
RANK_CHANGE = "rank_change"
SUBSCRIPTION = "subscription"
FLOW_ENTRY = "flow_entry"
KINDS = (ORDER, POINTS, RANK_CHANGE, SUBSCRIPTION, FLOW_ENTRY)


@dataclass(frozen=True)
class Row:
    """One row of a customer's ledger, as a merge sees it.

    `key` is unique within its kind (an order id, a points entry key, a row id). `merged_from`
    (orders) is the profile the order belongs to while a merge keeps it on `profile`.
    `order` is the order a points entry is about, or the order a subscription started from;
    `lot` the earning a points entry acts on; `slot` what a profile holds once (a campaign
    entry's flow and occasion).
    """

    kind: str
    key: str
    profile: int
    merged_from: int | None = None
    order: str = ""
    lot: str = ""
    slot: str = ""


@dataclass
class MergePlan:
    """The rows to move, by kind (their keys), and the campaign entries left in place."""

    moves: dict[str, list[str]] = field(default_factory=lambda: {kind: [] for kind in KINDS})
    kept: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        return sum(len(keys) for keys in self.moves.values())


def route(home: int, merges: Mapping[int, int]) -> tuple[int, int | None]:
    """Where a row whose profile by the store's rule is `home` goes: (profile, merged_from).

    Parameters
    ----------
    home : int
        The profile the row belongs to.
    merges : Mapping[int, int]
        Absorbed profile -> surviving profile, of the merges in force.

    Returns
    -------
    tuple
        (`home`, None) when `home` is not absorbed, else (its survivor, `home`).
    """
    survivor = merges.get(home)
    return (home, None) if survivor is None else (survivor, home)


def plan_merge(rows: Iterable[Row], absorbed: int, survivor: int) -> MergePlan:
    """Plan moving every row of `absorbed` to `survivor`.

    Parameters
    ----------
    rows : Iterable[Row]
        The rows of both profiles.
    absorbed, survivor : int
        The profiles.

    Returns
    -------
    MergePlan
        Every row of `absorbed` by kind, except campaign entries whose slot the survivor
        holds (`kept`).
    """
    rows = list(rows)
    held = {row.slot for row in rows if row.kind == FLOW_ENTRY and row.profile == survivor}
    plan = MergePlan()
    for row in rows:
        if row.profile != absorbed:
            continue
        if row.kind == FLOW_ENTRY and row.slot in held:
            plan.kept.append(row.key)
        else:
            plan.moves[row.kind].append(row.key)
    return plan


def plan_unmerge(
    rows: Iterable[Row], moved: Mapping[str, Iterable[str]], absorbed: int, survivor: int
) -> dict[str, list[str]]:
    """Plan sending back to `absorbed` what is the absorbed customer's on `survivor`.

    Parameters
    ----------
    rows : Iterable[Row]
        The survivor's rows now.
    moved : Mapping[str, Iterable[str]]
        What the merge moved, by kind (`MergePlan.moves` as recorded).
    absorbed, survivor : int
        The profiles.

    Returns
    -------
    dict
        The keys to move back, by kind.
    """
    rows = [row for row in rows if row.profile == survivor]
    moved = {kind: set(moved.get(kind, ())) for kind in KINDS}
    back = {kind: [] for kind in KINDS}
    orders = {row.key for row in rows if row.kind == ORDER and row.merged_from == absorbed}
    back[ORDER] = sorted(orders)
    lots = set()
    for row in rows:
        if row.kind == POINTS and (row.key in moved[POINTS] or row.order in orders):
            lots.add(row.key)
    for row in rows:
        if row.kind == POINTS:
            if row.key in moved[POINTS] or row.order in orders or row.lot in lots:
                back[POINTS].append(row.key)
        elif row.kind == SUBSCRIPTION:
            if row.key in moved[SUBSCRIPTION] or (row.order and row.order in orders):
                back[SUBSCRIPTION].append(row.key)
        elif row.kind in (RANK_CHANGE, FLOW_ENTRY) and row.key in moved[row.kind]:
            back[row.kind].append(row.key)
    return {kind: sorted(keys) for kind, keys in back.items()}


def apply_moves(
    rows: Iterable[Row], moves: Mapping[str, Iterable[str]], to: int, merged_from: int | None
) -> list[Row]:
    """The rows after moving these to profile `to`; moved orders take `merged_from`."""
    wanted = {(kind, key) for kind, keys in moves.items() for key in keys}
    result = []
    for row in rows:
        if (row.kind, row.key) in wanted:
            row = replace(row, profile=to, merged_from=merged_from if row.kind == ORDER else None)
        result.append(row)
    return result
