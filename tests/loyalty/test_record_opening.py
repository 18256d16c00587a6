"""`record_opening`: an import's lots written in bulk leave what replaying the entries gives."""

from datetime import UTC, datetime, timedelta

import pytest

from saleor_crm_plugin.customers.models import CustomerProfile
from saleor_crm_plugin.loyalty.lots import Entry, Kind, Ledger
from saleor_crm_plugin.loyalty.models import PointsAccount, PointsLot
from saleor_crm_plugin.loyalty.services import (
    Written,
    entries_of,
    record,
    record_opening,
    redeem,
)

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 1, 1, tzinfo=UTC)
DAY = timedelta(days=1)


def _replayed(profile_id):
    ledger = Ledger()
    for entry in entries_of(profile_id):
        ledger.apply(entry)
    return sorted((lot.key, lot.remaining) for lot in ledger.earned), ledger.debt


def _saved(profile_id):
    lots = PointsLot.objects.filter(account__profile_id=profile_id)
    account = PointsAccount.objects.get(profile_id=profile_id)
    return sorted(lots.values_list("key", "remaining")), account.debt


def _lot(key, points, at):
    return Written(Entry(key, Kind.EARN, points, at, expires_at=at + 400 * DAY), "import:old")


def test_lots_of_new_and_earning_accounts_in_bulk_and_of_a_spender_replayed():
    # given: one new customer, one who earned and had a lot expire, one who spent
    new, earner, spender = (CustomerProfile.objects.create(user_id=str(n)) for n in (1, 2, 3))
    record(earner.pk, Entry("earn:order:1", Kind.EARN, 100, T0 + 10 * DAY))
    record(earner.pk, Entry("earn:order:2", Kind.EARN, 30, T0 + 11 * DAY))
    record(
        earner.pk, Entry("expire:earn:order:2", Kind.EXPIRE, -30, T0 + 12 * DAY, lot="earn:order:2")
    )
    record(spender.pk, Entry("earn:order:3", Kind.EARN, 100, T0 + 10 * DAY))
    redeem(spender.pk, 60, "redeem:1", T0 + 20 * DAY)

    # when: lots earned before all of it
    written = record_opening(
        {
            new.pk: [_lot("import:old:lot:1", 50, T0), _lot("import:old:lot:2", 20, T0 + DAY)],
            earner.pk: [_lot("import:old:lot:3", 40, T0)],
            spender.pk: [_lot("import:old:lot:4", 40, T0)],
        }
    )
    again = record_opening({new.pk: [_lot("import:old:lot:1", 50, T0)]})

    # then: each account is its replay (the spender's redemption now took the older lot first)
    assert (written, again) == (4, 0)
    for profile in (new, earner, spender):
        assert _saved(profile.pk) == _replayed(profile.pk)
    assert _saved(spender.pk) == ([("earn:order:3", 80), ("import:old:lot:4", 0)], 0)
    accounts = {
        account.profile_id: (account.total, account.remaining, account.applied_key)
        for account in PointsAccount.objects.all()
    }
    assert accounts == {
        new.pk: (70, 70, "import:old:lot:2"),
        earner.pk: (140, 140, "expire:earn:order:2"),
        spender.pk: (80, 80, "redeem:1"),
    }
