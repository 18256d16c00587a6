"""The sandbox store's own tables: what Saleor's `User` and `Order` are to the plugin.

These hold personal data (emails, names) because they play the store; the CRM ledger never does.
"""

import secrets

from django.db import models
from django.db.models.fields.json import KeyTransform


class SandboxUser(models.Model):
    email = models.EmailField(unique=True)
    first_name = models.CharField(max_length=256, blank=True, default="")
    last_name = models.CharField(max_length=256, blank=True, default="")
    is_staff = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    # Staff permissions, as Saleor's permission codes ("MANAGE_USERS").
    permissions = models.JSONField(default=list, blank=True)
    api_token = models.CharField(max_length=64, unique=True, null=True, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    private_metadata = models.JSONField(default=dict, blank=True)
    # The default shipping address (Saleor keeps it in its Address table).
    country = models.CharField(max_length=2, blank=True, default="")
    country_area = models.CharField(max_length=128, blank=True, default="")
    city = models.CharField(max_length=256, blank=True, default="")
    # What Saleor's Customer Type is to a user: a slug here (the ranks can set it).
    customer_type = models.CharField(max_length=255, blank=True, default="")
    date_joined = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        app_label = "saleor_crm_sandbox"
        ordering = ("pk",)
        indexes = [
            # The store's external reference (Saleor: an indexed column; here a key of the
            # private metadata): an import looks customers up by it a batch at a time.
            models.Index(
                KeyTransform("external_reference", "private_metadata"),
                name="sandbox_user_external_ref",
            )
        ]

    def __str__(self):
        return self.email

    def issue_token(self) -> str:
        self.api_token = secrets.token_urlsafe(32)
        self.save(update_fields=["api_token"])
        return self.api_token


class SandboxProduct(models.Model):
    """A product of the sandbox store's catalogue: what Saleor's `Product` with its channel
    listings is to the plugin (recommendations offer only what a channel sells)."""

    product_id = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=256)
    # The channels it is published and available for purchase in.
    channels = models.JSONField(default=list)

    class Meta:
        app_label = "saleor_crm_sandbox"
        ordering = ("product_id",)

    def __str__(self):
        return self.name


class SandboxOrder(models.Model):
    """An order of the sandbox store, kept as the snapshot's plain data."""

    order_id = models.CharField(max_length=64, unique=True)
    email = models.EmailField()
    user = models.ForeignKey(SandboxUser, null=True, blank=True, on_delete=models.SET_NULL)
    data = models.JSONField()
    placed_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    # Staff's and apps' keys, as Saleor's `Order.private_metadata` (the CRM writes crm.inserts).
    # A database default too: `store_many` writes the order's other columns only.
    private_metadata = models.JSONField(default=dict, blank=True, db_default={})

    class Meta:
        app_label = "saleor_crm_sandbox"
        ordering = ("placed_at", "order_id")
        indexes = [models.Index(fields=["placed_at", "order_id"])]

    STORED_FIELDS = ("email", "user", "data", "placed_at", "updated_at")

    @classmethod
    def from_snapshot(cls, snapshot, user=None) -> "SandboxOrder":
        """Return an unsaved row holding this snapshot (for `bulk_create`)."""
        from ..customers.snapshots import order_to_dict

        return cls(
            order_id=snapshot.order_id,
            email=snapshot.email,
            user=user,
            data=order_to_dict(snapshot),
            placed_at=snapshot.placed_at,
            updated_at=snapshot.updated_at,
        )

    @classmethod
    def store(cls, snapshot, user=None) -> "SandboxOrder":
        """Save the order's current state in the sandbox store (insert or replace)."""
        row = cls.from_snapshot(snapshot, user)
        order, _ = cls.objects.update_or_create(
            order_id=snapshot.order_id, defaults={f: getattr(row, f) for f in cls.STORED_FIELDS}
        )
        return order

    @classmethod
    def store_many(cls, snapshots_and_users) -> None:
        """Store each (snapshot, user) pair as `store` does, with one INSERT ... ON CONFLICT.

        An order the store already holds as it is is not written again.
        """
        from ..customers.snapshots import order_to_dict
        from ..rows import add_rows

        add_rows(
            cls,
            ["order_id", *cls.STORED_FIELDS],
            [
                (
                    snapshot.order_id,
                    snapshot.email,
                    user.pk if user else None,
                    order_to_dict(snapshot),
                    snapshot.placed_at,
                    snapshot.updated_at,
                )
                for snapshot, user in snapshots_and_users
            ],
            unique=["order_id"],
            update=list(cls.STORED_FIELDS),
        )


class SandboxGiftCard(models.Model):
    """A gift card of the sandbox store (what redeemed points become)."""

    code = models.CharField(max_length=16, unique=True)
    user = models.ForeignKey(SandboxUser, on_delete=models.PROTECT)
    currency = models.CharField(max_length=3)
    initial_balance_amount = models.DecimalField(max_digits=20, decimal_places=3)
    current_balance_amount = models.DecimalField(max_digits=20, decimal_places=3)
    note = models.CharField(max_length=255, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        app_label = "saleor_crm_sandbox"

    @staticmethod
    def new_code() -> str:
        """A code shaped like Saleor's ("ABCD-EFGH-IJKL")."""
        text = secrets.token_hex(6).upper()
        return "-".join(text[i : i + 4] for i in range(0, 12, 4))


class SandboxVoucher(models.Model):
    """A voucher code of the sandbox store (a rank's personal discount)."""

    code = models.CharField(max_length=16, unique=True)
    user = models.ForeignKey(SandboxUser, on_delete=models.CASCADE)
    name = models.CharField(max_length=255)
    percent = models.DecimalField(max_digits=5, decimal_places=2)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        app_label = "saleor_crm_sandbox"


class SandboxSettings(models.Model):
    """What Saleor's `PluginConfiguration` is to the plugin: the settings saved from its pages.

    One row; its values override `settings.CRM_CONFIG` (the sandbox's start-up settings).
    """

    values = models.JSONField(default=dict)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        app_label = "saleor_crm_sandbox"
