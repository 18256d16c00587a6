"""The plugin's periodic tasks, as rows of the beat scheduler the store runs.

Saleor runs beat with its own `saleor.schedulers.schedulers.DatabaseScheduler`, which reads
only `CustomPeriodicTask` rows (a child table of django-celery-beat's `PeriodicTask`): plain
`PeriodicTask` rows, which django-celery-beat's own scheduler reads, are invisible to it. So
inside Saleor every task is a `CustomPeriodicTask` (both schedulers then see it), and in the
sandbox a `PeriodicTask`. A plain row an earlier version left is replaced, keeping its
schedule and whether it is enabled.

The hourly tasks and the every-minute webhook retries keep whatever schedule staff gave them; the intake's drain and sweep, and the
daily analytics (at the `analytics-hour` of the store's zone, a crontab), follow the plugin's
settings (re-timed when the settings are saved).
"""

from ..conf import CRMConfig

DRAIN_TASK = "saleor-crm: record events"
SWEEP_TASK = "saleor-crm: catch-up sweep"
HOURLY = {
    "saleor-crm: recompute RFM scores": "saleor_crm.recompute_rfm",
    "saleor-crm: re-evaluate rule segments": "saleor_crm.evaluate_segments",
    "saleor-crm: expire points": "saleor_crm.expire_points",
    "saleor-crm: review ranks": "saleor_crm.review_ranks",
    "saleor-crm: renew subscriptions": "saleor_crm.renew_subscriptions",
    "saleor-crm: decide campaign entries": "saleor_crm.decide_campaigns",
}
DAILY = {
    "saleor-crm: refit predictions": "saleor_crm.refit_predictions",
    "saleor-crm: compute basket pairs": "saleor_crm.compute_baskets",
    "saleor-crm: compute reports": "saleor_crm.compute_reports",
    "saleor-crm: erase old guests": "saleor_crm.erase_old_guests",
    "saleor-crm: find duplicates": "saleor_crm.find_duplicates",
    "saleor-crm: compute free points months": "saleor_crm.compute_free_points_months",
}
# Every minute, a message older than that expiring unread: the campaign messages due, the
# webhooks due again.
MINUTELY = {
    "saleor-crm: send campaign messages": "saleor_crm.dispatch_campaigns",
    "saleor-crm: retry webhooks": "saleor_crm.retry_webhooks",
}
_SECONDS = {"seconds": 1, "minutes": 60, "hours": 3600}


def intake_schedule(config: CRMConfig) -> dict[str, tuple[str, int, str]]:
    """name -> (task, every, period) of the intake's periodic tasks under this config."""
    return {
        DRAIN_TASK: ("saleor_crm.drain_changes", config.drain_seconds, "seconds"),
        SWEEP_TASK: ("saleor_crm.sweep_changes", config.sweep_minutes, "minutes"),
    }


def _models(apps):
    if apps is None:
        from django.apps import apps
    plain = apps.get_model("django_celery_beat", "PeriodicTask")
    try:  # inside Saleor: the rows its scheduler reads
        task_model = apps.get_model("schedulers", "CustomPeriodicTask")
    except LookupError:
        task_model = plain
    beat = "django_celery_beat"
    return (
        apps.get_model(beat, "IntervalSchedule"),
        apps.get_model(beat, "CrontabSchedule"),
        task_model,
        plain,
    )


def _daily(crontab_model, config: CRMConfig):
    """The crontab of the daily tasks: minute 0 of the analytics hour in the store's zone."""
    crontab, _ = crontab_model.objects.get_or_create(
        minute="0",
        hour=str(config.analytics_hour),
        day_of_week="*",
        day_of_month="*",
        month_of_year="*",
        timezone=config.store_time_zone,
    )
    return crontab


def register_periodic_tasks(config: CRMConfig, apps=None) -> int:
    """Create, convert or re-time the plugin's periodic tasks; return how many rows changed.

    `apps`: a migration's app registry (None: the running one). A message older than its
    interval expires unread, so a worker that was busy does not then run a queue of drains.
    """
    interval_model, crontab_model, task_model, plain_model = _models(apps)
    # name -> (task, schedule fields, expires, whether it follows the settings)
    wanted = {}
    for name, task in HOURLY.items():
        interval, _ = interval_model.objects.get_or_create(every=1, period="hours")
        wanted[name] = (task, {"interval_id": interval.pk, "crontab_id": None}, None, False)
    for name, task in MINUTELY.items():
        interval, _ = interval_model.objects.get_or_create(every=1, period="minutes")
        wanted[name] = (task, {"interval_id": interval.pk, "crontab_id": None}, 60, False)
    daily = _daily(crontab_model, config)
    for name, task in DAILY.items():
        wanted[name] = (task, {"interval_id": None, "crontab_id": daily.pk}, None, True)
    for name, (task, every, period) in intake_schedule(config).items():
        interval, _ = interval_model.objects.get_or_create(every=every, period=period)
        schedule = {"interval_id": interval.pk, "crontab_id": None}
        wanted[name] = (task, schedule, every * _SECONDS[period], True)
    changed = 0
    for name, (task, schedule, expires, follows_settings) in wanted.items():
        row = task_model.objects.filter(name=name).first()
        if row is None:
            old = plain_model.objects.filter(name=name).first()
            fields = {"task": task, **schedule, "expire_seconds": expires}
            if old is not None:  # from an earlier version: keep its state, and its timing
                fields["enabled"] = old.enabled  # unless the settings give it
                if not follows_settings:
                    fields.update(interval_id=old.interval_id, crontab_id=old.crontab_id)
                old.delete()
            task_model.objects.create(name=name, **fields)
            changed += 1
        elif follows_settings and (
            (row.interval_id, row.crontab_id, row.expire_seconds)
            != (schedule["interval_id"], schedule["crontab_id"], expires)
        ):
            row.interval_id, row.crontab_id = schedule["interval_id"], schedule["crontab_id"]
            row.expire_seconds = expires
            row.save()  # save(), not update(): beat notices the change
            changed += 1
    return changed
