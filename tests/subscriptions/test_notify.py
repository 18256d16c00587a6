"""Reminders before renewals and failure notices, through Django's email backend (locmem)."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core import mail

from saleor_crm_plugin.conf import parse_config
from saleor_crm_plugin.customers.models import CustomerProfile
from saleor_crm_plugin.host import get_host, reset_host
from saleor_crm_plugin.sandbox.models import SandboxOrder, SandboxUser
from saleor_crm_plugin.subscriptions.models import Cycle, SubscriptionEvent
from saleor_crm_plugin.subscriptions.notify import send_reminders
from saleor_crm_plugin.subscriptions.renewals import run_renewals
from saleor_crm_plugin.subscriptions.schedule import Interval, Unit
from saleor_crm_plugin.subscriptions.services import NewLine, Rules, create_subscription

pytestmark = pytest.mark.django_db
TOKYO = ZoneInfo("Asia/Tokyo")
START = datetime(2027, 1, 5, 1, 0, tzinfo=UTC)
# Cycle 1 (Jan 20) is ordered Jan 17 09:00 Tokyo; the reminder goes 3 days before that.
REMIND = datetime(2027, 1, 14, 1, 0, tzinfo=UTC)  # Jan 14, 10:00 in Tokyo
CONFIG = {"store-time-zone": "Asia/Tokyo", "subscription-staff-emails": "ops@example.com"}


@pytest.fixture(autouse=True)
def _config(settings):
    settings.CRM_CONFIG = CONFIG
    reset_host()


def _subscription(variant="v1", email="ann@example.com", first_name="Ann"):
    user = SandboxUser.objects.create(
        email=email, first_name=first_name, date_joined=START, updated_at=START
    )
    profile = CustomerProfile.objects.create(user_id=str(user.pk))
    return create_subscription(
        profile,
        channel="channel-jpy",
        currency="JPY",
        lines=[NewLine(variant, 2, None, "Coffee beans 1 kg")],
        interval=Interval(30, Unit.DAY),
        first_delivery=date(2027, 1, 20),
        actor=f"user:{user.pk}",
        now=START,
        rules=Rules(cutoff_days=5, lead_days=3),
        zone=TOKYO,
    )


def test_a_reminder_goes_once_in_the_send_window_and_is_recorded(
    django_capture_on_commit_callbacks,
):
    subscription = _subscription()
    config = parse_config(CONFIG)

    with django_capture_on_commit_callbacks(execute=True):
        early = send_reminders(get_host(), REMIND - timedelta(days=1), config)  # 4 days before
        night = send_reminders(get_host(), datetime(2027, 1, 14, 13, 0, tzinfo=UTC), config)
        sent = send_reminders(get_host(), REMIND, config)
        again = send_reminders(get_host(), REMIND + timedelta(hours=1), config)

    assert (early, night, sent, again) == (0, 0, 1, 0)
    [message] = mail.outbox
    assert message.to == ["ann@example.com"]
    assert message.subject == "Your next delivery on 2027-01-20"
    assert "Hello Ann" in message.body
    assert "We prepare the order on 2027-01-17" in message.body
    assert "- Coffee beans 1 kg x 2" in message.body
    assert "by 2027-01-15 in your account" in message.body  # 5-day cutoff
    event = SubscriptionEvent.objects.get(kind="reminder_sent")
    assert event.data["delivery_on"] == "2027-01-20"
    assert (event.subscription_id, event.data["sequence"]) == (subscription.pk, 1)


def test_reminders_can_be_turned_off():
    _subscription()
    config = parse_config({**CONFIG, "subscription-reminder-days": "0"})
    assert send_reminders(get_host(), REMIND, config) == 0
    assert mail.outbox == []


def test_a_store_template_overrides_ours(settings, tmp_path, django_capture_on_commit_callbacks):
    folder = tmp_path / "saleor_crm" / "email"
    folder.mkdir(parents=True)
    (folder / "subscription_reminder_subject.txt").write_text(
        "次回のお届け {{ delivery_on|date:'n月j日' }}"
    )
    settings.TEMPLATES = [
        {
            "BACKEND": "django.template.backends.django.DjangoTemplates",
            "DIRS": [str(tmp_path)],
            "APP_DIRS": True,
        }
    ]
    _subscription()
    with django_capture_on_commit_callbacks(execute=True):
        send_reminders(get_host(), REMIND, parse_config(CONFIG))
    assert mail.outbox[0].subject == "次回のお届け 1月20日"


def test_a_failed_renewal_tells_the_customer_and_staff(django_capture_on_commit_callbacks):
    _subscription(variant="gone")
    due = datetime(2027, 1, 17, 1, 0, tzinfo=UTC)

    with django_capture_on_commit_callbacks(execute=True):
        run_renewals(get_host(), due, Rules(cutoff_days=5, lead_days=3), TOKYO)

    customer, staff = mail.outbox
    assert customer.to == ["ann@example.com"]
    assert customer.subject == "We could not prepare your delivery of 2027-01-20"
    assert "variant gone is not sold in JPY" in customer.body
    assert "We will try again on 2027-01-17 11:00" in customer.body  # 1 hour later, Tokyo
    assert staff.to == ["ops@example.com"]
    assert "ann@example.com" in staff.body
    assert "Attempts: 1" in staff.body


def test_after_the_last_retry_staff_hear_it_needs_attention(django_capture_on_commit_callbacks):
    _subscription(variant="gone")
    rules = Rules(cutoff_days=5, lead_days=3, retry_hours=())
    with django_capture_on_commit_callbacks(execute=True):
        run_renewals(get_host(), datetime(2027, 1, 17, 1, 0, tzinfo=UTC), rules, TOKYO)
    customer, staff = mail.outbox
    assert "Our staff will look into it" in customer.body
    assert staff.subject.endswith("(needs attention)")
    assert "crmSubscriptionRetryRenewal" in staff.body


def test_a_broken_mail_server_does_not_undo_the_renewal_bookkeeping(
    settings, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 9  # nothing listens there
    subscription = _subscription(variant="gone")
    with django_capture_on_commit_callbacks(execute=True):
        report = run_renewals(
            get_host(), datetime(2027, 1, 17, 1, 0, tzinfo=UTC), Rules(lead_days=3), TOKYO
        )
    assert report.failed == 1
    assert Cycle.objects.get(subscription=subscription, sequence=1).status == "failed"
    assert not SandboxOrder.objects.exists()


def test_a_reminder_past_the_cutoff_says_the_delivery_can_no_longer_change(
    django_capture_on_commit_callbacks,
):
    _subscription()
    config = parse_config({**CONFIG, "subscription-cutoff-days": "10"})  # cutoff Jan 10
    with django_capture_on_commit_callbacks(execute=True):
        send_reminders(get_host(), REMIND, config)
    [message] = mail.outbox
    assert "can no longer be changed" in message.body
    assert "by 2027-01-10" not in message.body
