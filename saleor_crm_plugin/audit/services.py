"""Write and read the audit trail. Writers call `record` inside the change's own transaction,
so an event is there exactly when its change is."""

from datetime import datetime

from .models import AuditEvent


def record(
    action: str,
    actor: str,
    at: datetime,
    *,
    profile_id: int | None = None,
    points: int | None = None,
    code: str = "",
    reason: str = "",
    detail: dict | None = None,
) -> AuditEvent:
    if action not in AuditEvent.ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    if not actor:
        raise ValueError("an audit event needs its actor")
    return AuditEvent.objects.create(
        action=action,
        actor=actor,
        at=at,
        profile_id=profile_id,
        points=points,
        code=code,
        reason=reason[:255],
        detail=detail or {},
    )


def record_each(
    action: str, actor: str, at: datetime, profile_ids, *, reason: str = "", detail=None
) -> int:
    """`record` the same event for each of these customers, in one INSERT; return how many."""
    if action not in AuditEvent.ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    if not actor:
        raise ValueError("an audit event needs its actor")
    events = [
        AuditEvent(
            action=action,
            actor=actor,
            at=at,
            profile_id=profile_id,
            reason=reason[:255],
            detail=detail or {},
        )
        for profile_id in profile_ids
    ]
    AuditEvent.objects.bulk_create(events)
    return len(events)


def trail(*, profile_id: int | None = None, actions=None):
    """The events, newest first (a queryset to paginate), optionally of one customer/action."""
    events = AuditEvent.objects.all()
    if profile_id is not None:
        events = events.filter(profile_id=profile_id)
    if actions:
        events = events.filter(action__in=list(actions))
    return events.order_by("-at", "-pk")


def staff_user_id(actor: str) -> str | None:
    """The user id in an actor `staff:21`; None for an app (`staff:app`) or a customer."""
    kind, _, user_id = actor.partition(":")
    return user_id if kind == "staff" and user_id.isdigit() else None


def attach_staff(events, host) -> None:
    """Each event's staff member as the store knows them now (`event.crm_staff`: a
    `host.attributes.StaffMember`, None for an app or a user the store no longer has), read in
    one query for a whole page."""
    ids = {staff_user_id(event.actor) for event in events} - {None}
    members = host.staff_members(ids) if ids else {}
    for event in events:
        event.crm_staff = members.get(staff_user_id(event.actor) or "")
