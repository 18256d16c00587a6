# ruff: noqa: RUF001 (full-width digits are what customers type)
"""The duplicate search's read of the store's contact facts and its stored pairs, on
PostgreSQL with the sandbox store."""

import pandas as pd
import pytest
from django.utils import timezone

from saleor_crm_plugin.conf import parse_config
from saleor_crm_plugin.customers.duplicate_search import contact_frame, find_duplicates
from saleor_crm_plugin.customers.ingest import ingest_customers, ingest_orders
from saleor_crm_plugin.customers.merge_models import DuplicateCandidate
from saleor_crm_plugin.customers.merges import merge_profiles
from saleor_crm_plugin.customers.models import CustomerProfile
from saleor_crm_plugin.host import get_host, reset_host
from saleor_crm_plugin.sandbox.models import SandboxOrder, SandboxUser
from tests.factories import T0, customer, order

pytestmark = pytest.mark.django_db
CONFIG = parse_config({"store-time-zone": "Asia/Tokyo"})


@pytest.fixture(autouse=True)
def _sandbox_host():
    reset_host()


def _account(email, first, last, phone=None, postal=None, *, staff=False):
    metadata = {key: value for key, value in (("phone", phone), ("postal_code", postal)) if value}
    user = SandboxUser.objects.create(
        email=email,
        first_name=first,
        last_name=last,
        is_staff=staff,
        metadata=metadata,
        date_joined=T0,
        updated_at=T0,
    )
    ingest_customers([customer(str(user.pk), email=email)])
    return user


def _guest_order(order_id, email, days):
    snapshot = order(order_id, email=email, placed_at=T0 + timezone.timedelta(days=days))
    SandboxOrder.store(snapshot)
    ingest_orders([snapshot])


@pytest.fixture
def store():
    """Two accounts of one person (her phone typed twice), a guest with two orders under her
    address with a tag, a guest merged into her account and a deleted guest."""
    hanako = _account("hanako@example.com", "Hanako", "Sato", "090-1234-5678", "150-0001")
    second = _account(
        "h.sato@example.jp", "花子", "佐藤", "０９０１２３４５６７８", "〒１５０－０００１"
    )
    _account("staff@example.com", "Staff", "Member", "090-1234-5678", staff=True)
    _guest_order("g1", "hanako+shop@example.com", 1)
    _guest_order("g2", "hanako+shop@example.com", 2)
    _guest_order("m1", "hanako+merged@example.com", 3)
    _guest_order("d1", "hanako+deleted@example.com", 4)
    profiles = {
        order_id: CustomerProfile.objects.get(orders__order_id=order_id).pk
        for order_id in ("g2", "m1", "d1")
    }
    account = CustomerProfile.objects.get(user_id=str(hanako.pk)).pk
    merge_profiles(CONFIG, profiles["m1"], account, "staff:1", evidence=["email"])
    CustomerProfile.objects.filter(pk=profiles["d1"]).update(anonymized_at=T0)
    return {
        "hanako": account,
        "second": CustomerProfile.objects.get(user_id=str(second.pk)).pk,
        "guest": profiles["g2"],
    }


def test_the_contact_facts_of_every_active_profile(store):
    # when
    contacts = contact_frame(get_host())
    # then: accounts with their address facts, the guest once (by its latest order); no
    # staff, no merged or deleted profile
    rows = sorted(contacts.itertuples(index=False, name=None))
    assert rows == sorted(
        [
            (store["hanako"], "hanako@example.com", "Hanako", "Sato", "090-1234-5678", "150-0001"),
            (
                store["second"],
                "h.sato@example.jp",
                "花子",
                "佐藤",
                "０９０１２３４５６７８",
                "〒１５０－０００１",
            ),
            (store["guest"], "hanako+shop@example.com", None, None, None, None),
        ]
    )
    assert contacts["profile_id"].dtype == "int64"


def test_the_search_stores_the_pairs_with_their_evidence_once(store):
    # when: the nightly run, twice
    first = find_duplicates(get_host(), CONFIG, T0)
    again = find_duplicates(get_host(), CONFIG, T0)
    # then
    pairs = pd.DataFrame(
        DuplicateCandidate.objects.order_by("profile", "other").values(
            "profile", "other", "email", "phone", "name_postal"
        )
    )
    assert pairs.to_dict("records") == [
        {
            "profile": store["hanako"],
            "other": store["second"],
            "email": False,
            "phone": True,
            "name_postal": False,
        },
        {
            "profile": store["hanako"],
            "other": store["guest"],
            "email": True,
            "phone": False,
            "name_postal": False,
        },
    ]
    assert (
        first.as_dict()
        == again.as_dict()
        == {
            "profiles": 3,
            "contacts": 3,
            "pairs": 2,
            "crowded": {"email": 0, "phone": 0, "name_postal": 0},
        }
    )


def test_no_customers_no_contacts():
    contacts = contact_frame(get_host())
    assert contacts.empty
    assert list(contacts.columns) == [
        "profile_id",
        "email",
        "first_name",
        "last_name",
        "phone",
        "postal_code",
    ]
