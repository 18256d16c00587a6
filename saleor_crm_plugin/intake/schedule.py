"""The intake's periodic tasks in django-celery-beat: the drain and the sweep, at the
intervals the plugin's settings give (written when the settings are saved)."""

from ..conf import CRMConfig

DRAIN_TASK = "saleor-crm: record events"
SWEEP_TASK = "saleor-crm: catch-up sweep"


def intake_schedule(config: CRMConfig) -> dict[str, tuple[str, int, str]]:
    """name -> (task, every, period) of the intake's periodic tasks under this config."""
    return {
        DRAIN_TASK: ("saleor_crm.drain_changes", config.drain_seconds, "seconds"),
        SWEEP_TASK: ("saleor_crm.sweep_changes", config.sweep_minutes, "minutes"),
    }


def apply_schedule(config: CRMConfig, interval_model=None, task_model=None) -> int:
    """Register (or re-time) the intake's periodic tasks; return how many rows changed.

    A message older than its interval expires unread: a worker that was busy does not then
    run a queue of drains one after another. A task staff disabled stays disabled.
    """
    if interval_model is None:
        from django_celery_beat.models import IntervalSchedule as interval_model
        from django_celery_beat.models import PeriodicTask as task_model
    changed = 0
    for name, (task, every, period) in intake_schedule(config).items():
        interval, _ = interval_model.objects.get_or_create(every=every, period=period)
        expires = every * {"seconds": 1, "minutes": 60}[period]
        row, created = task_model.objects.get_or_create(
            name=name,
            defaults={"task": task, "interval": interval, "expire_seconds": expires},
        )
        if created:
            changed += 1
        elif row.interval_id != interval.pk or row.expire_seconds != expires:
            row.interval, row.expire_seconds = interval, expires
            row.save()  # save(), not update(): beat notices the change
            changed += 1
    return changed
