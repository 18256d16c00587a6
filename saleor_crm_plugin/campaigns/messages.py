"""Campaign messages: the templates staff edit, rendering for one customer, and delivery of a
batch through a channel (email, LINE, webhook).

A template has a subject, a text part and an HTML part, in Django template syntax. The shipped
ones are files under `templates/saleor_crm/campaigns/<name>/` (a store may also override them
in its own templates folder, as for the subscription emails); staff edit them in the Campaigns
page, which saves a `MessageTemplate` row used from then on.

Variables: `name` (first name), `rank` (the rank's name), `points` (spendable balance),
`expiring_points` and `expiring_on` (within the next 30 days), `voucher_code`,
`voucher_percent`, `voucher_ends_on`, `flow` (its name), `product` (what a restock reminder
is about), `rank_review_on` (when the rank is next reviewed), `unsubscribe_url`.

Every email carries `List-Unsubscribe` (the link) and `List-Unsubscribe-Post:
List-Unsubscribe=One-Click` (RFC 8058), and a Message-ID made from the send's key, so a
message sent twice after a crash is recognisably the same message.
"""

import logging
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime

from django.core.mail import EmailMultiAlternatives
from django.template import Context, Template, TemplateDoesNotExist, TemplateSyntaxError
from django.template.loader import get_template

from ..loyalty.models import MemberRank
from .models import MessageTemplate

logger = logging.getLogger(__name__)

__all__ = ["Rendered", "deliver", "render", "render_for", "save_template", "template_exists"]

FOLDER = "saleor_crm/campaigns"
SHIPPED = (
    "thank_you",
    "review_request",
    "winback",
    "birthday",
    "points_expiring",
    "rank_up",
    "rank_down",
    "rank_down_soon",
    "replenish",
    "newsletter",
)
PARTS = ("subject.txt", "body.txt", "body.html")
EXPIRING_DAYS = 30


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def _shipped(name: str) -> tuple[str, str, str] | None:
    try:
        return tuple(get_template(f"{FOLDER}/{name}/{part}").template.source for part in PARTS)
    except TemplateDoesNotExist:
        return None


def template_source(name: str) -> tuple[str, str, str] | None:
    """(subject, text, html) of a template as it is used now: staff's, else the shipped."""
    row = MessageTemplate.objects.filter(name=name).first()
    if row is not None:
        return row.subject, row.text, row.html
    return _shipped(name)


def template_exists(name: str) -> bool:
    return MessageTemplate.objects.filter(name=name).exists() or _shipped(name) is not None


def template_names() -> list[str]:
    return sorted(set(SHIPPED) | set(MessageTemplate.objects.values_list("name", flat=True)))


def _compile(field: str, source: str) -> Template:
    from .services import CampaignError

    try:
        return Template(source)
    except TemplateSyntaxError as error:
        raise CampaignError(field, f"is not a valid template: {error}") from None


def save_template(name: str, subject: str, text: str, html: str = "") -> MessageTemplate:
    """Save staff's version of a template (each part must compile; nothing is saved if not)."""
    from .services import CampaignError

    name = (name or "").strip()
    if not name or len(name) > 64 or not all(c.isalnum() or c in "-_" for c in name):
        raise CampaignError("name", "use 1-64 letters, digits, '-' or '_'")
    if not (subject or "").strip():
        raise CampaignError("subject", "is required")
    if len(subject) > 255:
        raise CampaignError("subject", "is longer than 255 characters")
    if not (text or "").strip():
        raise CampaignError("text", "is required (the plain-text part every client can show)")
    for field, source in (("subject", subject), ("text", text), ("html", html or "")):
        _compile(field, source)
    row, _ = MessageTemplate.objects.update_or_create(
        name=name, defaults={"subject": subject.strip(), "text": text, "html": html or ""}
    )
    return row


def _compiled(name: str) -> tuple[Template, Template, Template]:
    from .services import CampaignError

    source = template_source(name)
    if source is None:
        raise CampaignError("template", f"there is no template {name!r}")
    return tuple(
        _compile(field, part)
        for field, part in zip(("subject", "text", "html"), source, strict=True)
    )


def render(name: str, variables: dict, compiled: dict | None = None) -> Rendered:
    """Render a template with these variables (missing variables render empty).

    `compiled` (a dict a batch keeps) holds each template read and compiled once for the
    batch: reading and compiling it for every message took a third of a send's time.
    """
    if compiled is None:
        templates = _compiled(name)
    else:
        if name not in compiled:
            compiled[name] = _compiled(name)
        templates = compiled[name]
    subject, text, html = (
        template.render(Context(variables, autoescape=field == "html"))
        for field, template in zip(("subject", "text", "html"), templates, strict=True)
    )
    return Rendered(" ".join(subject.split()), text.strip() + "\n", html.strip())


def variables_for(sends, context, host) -> dict[int, dict]:
    """The template variables of each send (by send pk), read in bulk for the batch."""
    from .services import expiring_of, points_of, rank_of, unsubscribe_token

    profiles = context.profiles
    user_ids = {p.user_id for p in profiles.values() if p.user_id}
    details = host.user_details(user_ids) if user_ids else {}
    ranks = rank_of(profiles)
    reviews = dict(
        MemberRank.objects.filter(profile_id__in=list(profiles)).values_list(
            "profile_id", "review_at"
        )
    )
    ladder = {rank.code: rank.name for rank in context.config.loyalty.ladder.ranks}
    points = points_of(profiles, context.now)
    expiring = expiring_of(profiles, context.now, EXPIRING_DAYS)
    products = _restock_products(sends, context)
    out = {}
    for send in sends:
        profile = profiles[send.profile_id]
        row, flow = context.flows[send.flow_id]
        step = flow.steps[send.step]
        person = details.get(profile.user_id) if profile.user_id else None
        soon = expiring.get(profile.pk)
        out[send.pk] = {
            "name": person.first_name if person else "",
            "rank": ladder.get(ranks.get(profile.pk, ""), ""),
            "points": points.get(profile.pk, 0),
            "expiring_points": soon[0] if soon else 0,
            "expiring_on": soon[1].astimezone(context.config.zone).date() if soon else None,
            "voucher_code": send.voucher_code,
            "voucher_percent": step.voucher_percent,
            "voucher_ends_on": send.voucher_ends_at.astimezone(context.config.zone).date()
            if send.voucher_ends_at
            else None,
            "flow": flow.name,
            "product": products.get(send.entry_id, ""),
            "rank_review_on": reviews[profile.pk].astimezone(context.config.zone).date()
            if reviews.get(profile.pk)
            else None,
            "unsubscribe_url": host.absolute_url(
                f"campaigns/unsubscribe/{unsubscribe_token(profile.pk, row.pk, send.channel)}"
            ),
        }
    return out


def _restock_products(sends, context) -> dict[int, str]:
    """entry id -> the name of the product a restock entry is about."""
    from django.db.models import Max

    from ..customers.models import OrderLineRecord

    wanted = {}
    for send in sends:
        entry = context.entries.get(send.entry_id)
        occasion = entry.occasion if entry is not None else ""
        if occasion.startswith("restock:"):
            wanted[send.entry_id] = occasion.split(":")[1]
    if not wanted:
        return {}
    names = dict(
        OrderLineRecord.objects.filter(product_id__in=set(wanted.values()))
        .values("product_id")
        .annotate(name=Max("product_name"))
        .values_list("product_id", "name")
    )
    return {entry: names.get(product, "") for entry, product in wanted.items()}


def render_for(send, context, host) -> Rendered:
    """One send's message (the preview renders this way too)."""
    _row, flow = context.flows[send.flow_id]
    variables = variables_for([send], context, host)[send.pk]
    return render(flow.steps[send.step].template, variables)


def email_message(key: str, rendered: Rendered, to: str, unsubscribe_url: str, sender: str):
    domain = (sender.rpartition("@")[2] or "localhost").strip(">")
    message = EmailMultiAlternatives(
        rendered.subject,
        rendered.text,
        sender,
        [to],
        headers={
            "List-Unsubscribe": f"<{unsubscribe_url}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "Message-ID": f"<crm-{key.replace(':', '-')}@{domain}>",
        },
    )
    if rendered.html:
        message.attach_alternative(rendered.html, "text/html")
    return message


def _deliver_email(sends, context, host, on_result) -> None:
    """One connection for the batch (opened by the first message, its login tried once)."""
    from .transports import Outcome, email_connection, from_email, send_email

    emails = host.customer_emails([context.profiles[s.profile_id] for s in sends])
    variables = variables_for(sends, context, host)
    sender = from_email(context.config)
    compiled: dict = {}
    with closing(email_connection(context.config)) as connection:
        for send in sends:
            to = emails.get(send.profile_id)
            if not to:
                on_result(send, Outcome(False, "the customer has no email address", "no_address"))
                continue
            _row, flow = context.flows[send.flow_id]
            try:
                rendered = render(flow.steps[send.step].template, variables[send.pk], compiled)
            except Exception as error:
                on_result(send, Outcome(False, str(error), "template"))
                continue
            message = email_message(
                send.key, rendered, to, variables[send.pk]["unsubscribe_url"], sender
            )
            on_result(send, send_email(connection, message))


def _deliver_line(sends, context, host, on_result) -> None:
    from .transports import Outcome, line_push

    key = context.config.line_user_id_key
    user_ids = {context.profiles[s.profile_id].user_id for s in sends} - {None}
    line_ids = host.private_metadata(user_ids, [key]) if user_ids else {}
    variables = variables_for(sends, context, host)
    compiled: dict = {}
    for send in sends:
        user_id = context.profiles[send.profile_id].user_id
        line_id = (line_ids.get(user_id) or {}).get(key) if user_id else None
        if not line_id:
            on_result(
                send, Outcome(False, f"no LINE user id in metadata key {key!r}", "no_address")
            )
            continue
        _row, flow = context.flows[send.flow_id]
        rendered = render(flow.steps[send.step].template, variables[send.pk], compiled)
        on_result(
            send,
            line_push(
                context.config, line_id, [{"type": "text", "text": rendered.text[:5000]}], send.key
            ),
        )


def _deliver_webhook(sends, context, host, on_result) -> None:
    from .transports import Outcome, enqueue_webhook

    if not getattr(context.config, "webhook_url", ""):
        for send in sends:
            on_result(send, Outcome(False, "no webhook URL in the settings", "no_address"))
        return
    variables = variables_for(sends, context, host)
    for send in sends:
        row, flow = context.flows[send.flow_id]
        profile = context.profiles[send.profile_id]
        step = flow.steps[send.step]
        values = variables[send.pk]
        enqueue_webhook(
            context.config,
            "flow.step",
            {
                "flow": row.slug,
                "step": send.step,
                "template": step.template,
                "profile": profile.pk,
                "user": profile.user_id,
                "voucher_code": send.voucher_code,
                "points": send.points,
                "variables": {
                    k: (v.isoformat() if isinstance(v, datetime | type(context.now.date())) else v)
                    for k, v in values.items()
                },
            },
            send.key,
        )
        on_result(send, Outcome(True))


def deliver(channel: str, sends, context, host, on_result) -> None:
    """Send each of these rows on `channel`; `on_result(send, Outcome)` right after each."""
    {"email": _deliver_email, "line": _deliver_line, "webhook": _deliver_webhook}[channel](
        sends, context, host, on_result
    )
