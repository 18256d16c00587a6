"""Register every periodic task as a row the store's beat scheduler reads.

Saleor's beat (`saleor.schedulers.schedulers.DatabaseScheduler`) reads only its
`CustomPeriodicTask` rows; 0003-0026 wrote plain django-celery-beat rows, which it never ran.
They are replaced (keeping their schedule and state), and the intake's drain (every 3 seconds)
and catch-up sweep (every 15 minutes) are added.
"""

from django.apps import apps as global_apps
from django.db import migrations

from saleor_crm_plugin.conf import parse_config
from saleor_crm_plugin.intake.schedule import register_periodic_tasks


def register(apps, schema_editor):
    register_periodic_tasks(parse_config(None), apps)


class Migration(migrations.Migration):
    dependencies = [
        ("saleor_crm", "0028_outbox"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
        *([("schedulers", "0001_initial")] if global_apps.is_installed("saleor.schedulers") else []),
    ]

    operations = [migrations.RunPython(register, migrations.RunPython.noop)]
