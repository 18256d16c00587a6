"""Register the daily retention task (`saleor-crm: erase old guests`) as a row the store's beat
scheduler reads; it erases nothing until `guest-retention-years` is set."""

from django.apps import apps as global_apps
from django.db import migrations

from saleor_crm_plugin.conf import parse_config
from saleor_crm_plugin.intake.schedule import register_periodic_tasks


def register(apps, schema_editor):
    register_periodic_tasks(parse_config(None), apps)


class Migration(migrations.Migration):
    dependencies = [
        ("saleor_crm", "0042_imports"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
        *([("schedulers", "0001_initial")] if global_apps.is_installed("saleor.schedulers") else []),
    ]

    operations = [migrations.RunPython(register, migrations.RunPython.noop)]
