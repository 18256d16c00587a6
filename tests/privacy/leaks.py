"""Search every table of the CRM app for a person's data: the proof of erasure.

The tables and columns come from Django's registry (every model of the app label
`saleor_crm`, every text, char and JSON column), not from a hand list: a table added later is
searched too.
"""

from django.apps import apps
from django.db import models
from django.db.models import Q, TextField
from django.db.models.functions import Cast

TEXT_FIELDS = (models.CharField, models.TextField, models.JSONField)


def searched_columns() -> list[tuple[type[models.Model], str]]:
    """(model, field name) of every text, char and JSON column of the CRM's tables."""
    return [
        (model, field.name)
        for model in apps.get_app_config("saleor_crm").get_models()
        for field in model._meta.concrete_fields
        if isinstance(field, TEXT_FIELDS)
    ]


def find_personal_data(terms) -> list[tuple[str, str, object, str]]:
    """(table, column, row pk, term) of each CRM row whose column holds one of these texts
    (case-insensitive; JSON columns as their text)."""
    terms = [term for term in terms if term]
    found = []
    for model, name in searched_columns():
        column = f"crm_text_{name}"
        rows = model._base_manager.annotate(**{column: Cast(name, TextField())})
        condition = Q()
        for term in terms:
            condition |= Q(**{f"{column}__icontains": term})
        for pk, text in rows.filter(condition).values_list("pk", column):
            found.extend(
                (model._meta.db_table, name, pk, term)
                for term in terms
                if term.lower() in (text or "").lower()
            )
    return found


def add_copies(profile, email: str, first_name: str, order_id: str, config, capture) -> None:
    """Give a customer what other CRM rows copy of them in a store: a campaign entry whose
    email a server refused quoting the address (as `transports._smtp_outcome` records it), a
    webhook delivery about them (as `messages._deliver_webhook` queues it: the template
    variables hold the first name), package inserts on an order, a staff adjustment, and
    a points adjustment and a rank pin whose reasons staff typed with their first name.
    `capture`: pytest-django's `django_capture_on_commit_callbacks` (the delivery is queued,
    not posted)."""
    from django.db import transaction
    from django.utils import timezone

    from saleor_crm_plugin.audit.models import AuditEvent
    from saleor_crm_plugin.audit.services import record
    from saleor_crm_plugin.campaigns.insert_models import InsertDecision, OrderInsert
    from saleor_crm_plugin.campaigns.models import CampaignFlow, CampaignSend, FlowEntry
    from saleor_crm_plugin.campaigns.transports import enqueue_webhook

    now = timezone.now()
    flow = CampaignFlow.objects.create(slug="welcome", definition={"name": "Welcome"})
    entry = FlowEntry.objects.create(flow=flow, profile=profile, occasion="first", entered_at=now)
    CampaignSend.objects.create(
        key=f"{entry.pk}:0",
        entry=entry,
        flow=flow,
        profile=profile,
        step=0,
        channel="email",
        due_at=now,
        status=CampaignSend.FAILED,
        reason="smtp:550",
        error=f"SMTP 550: 5.1.1 <{email}>: Recipient address rejected ({email})",
    )
    with capture(execute=False), transaction.atomic():
        enqueue_webhook(
            config,
            "flow.step",
            {
                "flow": "welcome",
                "step": 1,
                "profile": profile.pk,
                "user": profile.user_id,
                "variables": {"name": first_name, "points": 102},
            },
            f"{entry.pk}:1",
        )
    decision = InsertDecision.objects.create(
        order_id=order_id, number="1", paid_at=now, decided_at=now, codes="WELCOME"
    )
    OrderInsert.objects.create(decision=decision, code="WELCOME", paid_at=now)
    record(
        AuditEvent.POINTS_ADJUSTED,
        "staff:1",
        now,
        profile_id=profile.pk,
        points=10,
        reason="goodwill for a late parcel",
    )
    # What staff typed about them, naming them (the ledger and the audit repeat it)
    from saleor_crm_plugin.loyalty.membership import pin_rank
    from saleor_crm_plugin.loyalty.services import adjust

    adjust(
        profile.pk,
        30,
        "adjust:privacy-typed",
        now,
        reason=f"{first_name} phoned: the parcel came late",
        actor="staff:1",
    )
    pin_rank(
        config,
        profile,
        config.loyalty.ladder.ranks[-1].code,
        f"{first_name} is a friend of the owner",
        now,
        actor="staff:1",
    )
