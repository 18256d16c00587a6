"""Register the hourly points expiry and rank review with django-celery-beat."""

from django.db import migrations

TASKS = {
    "saleor-crm: expire points": "saleor_crm.expire_points",
    "saleor-crm: review ranks": "saleor_crm.review_ranks",
}


def register(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every_hour, _ = IntervalSchedule.objects.get_or_create(every=1, period="hours")
    for name, task in TASKS.items():
        PeriodicTask.objects.get_or_create(
            name=name, defaults={"task": task, "interval": every_hour, "enabled": True}
        )


def unregister(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name__in=TASKS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("saleor_crm", "0014_points_lots_and_ranks"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(register, unregister)]
