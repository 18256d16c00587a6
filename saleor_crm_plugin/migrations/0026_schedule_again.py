"""Register the plugin's periodic tasks again, after Saleor's `schedulers.0001_initial`.

That migration empties django-celery-beat's PeriodicTask table. On a fresh Saleor database it
may run after 0003, 0006, 0015 and 0019 registered our tasks, and they were gone. Rows that
exist (a task staff disabled or re-timed) are kept as they are.
"""

from django.apps import apps as global_apps
from django.db import migrations

TASKS = {
    "saleor-crm: recompute RFM scores": "saleor_crm.recompute_rfm",
    "saleor-crm: re-evaluate rule segments": "saleor_crm.evaluate_segments",
    "saleor-crm: expire points": "saleor_crm.expire_points",
    "saleor-crm: review ranks": "saleor_crm.review_ranks",
    "saleor-crm: renew subscriptions": "saleor_crm.renew_subscriptions",
}


def register(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every_hour, _ = IntervalSchedule.objects.get_or_create(every=1, period="hours")
    for name, task in TASKS.items():
        PeriodicTask.objects.get_or_create(
            name=name, defaults={"task": task, "interval": every_hour, "enabled": True}
        )


class Migration(migrations.Migration):
    dependencies = [
        ("saleor_crm", "0025_audit_event"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
        # Saleor's wipe of the table, where Saleor is the host (the sandbox has no such app)
        *([("schedulers", "0001_initial")] if global_apps.is_installed("saleor.schedulers") else []),
    ]

    operations = [migrations.RunPython(register, migrations.RunPython.noop)]
