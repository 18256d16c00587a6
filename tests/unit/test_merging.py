"""Merge then unmerge is the identity on the ledger, for random histories, including events
after the merge on either side."""

from hypothesis import given, settings
from hypothesis import strategies as st

from saleor_crm_plugin.customers.merging import (
    FLOW_ENTRY,
    ORDER,
    POINTS,
    RANK_CHANGE,
    SUBSCRIPTION,
    Row,
    apply_moves,
    plan_merge,
    plan_unmerge,
    route,
)

ABSORBED, SURVIVOR = 1, 2


def test_route_sends_an_absorbed_customer_s_rows_to_the_survivor():
    assert route(ABSORBED, {ABSORBED: SURVIVOR}) == (SURVIVOR, ABSORBED)
    assert route(SURVIVOR, {ABSORBED: SURVIVOR}) == (SURVIVOR, None)
    assert route(3, {}) == (3, None)


def test_a_merge_moves_everything_but_a_campaign_entry_the_survivor_holds():
    # given
    rows = [
        Row(ORDER, "o1", ABSORBED),
        Row(POINTS, "earn:order:o1", ABSORBED, order="o1"),
        Row(RANK_CHANGE, "7", ABSORBED),
        Row(SUBSCRIPTION, "3", ABSORBED, order="o1"),
        Row(FLOW_ENTRY, "10", ABSORBED, slot="welcome:"),
        Row(FLOW_ENTRY, "11", ABSORBED, slot="birthday:2025"),
        Row(FLOW_ENTRY, "12", SURVIVOR, slot="welcome:"),
        Row(ORDER, "o2", SURVIVOR),
    ]
    # when
    plan = plan_merge(rows, ABSORBED, SURVIVOR)
    # then
    assert plan.moves == {
        ORDER: ["o1"],
        POINTS: ["earn:order:o1"],
        RANK_CHANGE: ["7"],
        SUBSCRIPTION: ["3"],
        FLOW_ENTRY: ["11"],
    }
    assert plan.kept == ["10"]
    assert plan.count == 5


def test_an_unmerge_sends_back_what_came_after_the_merge():
    # given: merged, then a later order of the absorbed account, its points and their expiry,
    # a redemption and a rank review of the survivor
    rows = [
        Row(ORDER, "o1", SURVIVOR, merged_from=ABSORBED),
        Row(ORDER, "o9", SURVIVOR, merged_from=ABSORBED),
        Row(ORDER, "o2", SURVIVOR),
        Row(POINTS, "earn:order:o9", SURVIVOR, order="o9"),
        Row(POINTS, "adjust:x", SURVIVOR),
        Row(POINTS, "expire:adjust:x", SURVIVOR, lot="adjust:x"),
        Row(POINTS, "redeem:r1", SURVIVOR),
        Row(RANK_CHANGE, "7", SURVIVOR),
        Row(RANK_CHANGE, "8", SURVIVOR),
        Row(SUBSCRIPTION, "4", SURVIVOR, order="o9"),
    ]
    moved = {ORDER: ["o1"], POINTS: ["adjust:x"], RANK_CHANGE: ["7"]}
    # when
    back = plan_unmerge(rows, moved, ABSORBED, SURVIVOR)
    # then
    assert back == {
        ORDER: ["o1", "o9"],
        POINTS: ["adjust:x", "earn:order:o9", "expire:adjust:x"],
        RANK_CHANGE: ["7"],
        SUBSCRIPTION: ["4"],
        FLOW_ENTRY: [],
    }


# --- the property ------------------------------------------------------------------------

# An event: (what, side, number). Host events (orders and what follows from them) come from
# either side's account at any time, and a lot expires when its time comes wherever it is;
# staff and engine events (adjustments, ranks, campaigns) happen on the survivor while the
# absorbed profile is merged.
HOST = ("order", "earn", "release", "reverse", "subscription", "expire")
OWN = ("adjust", "rank", "flow")
_event = st.tuples(
    st.sampled_from(HOST + OWN), st.sampled_from([ABSORBED, SURVIVOR]), st.integers(0, 6)
)


class World:
    """A ledger fed with events; `merges` routes an absorbed profile's rows."""

    def __init__(self):
        self.rows: list[Row] = []
        self.merges: dict[int, int] = {}
        self.serial = 0

    def owner(self, kind, key):
        return next((r.profile for r in self.rows if r.kind == kind and r.key == key), None)

    def has(self, kind, key):
        return any(r.kind == kind and r.key == key for r in self.rows)

    def add(self, row):
        self.rows.append(row)

    def feed(self, event) -> None:
        what, side, n = event
        order = f"{side}:o{n}"
        if what == "order":
            if not self.has(ORDER, order):
                profile, merged_from = route(side, self.merges)
                self.add(Row(ORDER, order, profile, merged_from=merged_from))
        elif what in ("earn", "release", "reverse"):
            key = f"{what}:order:{order}"
            at = self.owner(ORDER, order)
            if at is not None and not self.has(POINTS, key):
                lot = "" if what == "earn" else f"earn:order:{order}"
                self.add(Row(POINTS, key, at, order=order, lot=lot))
        elif what == "subscription":
            at = self.owner(ORDER, order)
            if at is not None and not self.has(SUBSCRIPTION, f"s:{order}"):
                self.add(Row(SUBSCRIPTION, f"s:{order}", at, order=order))
        elif what == "adjust":
            self.serial += 1
            self.add(Row(POINTS, f"adjust:{side}:{self.serial}", side))
        elif what == "expire":
            lots = sorted(
                (r for r in self.rows if r.kind == POINTS and not r.lot), key=lambda r: r.key
            )
            if lots:
                lot = lots[n % len(lots)]
                if not self.has(POINTS, f"expire:{lot.key}"):
                    self.add(Row(POINTS, f"expire:{lot.key}", lot.profile, lot=lot.key))
        elif what == "rank":
            self.serial += 1
            self.add(Row(RANK_CHANGE, f"rank:{side}:{self.serial}", side))
        elif what == "flow":
            slot = f"flow{n}"
            held = {r.slot for r in self.rows if r.kind == FLOW_ENTRY and r.profile == side}
            if slot not in held:
                self.serial += 1
                self.add(Row(FLOW_ENTRY, f"flow:{side}:{self.serial}", side, slot=slot))

    def state(self):
        return sorted((r.kind, r.key, r.profile, r.merged_from) for r in self.rows)


def _after_merge(events, absorbed_slots):
    """The events that can happen while merged: host events on either side; the rest on the
    survivor (the absorbed profile takes no staff action; a flow the survivor holds through
    the merge for an occasion is not entered again, so those are left out)."""
    kept = []
    for what, side, n in events:
        if what in OWN and side == ABSORBED:
            continue
        if what == "flow" and f"flow{n}" in absorbed_slots:
            continue
        kept.append((what, side, n))
    return kept


@settings(max_examples=400, deadline=None)
@given(before=st.lists(_event, max_size=30), after=st.lists(_event, max_size=30))
def test_merge_then_unmerge_is_the_identity_on_the_ledger(before, after):
    # given: the same history in a world that never merges and one that merges in between
    never, merged = World(), World()
    for event in before:
        never.feed(event)
        merged.feed(event)
    absorbed_slots = {r.slot for r in merged.rows if r.kind == FLOW_ENTRY and r.profile == ABSORBED}
    after = _after_merge(after, absorbed_slots)
    # when: merge, events on either side, unmerge
    plan = plan_merge(merged.rows, ABSORBED, SURVIVOR)
    merged.rows = apply_moves(merged.rows, plan.moves, SURVIVOR, ABSORBED)
    merged.merges = {ABSORBED: SURVIVOR}
    assert not [r for r in merged.rows if r.profile == ABSORBED and r.kind != FLOW_ENTRY]
    for event in after:
        never.feed(event)
        merged.feed(event)
    assert not [r for r in merged.rows if r.profile == ABSORBED and r.kind != FLOW_ENTRY]
    back = plan_unmerge(merged.rows, plan.moves, ABSORBED, SURVIVOR)
    merged.rows = apply_moves(merged.rows, back, ABSORBED, None)
    merged.merges = {}
    # then: each side holds exactly what it would hold had the merge never happened
    assert merged.state() == never.state()
