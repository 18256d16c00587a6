"""The sandbox store's own tables: what Saleor's `User` and `Order` are to the plugin.

These hold personal data (emails, names) because they play the store; the CRM ledger never does.
"""

import secrets

from django.db import models


class SandboxUser(models.Model):
    email = models.EmailField(unique=True)
    first_name = models.CharField(max_length=256, blank=True, default="")
    last_name = models.CharField(max_length=256, blank=True, default="")
    is_staff = models.BooleanField(default=False)
    # Staff permissions, as Saleor's permission codes ("MANAGE_USERS").
    permissions = models.JSONField(default=list, blank=True)
    api_token = models.CharField(max_length=64, unique=True, null=True, blank=True)
    private_metadata = models.JSONField(default=dict, blank=True)
    date_joined = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        app_label = "saleor_crm_sandbox"
        ordering = ("pk",)

    def __str__(self):
        return self.email

    def issue_token(self) -> str:
        self.api_token = secrets.token_urlsafe(32)
        self.save(update_fields=["api_token"])
        return self.api_token


class SandboxOrder(models.Model):
    """An order of the sandbox store, kept as the snapshot's plain data."""

    order_id = models.CharField(max_length=64, unique=True)
    email = models.EmailField()
    user = models.ForeignKey(SandboxUser, null=True, blank=True, on_delete=models.SET_NULL)
    data = models.JSONField()
    placed_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        app_label = "saleor_crm_sandbox"
        ordering = ("placed_at", "order_id")
        indexes = [models.Index(fields=["placed_at", "order_id"])]
