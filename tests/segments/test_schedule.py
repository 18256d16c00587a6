import pytest
from celery import current_app
from django_celery_beat.models import PeriodicTask

pytestmark = pytest.mark.django_db


def test_the_recompute_is_scheduled_hourly():
    # when
    task = PeriodicTask.objects.get(name="saleor-crm: recompute RFM scores")

    # then
    assert task.task == "saleor_crm.recompute_rfm"
    assert (task.interval.every, task.interval.period) == (1, "hours")
    assert task.enabled is True
    assert "saleor_crm.recompute_rfm" in current_app.tasks
