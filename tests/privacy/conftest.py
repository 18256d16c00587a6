"""A customer with data in every domain of the CRM, in the sandbox store (PostgreSQL)."""

from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.utils import timezone

from saleor_crm_plugin.customers.models import CustomerProfile
from saleor_crm_plugin.host import get_host, reset_host
from saleor_crm_plugin.intake import outbox
from saleor_crm_plugin.intake.models import PendingChange
from saleor_crm_plugin.sandbox.models import SandboxOrder, SandboxUser
from saleor_crm_plugin.subscriptions.schedule import Interval, Unit
from saleor_crm_plugin.subscriptions.services import create_subscription, rules_for
from saleor_crm_plugin.tasks import drain_changes_task
from tests.factories import order

from .leaks import add_copies

EMAIL = "hanako.yamada@example.jp"
FIRST, LAST = "Hanako", "Yamadaera"
PHONE = "+81312345678"
STREET_1, STREET_2 = "1-2-3 Jingumae", "Harajuku Heights 405"
CITY, POSTAL = "Shibuyaku", "150-0001"
ADDRESS = {
    "firstName": FIRST,
    "lastName": LAST,
    "phone": PHONE,
    "streetAddress1": STREET_1,
    "streetAddress2": STREET_2,
    "city": CITY,
    "postalCode": POSTAL,
    "country": "JP",
}
# What the erasure proof looks for (the store's own copy aside).
PERSONAL = [EMAIL, FIRST, LAST, PHONE, STREET_1, STREET_2, CITY, POSTAL]


@dataclass
class Person:
    user: SandboxUser
    profile: CustomerProfile
    order_ids: list[str]


@pytest.fixture
def webhook_settings(settings):
    settings.CRM_CONFIG = {
        **settings.CRM_CONFIG,
        "webhook-url": "http://127.0.0.1:9/hooks",
        "webhook-secret": "whsec-0123456789abcdef",
        "points-return-window-days": "0",
    }
    reset_host()
    yield
    reset_host()


@pytest.fixture
def person(webhook_settings, django_capture_on_commit_callbacks) -> Person:
    """Hanako: two paid orders (points, rank, scores), a subscription with her own address, a
    campaign entry whose email a server refused quoting her address, a webhook delivery about
    her, package inserts, and a staff adjustment."""
    now = timezone.now()
    user = SandboxUser.objects.create(
        email=EMAIL, first_name=FIRST, last_name=LAST, city=CITY, date_joined=now, updated_at=now
    )
    order_ids = []
    for n in range(2):
        order_id = f"order-{1001 + n}"
        SandboxOrder.store(
            order(
                order_id,
                user_id=str(user.pk),
                email=EMAIL,
                total="5100",
                placed_at=now - timedelta(days=3 - n),
                updated_at=now - timedelta(days=3 - n),
            )
        )
        order_ids.append(order_id)
    outbox.record_changes(PendingChange.ORDER, order_ids)
    outbox.record_changes(PendingChange.CUSTOMER, [str(user.pk)])
    drain_changes_task.delay().get()
    profile = CustomerProfile.objects.get(user_id=str(user.pk))
    config = get_host().config()
    create_subscription(
        profile,
        channel="default-channel",
        currency="JPY",
        lines=[("VARIANT-1", 2)],
        interval=Interval(1, Unit.MONTH),
        first_delivery=now.date() + timedelta(days=20),
        actor=f"user:{user.pk}",
        now=now,
        rules=rules_for(config),
        zone=config.zone,
        shipping_address=ADDRESS,
        billing_address=ADDRESS,
    )
    add_copies(profile, EMAIL, FIRST, order_ids[0], config, django_capture_on_commit_callbacks)
    return Person(user=user, profile=profile, order_ids=order_ids)
