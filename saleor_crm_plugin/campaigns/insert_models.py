"""Package inserts decided for paid orders: one decision per order, one row per order and code.

The decision is taken once, when the order is first seen paid (`campaigns.insert_services`):
an order the rules gave nothing still has its decision (no codes), so processing it again
changes nothing whatever the rules or the customer have become since.
"""

from django.db import models
from django.db.models import Q


class InsertDecision(models.Model):
    """The inserts of one paid order, and whether its `crm.inserts` metadata is written."""

    order_id = models.CharField(max_length=64, unique=True)
    number = models.CharField(max_length=64, blank=True, default="")
    # When the order was paid: the picking list's day (store time) is this one's.
    paid_at = models.DateTimeField()
    decided_at = models.DateTimeField()
    # The codes as the order's metadata holds them, comma-separated ("": none).
    codes = models.CharField(max_length=1024, blank=True, default="")
    # When the codes reached the order's private metadata in the store (None: not yet).
    written_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        app_label = "saleor_crm"
        ordering = ("paid_at", "order_id")
        indexes = [
            # the picking list: a day's orders with inserts, in paid order
            models.Index(
                fields=["paid_at", "order_id"], condition=~Q(codes=""), name="insert_picking"
            ),
        ]

    def __str__(self):
        return f"Inserts of order {self.number or self.order_id}: {self.codes or '-'}"

    @property
    def code_list(self) -> list[str]:
        return self.codes.split(",") if self.codes else []


class OrderInsert(models.Model):
    """One insert code one order got (counts per code and day read these rows alone)."""

    decision = models.ForeignKey(
        InsertDecision, related_name="inserts", on_delete=models.CASCADE, db_index=False
    )
    code = models.CharField(max_length=64)
    paid_at = models.DateTimeField()  # the decision's, copied

    class Meta:
        app_label = "saleor_crm"
        ordering = ("paid_at", "code")
        constraints = [
            models.UniqueConstraint(fields=["decision", "code"], name="unique_order_insert"),
        ]
        indexes = [models.Index(fields=["paid_at", "code"], name="insert_counts")]
