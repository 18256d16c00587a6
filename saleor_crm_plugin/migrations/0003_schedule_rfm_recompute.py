"""Register the hourly RFM recompute with django-celery-beat (Saleor's beat scheduler).

Hourly keeps recency current in every store time zone; new orders are rescored at once anyway.
Staff can change the interval or disable the task in django-celery-beat's tables.
"""

from django.db import migrations

TASK_NAME = "saleor-crm: recompute RFM scores"


def register(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every_hour, _ = IntervalSchedule.objects.get_or_create(every=1, period="hours")
    PeriodicTask.objects.get_or_create(
        name=TASK_NAME,
        defaults={"task": "saleor_crm.recompute_rfm", "interval": every_hour, "enabled": True},
    )


def unregister(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=TASK_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("saleor_crm", "0002_rfm_scores"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(register, unregister)]
