"""The data-subject export: everything the CRM holds about one customer, and what the store
holds of them (read through the Host), as JSON-safe data; `csv_rows` gives it as
section/field/value rows for the CSV form.

Each table's rows are dumped whole (every column, as `QuerySet.values()` names them), so a
column added later is exported too. A customer whose profile a deletion anonymized is not
exported (there is nobody to export to: the store no longer has them).
"""

import json
from collections.abc import Iterator
from datetime import datetime

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction

from ..audit.models import AuditEvent
from ..audit.services import record
from ..campaigns.insert_models import InsertDecision, OrderInsert
from ..campaigns.models import CampaignSend, FlowEntry, SegmentWatch, Unsubscribe
from ..campaigns.webhooks import WebhookDelivery
from ..conf import CRMConfig
from ..customers.models import CustomerProfile, CustomerSpend, OrderLineRecord, OrderRecord
from ..loyalty.models import MemberRank, PointsAccount, PointsEntry, PointsLot, RankChange
from ..segments.models import RuleSegment
from ..segments.rule_services import members
from ..segments.rules import RuleError
from ..subscriptions.models import Cycle, Subscription, SubscriptionEvent, SubscriptionLine

__all__ = ["CSV_COLUMNS", "FORMAT", "csv_rows", "export_customer_data", "subject_data"]

FORMAT = "saleor-crm/data-subject-export/1"
CSV_COLUMNS = ("section", "field", "value")


def _rows(queryset, *, without=()) -> list[dict]:
    return [
        {key: value for key, value in row.items() if key not in without}
        for row in queryset.values()
    ]


def _grouped(queryset, key: str) -> dict:
    groups: dict = {}
    for row in _rows(queryset):
        groups.setdefault(row[key], []).append(row)
    return groups


def _orders(profile: CustomerProfile) -> list[dict]:
    orders = _rows(OrderRecord.objects.filter(profile=profile).order_by("placed_at", "pk"))
    lines = _grouped(
        OrderLineRecord.objects.filter(order__profile=profile).order_by("order_id", "pk"),
        "order_id",
    )
    for row in orders:
        row["lines"] = lines.get(row["id"], [])
    return orders


def _rule_segments(profile: CustomerProfile, config: CRMConfig, now: datetime, host) -> list:
    """The saved rule segments the customer is in now (one indexed lookup a segment)."""
    names = []
    for segment in RuleSegment.objects.order_by("name"):
        try:
            if members(segment.rule, config, now, host).filter(pk=profile.pk).exists():
                names.append(segment.name)
        except RuleError:  # a rule the settings no longer allow: in no one's export
            continue
    return names


def _points(profile: CustomerProfile) -> dict:
    account = PointsAccount.objects.filter(profile=profile)
    return {
        "account": next(iter(_rows(account)), None),
        "entries": _rows(PointsEntry.objects.filter(account__profile=profile).order_by("at", "pk")),
        "lots": _rows(PointsLot.objects.filter(account__profile=profile).order_by("pk")),
    }


def _subscriptions(profile: CustomerProfile) -> list[dict]:
    subscriptions = _rows(Subscription.objects.filter(profile=profile).order_by("pk"))
    ids = [row["id"] for row in subscriptions]
    parts = {
        "lines": _grouped(
            SubscriptionLine.objects.filter(subscription_id__in=ids).order_by("pk"),
            "subscription_id",
        ),
        "cycles": _grouped(
            Cycle.objects.filter(subscription_id__in=ids).order_by("sequence"), "subscription_id"
        ),
        "events": _grouped(
            SubscriptionEvent.objects.filter(subscription_id__in=ids).order_by("at", "pk"),
            "subscription_id",
        ),
    }
    for row in subscriptions:
        for name, groups in parts.items():
            row[name] = groups.get(row["id"], [])
    return subscriptions


def _inserts(order_ids: list[str]) -> list[dict]:
    decisions = _rows(InsertDecision.objects.filter(order_id__in=order_ids).order_by("paid_at"))
    codes = _grouped(
        OrderInsert.objects.filter(decision_id__in=[row["id"] for row in decisions]),
        "decision_id",
    )
    for row in decisions:
        row["inserts"] = codes.get(row["id"], [])
    return decisions


def subject_data(profile: CustomerProfile, config: CRMConfig, host, now: datetime) -> dict:
    """Everything the CRM and the store hold about this customer, as JSON-safe data."""
    orders = _orders(profile)
    order_ids = [row["order_id"] for row in orders]
    data = {
        "format": FORMAT,
        "exported_at": now,
        "customer": _rows(CustomerProfile.objects.filter(pk=profile.pk))[0],
        # what the store keeps of the person (the CRM keeps ids, digests and figures)
        "store": host.personal_data(profile.user_id, order_ids),
        "orders": orders,
        "spend": _rows(CustomerSpend.objects.filter(profile=profile).order_by("currency")),
        "predictions": _rows(profile.predictions.order_by("currency")),
        "rule_segments": _rule_segments(profile, config, now, host),
        "rank": next(iter(_rows(MemberRank.objects.filter(profile=profile))), None),
        "rank_history": _rows(RankChange.objects.filter(profile=profile).order_by("at", "pk")),
        "points": _points(profile),
        "subscriptions": _subscriptions(profile),
        "campaigns": {
            "entries": _rows(FlowEntry.objects.filter(profile=profile).order_by("entered_at")),
            "sends": _rows(CampaignSend.objects.filter(profile=profile).order_by("due_at", "pk")),
            "unsubscribes": _rows(Unsubscribe.objects.filter(profile=profile).order_by("at")),
            "segment_watches": _rows(SegmentWatch.objects.filter(profile=profile)),
            "webhook_deliveries": _rows(
                WebhookDelivery.objects.filter(payload__profile=profile.pk).order_by("created_at")
            ),
        },
        "package_inserts": _inserts(order_ids),
        "audit": _rows(AuditEvent.objects.filter(profile=profile).order_by("at", "pk")),
    }
    return json.loads(json.dumps(data, cls=DjangoJSONEncoder))


def export_customer_data(
    profile: CustomerProfile, config: CRMConfig, host, actor: str, now: datetime, form: str
) -> dict:
    """Write the export to the audit trail (who, when, in which form) and return it."""
    with transaction.atomic():
        record(
            AuditEvent.CUSTOMER_DATA_EXPORTED,
            actor,
            now,
            profile_id=profile.pk,
            detail={"format": form},
        )
        return subject_data(profile, config, host, now)


def _flat(value, path: str) -> Iterator[tuple[str, object]]:
    if isinstance(value, dict):
        if not value:
            yield path, ""
        for key, item in value.items():
            yield from _flat(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        if not value:
            yield path, ""
        for index, item in enumerate(value):
            yield from _flat(item, f"{path}.{index}" if path else str(index))
    else:
        yield path, value


def csv_rows(data: dict) -> Iterator[tuple[str, str, object]]:
    """(section, field, value) rows of an export: the field is the path below the section
    (`0.lines.1.sku`: the first order's second line's SKU); null is an empty cell, true and
    false as JSON spells them."""
    for section, value in data.items():
        for field, item in _flat(value, ""):
            if item is None:
                item = ""
            elif isinstance(item, bool):
                item = "true" if item else "false"
            yield section, field, item
