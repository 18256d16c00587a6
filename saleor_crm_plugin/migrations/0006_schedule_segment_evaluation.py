"""Register the hourly re-evaluation of saved rule segments with django-celery-beat."""

from django.db import migrations

TASK_NAME = "saleor-crm: re-evaluate rule segments"


def register(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every_hour, _ = IntervalSchedule.objects.get_or_create(every=1, period="hours")
    PeriodicTask.objects.get_or_create(
        name=TASK_NAME,
        defaults={"task": "saleor_crm.evaluate_segments", "interval": every_hour, "enabled": True},
    )


def unregister(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=TASK_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [("saleor_crm", "0005_profile_lapse_at")]

    operations = [migrations.RunPython(register, unregister)]
