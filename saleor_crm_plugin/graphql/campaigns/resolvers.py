"""Resolvers of the campaign queries (staff)."""

from django.db.models import Count, IntegerField, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from ...campaigns import flows as flow_rules
from ...campaigns import messages, preview, services
from ...campaigns.models import CampaignFlow, CampaignSend, FlowEntry, MessageTemplate
from ...campaigns.services import CampaignError
from ...money import quantize_amount
from ..core.errors import InputError
from ..core.pagination import attach_emails, connection_from_queryset
from ..core.types import money
from .types import (
    CRMCampaignAttribution,
    CRMCampaignBuiltIn,
    CRMCampaignMessage,
    CRMCampaignPreview,
    CRMCampaignPreviewDay,
    CRMCampaignReport,
    CRMCampaignSendConnection,
    CRMCampaignStepReport,
    CRMMessageTemplate,
    campaign_lift,
    reason_counts,
)
from .utils import flow_by_slug, profile_by_id


def _count(queryset) -> Coalesce:
    counted = queryset.filter(flow=OuterRef("pk")).values("flow").annotate(n=Count("pk"))
    return Coalesce(Subquery(counted.values("n"), output_field=IntegerField()), 0)


def flows_with_counts():
    """Every flow with its entries and sent messages counted in the same query."""
    return CampaignFlow.objects.annotate(
        crm_entered=_count(FlowEntry.objects.all()),
        crm_sent=_count(CampaignSend.objects.filter(status=CampaignSend.SENT)),
    ).order_by("slug")


def resolve_flow(slug: str) -> CampaignFlow | None:
    return flows_with_counts().filter(slug=(slug or "").strip()).first()


def resolve_built_ins() -> list[CRMCampaignBuiltIn]:
    installed = set(CampaignFlow.objects.values_list("slug", flat=True)) | set(
        CampaignFlow.objects.exclude(built_in="").values_list("built_in", flat=True)
    )
    return [
        CRMCampaignBuiltIn(
            name=name,
            title=definition["name"],
            trigger=definition["trigger"]["kind"],
            definition=definition,
        )
        for name, definition in flow_rules.BUILT_IN.items()
        if name not in installed
    ]


def resolve_report(info, slug: str) -> CRMCampaignReport | None:
    row = CampaignFlow.objects.filter(slug=(slug or "").strip()).first()
    if row is None:
        return None
    report = services.flow_report(row, timezone.now(), info.context.host.config())
    try:
        steps = flow_rules.parse_flow(row.definition).steps
    except flow_rules.FlowError:
        steps = ()
    lifts = sorted(report["lift"].items(), key=lambda item: (item[0] != "", item[0]))
    result = CRMCampaignReport(
        flow=row.slug,
        entered=report["entered"],
        exited=reason_counts(report["exited"]),
        unsubscribed=report["unsubscribed"],
        steps=[
            CRMCampaignStepReport(
                step=counts["step"],
                channel=counts["channel"],
                template=steps[counts["step"]].template if counts["step"] < len(steps) else None,
                pending=counts.get(CampaignSend.PENDING, 0) + counts.get(CampaignSend.SENDING, 0),
                sent=counts.get(CampaignSend.SENT, 0),
                held=counts.get(CampaignSend.HELD, 0),
                skipped=counts.get(CampaignSend.SKIPPED, 0),
                failed=counts.get(CampaignSend.FAILED, 0),
                reasons=reason_counts(counts["reasons"]),
            )
            for counts in report["steps"]
        ],
        window_days=report["window_days"],
        lift=[campaign_lift(currency, figures) for currency, figures in lifts],
        attribution=[
            CRMCampaignAttribution(
                currency=currency,
                orders=figures["orders"],
                revenue=money(quantize_amount(figures["revenue"], currency), currency),
            )
            for currency, figures in sorted(report["attributed"].items())
        ],
    )
    result.row = row  # sendsPerDay reads the flow's ledger
    return result


def resolve_sends(info, slug: str, status: str | None, args: dict):
    row = CampaignFlow.objects.filter(slug=(slug or "").strip()).first()
    if row is None:
        raise InputError("slug", f"there is no flow {slug!r}")
    sends = CampaignSend.objects.filter(flow=row)
    if status is not None:
        sends = sends.filter(status=status)
    sends = sends.select_related("profile").order_by("-due_at", "-pk")
    return connection_from_queryset(
        sends,
        args,
        CRMCampaignSendConnection,
        prepare_page=lambda page: attach_emails(page, info.context.host),
    )


def resolve_preview(info, slug, definition, kind, customer) -> CRMCampaignPreview:
    host = info.context.host
    config = host.config()
    now = timezone.now()
    if not slug and definition is None:
        raise InputError("slug", "give the flow's slug, or a definition to preview")
    try:
        row = flow_by_slug(slug) if slug else None
        flow = services.parse(definition if definition is not None else row.definition, config)
        kind = row.kind if row is not None else kind
        services.check_kind(kind, flow)
        profile = profile_by_id(customer)
        entering = preview.preview_entering(flow, now, config, host, row=row, kind=kind)
        rendered = preview.render_steps(flow, now, config, host, row=row, profile=profile)
    except CampaignError as error:
        raise InputError(error.field, error.message) from error
    return CRMCampaignPreview(
        today=entering.today,
        days=[CRMCampaignPreviewDay(day=day, customers=n) for day, n in entering.days],
        segment_members=entering.segment_members,
        messages=[
            CRMCampaignMessage(
                step=index,
                channel=step.channel,
                template=step.template,
                subject=message.subject,
                text=message.text,
                html=message.html,
            )
            for index, (step, message) in enumerate(zip(flow.steps, rendered, strict=True))
        ],
    )


def resolve_templates() -> list[CRMMessageTemplate]:
    edited = {row.name: row for row in MessageTemplate.objects.all()}
    found = []
    for name in messages.template_names():
        row = edited.get(name)
        subject, text, html = (
            (row.subject, row.text, row.html) if row else messages.template_source(name)
        )
        found.append(
            CRMMessageTemplate(
                name=name, subject=subject, text=text, html=html, edited=row is not None
            )
        )
    return found


def template_of(name: str) -> CRMMessageTemplate:
    row = MessageTemplate.objects.get(name=name)
    return CRMMessageTemplate(
        name=row.name, subject=row.subject, text=row.text, html=row.html, edited=True
    )
