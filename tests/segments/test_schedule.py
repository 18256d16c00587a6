import importlib

import pytest
from celery import current_app
from django.apps import apps
from django_celery_beat.models import PeriodicTask

pytestmark = pytest.mark.django_db

migration = importlib.import_module("saleor_crm_plugin.migrations.0003_schedule_rfm_recompute")


def test_the_migration_schedules_the_recompute_hourly_once():
    # given: transactional tests flush migration rows, so the migration's step runs here again
    PeriodicTask.objects.filter(name=migration.TASK_NAME).delete()

    # when
    migration.register(apps, None)
    migration.register(apps, None)

    # then
    task = PeriodicTask.objects.get(name=migration.TASK_NAME)
    assert task.task == "saleor_crm.recompute_rfm"
    assert (task.interval.every, task.interval.period) == (1, "hours")
    assert task.enabled is True
    assert "saleor_crm.recompute_rfm" in current_app.tasks
    assert [op.code for op in migration.Migration.operations] == [migration.register]


evaluation = importlib.import_module(
    "saleor_crm_plugin.migrations.0006_schedule_segment_evaluation"
)


def test_the_migration_schedules_segment_evaluation_hourly():
    # given
    PeriodicTask.objects.filter(name=evaluation.TASK_NAME).delete()

    # when
    evaluation.register(apps, None)
    evaluation.register(apps, None)

    # then
    task = PeriodicTask.objects.get(name=evaluation.TASK_NAME)
    assert task.task == "saleor_crm.evaluate_segments"
    assert (task.interval.every, task.interval.period) == (1, "hours")
    assert "saleor_crm.evaluate_segments" in current_app.tasks
