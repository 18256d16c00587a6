"""What campaigns keep: the flows staff configure, who entered them, the send ledger, the
message templates staff edit, and the customers who unsubscribed.

The send ledger is the exactly-once record: one row per entry and step (`key`), created when the
customer enters, claimed by one worker when due, marked `sent` right after the channel accepted
it. Nothing personal is copied here: addresses are read from the store when a message goes out.
"""

from django.db import models

from ..customers.models import CustomerProfile


class CampaignFlow(models.Model):
    """A flow (シナリオ) or a one-off segment send, as `campaigns.flows.parse_flow` validates.

    `built_in` names the template it was installed from ("" for the store's own).
    """

    FLOW, BROADCAST = "flow", "broadcast"

    slug = models.SlugField(max_length=64, unique=True)
    kind = models.CharField(max_length=16, default=FLOW)
    definition = models.JSONField()
    built_in = models.CharField(max_length=64, blank=True, default="")
    enabled = models.BooleanField(default=False)
    enabled_at = models.DateTimeField(null=True, blank=True)
    # The last store-local day whose entries were decided (a missed day is decided later).
    decided_through = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        app_label = "saleor_crm"
        ordering = ("slug",)

    def __str__(self):
        return self.slug


class FlowEntry(models.Model):
    """A customer entering a flow once for one occasion (their first order, the dormancy after
    one last order, a birthday year, an expiry date, a segment entry day ...).

    `control`: held back (the flow's control group); their steps are recorded as `held` and
    never sent, so the report compares them with the messaged customers.
    """

    flow = models.ForeignKey(CampaignFlow, related_name="entries", on_delete=models.CASCADE)
    profile = models.ForeignKey(
        CustomerProfile, related_name="flow_entries", on_delete=models.CASCADE
    )
    occasion = models.CharField(max_length=64)
    entered_at = models.DateTimeField()
    control = models.BooleanField(default=False)
    exited_at = models.DateTimeField(null=True, blank=True)
    exit_reason = models.CharField(max_length=32, blank=True, default="")

    class Meta:
        app_label = "saleor_crm"
        constraints = [
            models.UniqueConstraint(
                fields=["flow", "profile", "occasion"], name="unique_flow_entry"
            ),
        ]
        indexes = [models.Index(fields=["flow", "entered_at"])]


class CampaignSend(models.Model):
    """One step of one entry: due, then sent, held (control), skipped or failed, once."""

    PENDING, SENDING, SENT = "pending", "sending", "sent"
    HELD, SKIPPED, FAILED = "held", "skipped", "failed"

    key = models.CharField(max_length=96, unique=True)  # "<entry id>:<step>"
    entry = models.ForeignKey(FlowEntry, related_name="sends", on_delete=models.CASCADE)
    flow = models.ForeignKey(CampaignFlow, related_name="sends", on_delete=models.CASCADE)
    profile = models.ForeignKey(
        CustomerProfile, related_name="campaign_sends", on_delete=models.CASCADE
    )
    step = models.PositiveSmallIntegerField()
    channel = models.CharField(max_length=16)
    due_at = models.DateTimeField()
    status = models.CharField(max_length=16, default=PENDING)
    reason = models.CharField(max_length=64, blank=True, default="")  # why skipped or failed
    error = models.TextField(blank=True, default="")
    claim = models.CharField(max_length=32, blank=True, default="")
    claimed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    sent_at = models.DateTimeField(null=True, blank=True)
    voucher_code = models.CharField(max_length=64, blank=True, default="")
    voucher_ends_at = models.DateTimeField(null=True, blank=True)
    points = models.IntegerField(default=0)

    class Meta:
        app_label = "saleor_crm"
        indexes = [
            models.Index(
                fields=["due_at", "id"],
                name="crm_send_pending_due",
                condition=models.Q(status__in=["pending", "sending"]),
            ),
            models.Index(fields=["profile", "sent_at"]),
            models.Index(fields=["flow", "step", "status"]),
        ]


class SegmentWatch(models.Model):
    """The members a segment-triggered flow saw at its last decision: tomorrow's newcomers
    enter, and those gone have left the segment (an exit rule)."""

    flow = models.ForeignKey(CampaignFlow, related_name="watched", on_delete=models.CASCADE)
    profile = models.ForeignKey(CustomerProfile, related_name="+", on_delete=models.CASCADE)

    class Meta:
        app_label = "saleor_crm"
        constraints = [
            models.UniqueConstraint(fields=["flow", "profile"], name="unique_segment_watch"),
        ]


class MessageTemplate(models.Model):
    """A message staff edited (Django template syntax); the shipped file is used until then."""

    name = models.SlugField(max_length=64, unique=True)
    subject = models.CharField(max_length=255)
    text = models.TextField()
    html = models.TextField(blank=True, default="")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        app_label = "saleor_crm"
        ordering = ("name",)


class Unsubscribe(models.Model):
    """A customer who said no to marketing on a channel: by profile, and by the email's digest
    so a guest stays unsubscribed (the digest is not the address)."""

    profile = models.ForeignKey(
        CustomerProfile, related_name="unsubscribes", on_delete=models.CASCADE
    )
    channel = models.CharField(max_length=16)
    at = models.DateTimeField()
    source = models.CharField(max_length=32)  # link, one_click, staff
    flow = models.ForeignKey(
        CampaignFlow, null=True, blank=True, related_name="+", on_delete=models.SET_NULL
    )

    class Meta:
        app_label = "saleor_crm"
        constraints = [
            models.UniqueConstraint(fields=["profile", "channel"], name="unique_unsubscribe"),
        ]
