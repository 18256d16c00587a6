"""The customer ledger: profiles, their per-currency totals, and the orders behind them.

Personal data stays where the host keeps it: a profile holds the host's user id and, to tie
guest orders together, a keyed digest of the normalized email; never names, emails or addresses.
"""

from django.db import models
from django.db.models import F, Max, Min, Q
from django.db.models.functions import Coalesce

from ..money import DECIMAL_PLACES, MAX_DIGITS


def money_field(**kwargs):
    return models.DecimalField(max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES, **kwargs)


class CustomerProfile(models.Model):
    """One customer: a registered user (`user_id`) or a guest (`email_digest` alone).

    `order_count`, `first_order_at` and `last_order_at` count the orders that count
    (placed, not cancelled, not refunded in full); spend is per currency in `spends`.
    """

    user_id = models.CharField(max_length=64, null=True, blank=True, unique=True)
    email_digest = models.CharField(max_length=64, null=True, blank=True, db_index=True)
    joined_at = models.DateTimeField(null=True, blank=True)
    order_count = models.PositiveIntegerField(default=0)
    first_order_at = models.DateTimeField(null=True, blank=True)
    last_order_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # When the customer is past their usual repurchase interval: the last order plus the
    # average gap between their orders (None with fewer than two counted orders).
    lapse_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # The newest customer snapshot applied (None: only orders have been seen).
    source_updated_at = models.DateTimeField(null=True, blank=True)
    source_fingerprint = models.CharField(max_length=64, blank=True, default="")
    # Set when the customer was deleted in the store: personal data is gone, aggregates stay.
    anonymized_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        app_label = "saleor_crm"
        ordering = ("pk",)
        constraints = [
            models.UniqueConstraint(
                fields=["email_digest"],
                condition=Q(user_id__isnull=True, anonymized_at__isnull=True),
                name="unique_guest_profile_email",
            ),
        ]
        indexes = [
            # Searches filter on the order figures of the customers not deleted: a count of
            # a large selection reads this index alone (index-only scan), never the rows.
            models.Index(
                fields=["last_order_at"],
                include=["order_count", "first_order_at"],
                condition=Q(anonymized_at__isnull=True),
                name="profile_active_orders",
            ),
        ]

    def __str__(self):
        return f"CustomerProfile {self.pk} ({'user ' + self.user_id if self.user_id else 'guest'})"

    @property
    def is_guest(self) -> bool:
        return self.user_id is None


# The profile's figures each spend row copies (`CustomerSpend`): profile field -> copy field.
PROFILE_COPIES = {
    "order_count": "profile_order_count",
    "first_order_at": "profile_first_order_at",
    "last_order_at": "profile_last_order_at",
    "lapse_at": "profile_lapse_at",
}

# A spend row's score fields when the customer is not scored (yet, or any more).
UNSCORED = {"r": None, "f": None, "m": None, "segment": None, "scored_at": None}


class CustomerSpend(models.Model):
    """A customer's standing in one currency: counted orders, spend and RFM scores.

    Never add across currencies. The RFM group of a score is the currency. `r`, `f`, `m` and
    `segment` are null until the customer is scored (the recompute and rescoring write them,
    `customers.ingest` keeps them when the figures change).

    The `profile_*` columns copy the profile's own order figures (all currencies) and whether
    it is active (not anonymized), written whenever the profile's are: a rule segment that
    needs a row in one currency (spend, scores) is then counted from these rows alone,
    without joining a million profiles (`segments.rules.row_currency`).
    """

    # No index of its own: `unique_spend_currency` (profile, currency) serves the lookups.
    profile = models.ForeignKey(
        CustomerProfile, related_name="spends", on_delete=models.CASCADE, db_index=False
    )
    currency = models.CharField(max_length=3)
    order_count = models.PositiveIntegerField(default=0)
    total_spent_amount = money_field(default=0)
    average_order_amount = money_field(default=0)
    first_order_at = models.DateTimeField(null=True, blank=True)
    last_order_at = models.DateTimeField(null=True, blank=True)
    r = models.PositiveSmallIntegerField(null=True, blank=True)
    f = models.PositiveSmallIntegerField(null=True, blank=True)
    m = models.PositiveSmallIntegerField(null=True, blank=True)
    segment = models.CharField(max_length=64, null=True, blank=True)
    scored_at = models.DateTimeField(null=True, blank=True)
    profile_order_count = models.PositiveIntegerField(default=0)
    profile_first_order_at = models.DateTimeField(null=True, blank=True)
    profile_last_order_at = models.DateTimeField(null=True, blank=True)
    profile_lapse_at = models.DateTimeField(null=True, blank=True)
    profile_active = models.BooleanField(default=True)

    class Meta:
        app_label = "saleor_crm"
        ordering = ("profile_id", "currency")
        constraints = [
            models.UniqueConstraint(fields=["profile", "currency"], name="unique_spend_currency"),
        ]
        indexes = [
            # A customer list sorted by spend (or average order) in one currency walks these in
            # order, the profile id breaking ties as the list does, and stops after a page.
            models.Index(
                fields=["currency", "total_spent_amount", "profile"], name="spend_total_sort"
            ),
            models.Index(
                fields=["currency", "average_order_amount", "profile"], name="spend_average_sort"
            ),
            # A segment's members with the figures rules most often combine with it, read by
            # index alone (rules, filters, counts, segment sizes). Scored rows only: the rows of
            # a store not yet scored are not in it, so the first recompute fills it afresh.
            models.Index(
                fields=["currency", "segment"],
                condition=Q(segment__isnull=False),
                include=[
                    "profile",
                    "total_spent_amount",
                    "profile_order_count",
                    "profile_last_order_at",
                    "profile_active",
                ],
                name="spend_segment_members",
            ),
            # A rule's first page walks one currency's rows in profile order and tests each
            # row by index alone, whatever the rule combines (rule_services.members); the
            # R-by-F grid counts a currency's rows from it too.
            models.Index(
                fields=["currency", "profile"],
                include=[
                    "segment",
                    "r",
                    "f",
                    "m",
                    "total_spent_amount",
                    "average_order_amount",
                    "profile_order_count",
                    "profile_first_order_at",
                    "profile_last_order_at",
                    "profile_lapse_at",
                    "profile_active",
                ],
                name="spend_profile_rows",
            ),
        ]

    @property
    def group(self) -> str:
        """The RFM group of the scores: the currency."""
        return self.currency

    @property
    def scored(self) -> bool:
        return self.segment is not None


class OrderRecord(models.Model):
    """One store order as last reconciled from its newest snapshot."""

    order_id = models.CharField(max_length=64, unique=True)
    number = models.CharField(max_length=64, blank=True, default="")
    # No index of its own: the (profile, placed_at) index serves every lookup by profile.
    profile = models.ForeignKey(
        CustomerProfile, related_name="orders", on_delete=models.PROTECT, db_index=False
    )
    user_id = models.CharField(max_length=64, null=True, blank=True)
    email_digest = models.CharField(max_length=64, null=True, blank=True)
    channel = models.CharField(max_length=255)
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=32)
    counts = models.BooleanField(default=False)
    placed_at = models.DateTimeField()
    paid_at = models.DateTimeField(null=True, blank=True)
    refunded_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    fulfilled_at = models.DateTimeField(null=True, blank=True)
    total_gross_amount = money_field()
    total_net_amount = money_field()
    shipping_gross_amount = money_field(default=0)
    shipping_net_amount = money_field(default=0)
    paid_amount = money_field(default=0)
    refunded_amount = money_field(default=0)
    net_spend_amount = money_field(default=0)
    source_updated_at = models.DateTimeField()
    source_fingerprint = models.CharField(max_length=64)
    # The profile the order belongs to by the ownership rule while a merge keeps it on
    # `profile` (the survivor); None: `profile` is its own (`customers.merges`).
    merged_from = models.ForeignKey(
        CustomerProfile,
        null=True,
        blank=True,
        related_name="+",
        on_delete=models.PROTECT,
        db_index=False,
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        app_label = "saleor_crm"
        ordering = ("placed_at", "pk")
        indexes = [
            models.Index(fields=["profile", "placed_at"]),
            models.Index(fields=["placed_at"]),
            models.Index(
                fields=["merged_from"],
                name="order_merged_from",
                condition=Q(merged_from__isnull=False),
            ),
            # Every order event looks for the guest orders of its email (to adopt them).
            models.Index(
                fields=["email_digest"],
                name="order_guest_email",
                condition=Q(user_id__isnull=True),
            ),
            # Rank figures: a customer's counted orders since a window's start (paid since, or
            # placed since while unpaid), their paid state and spend, by index alone
            # (`loyalty.membership.counted_orders`, `in_window`).
            models.Index(
                F("profile"),
                Coalesce("paid_at", "placed_at"),
                # paid_at and placed_at too: PostgreSQL reads a row from an index alone only
                # when the columns inside its expression are in it as they are.
                include=[
                    "paid_at",
                    "placed_at",
                    "currency",
                    "net_spend_amount",
                    "total_gross_amount",
                    "paid_amount",
                    "refunded_amount",
                    "status",
                ],
                condition=Q(counts=True),
                name="order_rank_window",
            ),
        ]

    def __str__(self):
        return f"Order {self.number or self.order_id}"


class OrderLineRecord(models.Model):
    # No index of its own: `unique_order_line` (order, line_id) serves every lookup by order.
    order = models.ForeignKey(
        OrderRecord, related_name="lines", on_delete=models.CASCADE, db_index=False
    )
    line_id = models.CharField(max_length=64)
    sku = models.CharField(max_length=255, null=True, blank=True)
    variant_id = models.CharField(max_length=64, null=True, blank=True)
    product_id = models.CharField(max_length=64, null=True, blank=True)
    category_id = models.CharField(max_length=64, null=True, blank=True)
    product_name = models.CharField(max_length=386, blank=True, default="")
    quantity = models.PositiveIntegerField()
    unit_price_gross_amount = money_field()
    currency = models.CharField(max_length=3)

    class Meta:
        app_label = "saleor_crm"
        ordering = ("order_id", "line_id")
        constraints = [
            models.UniqueConstraint(fields=["order", "line_id"], name="unique_order_line"),
        ]
        indexes = [
            models.Index(fields=["sku"]),
            models.Index(fields=["product_id"]),
            models.Index(fields=["category_id"]),
        ]


class BackfillCheckpoint(models.Model):
    """Where a backfill stopped, so an interrupted run resumes instead of starting over."""

    name = models.CharField(max_length=64, unique=True)
    cursor = models.TextField(blank=True, default="")
    # Where a part of a stage run by several processes ends (its last cursor); "" = the end.
    # (With a database default too: an older version still running while this one migrates
    # inserts checkpoints without it.)
    until = models.TextField(blank=True, default="", db_default="")
    processed = models.PositiveBigIntegerField(default=0)
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        app_label = "saleor_crm"


def profile_id_ranges(chunk_size: int) -> list[tuple[int, int]]:
    """Split the profile ids into ranges of about `chunk_size` ids each (for chunk tasks)."""
    return id_ranges(CustomerProfile, chunk_size)


def id_ranges(model, chunk_size: int) -> list[tuple[int, int]]:
    """Split the ids of a model's rows into ranges of about `chunk_size` ids each, both ends
    included (for chunk tasks)."""
    bounds = model.objects.aggregate(low=Min("id"), high=Max("id"))
    if bounds["low"] is None:
        return []
    return [
        (start, min(start + chunk_size - 1, bounds["high"]))
        for start in range(bounds["low"], bounds["high"] + 1, chunk_size)
    ]
