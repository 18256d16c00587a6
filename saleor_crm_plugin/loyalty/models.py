"""The points ledger and the ranks: append-only entries, the lots they leave, rank history.

`PointsEntry` rows are the truth and are never changed. `PointsLot` rows and the account's
`debt` / `lost` are what replaying them gives (`loyalty.lots.Ledger`), kept by the ledger
service under the account's row lock so a balance is one indexed read, not a replay.
"""

from django.db import models

from ..customers.models import CustomerProfile, money_field
from .lots import FREE, PAID

# Where a lot's points came from: given by the store (earned, adjusted, imported; 無償) or
# bought by the customer (有償: a prepaid payment instrument under the Payment Services Act).
FUNDING_CHOICES = [(FREE, "free"), (PAID, "paid")]


class PointsAccount(models.Model):
    """A customer's points account; its row is locked while points are written."""

    profile = models.OneToOneField(
        CustomerProfile, related_name="points_account", on_delete=models.CASCADE
    )
    # The sum of every entry's points (available, pending and owed together).
    total = models.IntegerField(default=0)
    # The points left in all its lots (usable, pending or expired but not yet written off).
    remaining = models.IntegerField(default=0)
    debt = models.IntegerField(default=0)  # taken back after being spent; next earnings repay it
    lost = models.IntegerField(default=0)  # what the store absorbed (negative balances off)
    # The last entry the lots include, by (at, key): an entry before it means a replay.
    applied_at = models.DateTimeField(null=True, blank=True)
    applied_key = models.CharField(max_length=255, blank=True, default="")
    last_activity_at = models.DateTimeField(null=True, blank=True)  # last earning or spending
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        app_label = "saleor_crm"


class PointsEntry(models.Model):
    """One change of a customer's points. Never updated or deleted (`loyalty.lots` replays them).

    `key` makes every writer idempotent: `earn:order:<id>`, `reverse:order:<id>:<n>`,
    `release:order:<id>`, `redeem:<request id>`, `expire:<lot key>`, `adjust:<request id>`.
    """

    # No index of its own: `points_entry_account_at` leads with the account.
    account = models.ForeignKey(
        PointsAccount, related_name="entries", on_delete=models.CASCADE, db_index=False
    )
    key = models.CharField(max_length=255, unique=True)
    kind = models.CharField(max_length=16)
    points = models.IntegerField()
    at = models.DateTimeField()
    lot = models.CharField(max_length=255, null=True, blank=True)
    available_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    held = models.BooleanField(default=False)
    currency = models.CharField(
        max_length=3, blank=True, default=""
    )  # what its points are worth in
    # An earning's funding; a spending or expiry takes from lots of either (see `loyalty.lots`).
    funding = models.CharField(max_length=8, choices=FUNDING_CHOICES, default=FREE, db_default=FREE)
    # For paid points: what the customer paid for them, in `currency`.
    paid_amount = money_field(null=True, blank=True)
    order_id = models.CharField(max_length=64, blank=True, default="")
    # What a redemption became (the gift card code), so the same request answers the same.
    reference = models.CharField(max_length=64, blank=True, default="")
    reason = models.CharField(max_length=255, blank=True, default="")
    actor = models.CharField(max_length=255, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        app_label = "saleor_crm"
        ordering = ("at", "key")
        indexes = [
            models.Index(fields=["account", "at"], name="points_entry_account_at"),
            # The accounts with paid points (few): the base-date report replays only them.
            models.Index(
                fields=["account"], name="points_entry_paid", condition=models.Q(funding=PAID)
            ),
        ]


class PointsLot(models.Model):
    """What is left of one earning: kept equal to the replay of the account's entries."""

    # No index of its own: `points_lot_account_key` leads with the account.
    account = models.ForeignKey(
        PointsAccount, related_name="lots", on_delete=models.CASCADE, db_index=False
    )
    key = models.CharField(max_length=255)  # the earning entry's key
    earned_at = models.DateTimeField()
    points = models.IntegerField()
    remaining = models.IntegerField()
    available_at = models.DateTimeField(null=True, blank=True)  # null: held
    expires_at = models.DateTimeField(null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True, default="")
    funding = models.CharField(max_length=8, choices=FUNDING_CHOICES, default=FREE, db_default=FREE)
    paid_amount = money_field(null=True, blank=True)  # paid points: the price of `points`

    class Meta:
        app_label = "saleor_crm"
        constraints = [
            models.UniqueConstraint(fields=["account", "key"], name="points_lot_account_key")
        ]
        indexes = [
            # The lots with points left, in spending order; a balance reads this index alone.
            models.Index(
                fields=["account", "earned_at", "key"],
                include=["remaining", "available_at", "expires_at"],
                name="points_lot_live",
                condition=models.Q(remaining__gt=0),
            ),
            # A balance is the account's `remaining` less these two: the points still pending
            # and those expired but not yet written off by the expiry run (both few).
            models.Index(
                fields=["account", "available_at"],
                include=["remaining"],
                name="points_lot_pending",
                condition=models.Q(remaining__gt=0),
            ),
            models.Index(
                fields=["account", "expires_at"],
                include=["remaining", "available_at"],
                name="points_lot_expired",
                condition=models.Q(remaining__gt=0, expires_at__isnull=False),
            ),
        ]


class MemberRank(models.Model):
    """The rank a customer holds now, and a pin staff set."""

    profile = models.OneToOneField(
        CustomerProfile, related_name="member_rank", on_delete=models.CASCADE
    )
    code = models.CharField(max_length=64)
    since = models.DateTimeField()
    rule_version = models.CharField(max_length=32)
    # When the next downgrade review is due (the end of the evaluation period).
    review_at = models.DateTimeField(null=True, blank=True)
    pin_code = models.CharField(max_length=64, blank=True, default="")
    pin_reason = models.CharField(max_length=255, blank=True, default="")
    pin_expires_at = models.DateTimeField(null=True, blank=True)
    pinned_by = models.CharField(max_length=255, blank=True, default="")
    # The rank's discount as the customer's own voucher code in the store (while it lasts).
    voucher_code = models.CharField(max_length=64, blank=True, default="")
    voucher_rank = models.CharField(max_length=64, blank=True, default="")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        app_label = "saleor_crm"
        indexes = [models.Index(fields=["review_at"], name="member_rank_review")]


class RankChange(models.Model):
    """One change of a customer's rank: from, to, why, under which rules, from which orders."""

    profile = models.ForeignKey(
        CustomerProfile, related_name="rank_changes", on_delete=models.CASCADE
    )
    from_code = models.CharField(max_length=64, blank=True, default="")  # "": the first rank
    to_code = models.CharField(max_length=64)
    reason = models.CharField(max_length=512)
    at = models.DateTimeField()
    rule_version = models.CharField(max_length=32)
    order_ids = models.JSONField(default=list, blank=True)  # the orders the figures counted
    actor = models.CharField(max_length=255, blank=True, default="")  # staff, or "" (the rules)

    class Meta:
        app_label = "saleor_crm"
        ordering = ("at", "pk")
        indexes = [models.Index(fields=["profile", "at"], name="rank_change_profile_at")]


class FreePointsRun(models.Model):
    """One computation of the free points months (`loyalty.point_report_services`).

    It covers every month (store time, `time_zone`) from the ledger's first entry's to
    `last_month`, the month it started in, split into chunks of points account ids that workers
    replay apart. Each chunk writes its own figures (`FreePointsMonth` rows with its `chunk`);
    the chunk that finds none left sums them into the run's rows (`chunk` null) and puts the
    run in force in one transaction, deleting the older runs: readers see a whole run or the
    previous one, never half of one. A failed run keeps its error and is never in force.
    """

    RUNNING = "running"
    OK = "ok"
    FAILED = "failed"

    started_at = models.DateTimeField()  # entries up to the end of `last_month` count
    computed_at = models.DateTimeField(null=True, blank=True)
    time_zone = models.CharField(max_length=64)
    first_month = models.DateField(null=True, blank=True)  # null: the ledger was empty
    last_month = models.DateField()
    chunks = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=8, default=RUNNING)
    error = models.TextField(blank=True, default="")
    in_force = models.BooleanField(default=False)

    class Meta:
        app_label = "saleor_crm"
        constraints = [
            models.UniqueConstraint(
                fields=["in_force"],
                condition=models.Q(in_force=True),
                name="saleor_crm_one_free_points_run_in_force",
            )
        ]


class FreePointsChunk(models.Model):
    """The points account ids [low, high] of a run; `done_at` is set once their figures are
    written."""

    run = models.ForeignKey(FreePointsRun, related_name="chunk_set", on_delete=models.CASCADE)
    low = models.BigIntegerField()
    high = models.BigIntegerField()
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        app_label = "saleor_crm"
        ordering = ("run", "low")
        constraints = [
            models.UniqueConstraint(fields=["run", "low"], name="unique_free_points_chunk"),
        ]


class FreePointsMonth(models.Model):
    """Free points of one month and currency (`point_reports.FreeMonth`): of one chunk's
    customers while the run computes, then of everyone (`chunk` null)."""

    run = models.ForeignKey(FreePointsRun, related_name="+", on_delete=models.CASCADE)
    chunk = models.ForeignKey(
        FreePointsChunk, null=True, blank=True, related_name="+", on_delete=models.CASCADE
    )
    month = models.DateField()  # its first day
    currency = models.CharField(max_length=3, blank=True, default="")  # "": none known
    opening = models.BigIntegerField()
    issued = models.BigIntegerField()
    used = models.BigIntegerField()
    expired = models.BigIntegerField()
    reversed = models.BigIntegerField()
    closing = models.BigIntegerField()

    class Meta:
        app_label = "saleor_crm"
        indexes = [models.Index(fields=["run", "month", "currency"], name="free_points_month")]
