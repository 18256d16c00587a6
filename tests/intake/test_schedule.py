"""The periodic tasks as beat rows: the daily analytics follow the analytics-hour setting."""

import pytest
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from saleor_crm_plugin.conf import parse_config
from saleor_crm_plugin.intake.schedule import DAILY, HOURLY, register_periodic_tasks

pytestmark = pytest.mark.django_db

REFIT = "saleor-crm: refit predictions"


def test_the_daily_analytics_run_at_the_configured_hour_of_the_store():
    # given: the rows as the migrations left them, one hourly task re-timed by staff
    register_periodic_tasks(parse_config(None))
    every_two_hours, _ = IntervalSchedule.objects.get_or_create(every=2, period="hours")
    PeriodicTask.objects.filter(name="saleor-crm: expire points").update(interval=every_two_hours)
    PeriodicTask.objects.filter(name=REFIT).update(enabled=False)

    # when: the store says 05:00 in Tokyo, twice
    config = parse_config({"analytics-hour": 5, "store-time-zone": "Asia/Tokyo"})
    changed = register_periodic_tasks(config)
    again = register_periodic_tasks(config)

    # then: every daily task moved to a crontab at 05:00 Tokyo, once; staff's choices stay
    assert (changed, again) == (len(DAILY), 0)
    refit = PeriodicTask.objects.get(name=REFIT)
    assert refit.interval is None
    assert (refit.crontab.minute, refit.crontab.hour, str(refit.crontab.timezone)) == (
        "0",
        "5",
        "Asia/Tokyo",
    )
    assert refit.enabled is False
    assert PeriodicTask.objects.get(name="saleor-crm: expire points").interval == every_two_hours
    assert set(HOURLY) | set(DAILY) <= set(PeriodicTask.objects.values_list("name", flat=True))


def test_the_analytics_hour_must_be_an_hour_of_the_day():
    from saleor_crm_plugin.conf import ConfigError

    with pytest.raises(ConfigError) as raised:
        parse_config({"analytics-hour": 24})
    assert (raised.value.field, raised.value.message) == (
        "analytics-hour",
        "'24' is not a whole number from 0 to 23",
    )
