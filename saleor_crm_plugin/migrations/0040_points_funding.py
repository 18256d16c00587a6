"""Points carry their funding (free or paid, with the price of paid points), and every point
gets a currency: entries and lots without one take the account's only currency (of its orders
and its points), else the store's default (`points-currency`, or the earn rates' only one).
What neither names stays "" and is valued at read time the same way (`LOT_CURRENCY`)."""

from collections import defaultdict

from django.db import migrations, models, transaction

BATCH = 1000


def _store_default() -> str:
    """The store's default points currency, or "" (no configuration readable yet)."""
    try:
        from saleor_crm_plugin.host import get_host

        with transaction.atomic():  # a savepoint: a missing host table must not end the run
            return get_host().config().loyalty.default_currency
    except Exception:  # noqa: BLE001 - a fresh install may have no configuration table yet
        return ""


def fill_currencies(apps, schema_editor):
    entries = apps.get_model("saleor_crm", "PointsEntry")
    lots = apps.get_model("saleor_crm", "PointsLot")
    accounts = apps.get_model("saleor_crm", "PointsAccount")
    spends = apps.get_model("saleor_crm", "CustomerSpend")
    missing = sorted(
        set(entries.objects.filter(currency="").values_list("account_id", flat=True))
        | set(lots.objects.filter(currency="").values_list("account_id", flat=True))
    )
    for start in range(0, len(missing), BATCH):
        ids = missing[start : start + BATCH]
        profiles = dict(accounts.objects.filter(pk__in=ids).values_list("pk", "profile_id"))
        known = defaultdict(set)
        for profile_id, currency in spends.objects.filter(
            profile_id__in=profiles.values()
        ).values_list("profile_id", "currency"):
            known[profile_id].add(currency)
        for account_id, currency in (
            entries.objects.filter(account_id__in=ids)
            .exclude(currency="")
            .values_list("account_id", "currency")
            .distinct()
        ):
            known[profiles[account_id]].add(currency)
        by_currency = defaultdict(list)
        for account_id, profile_id in profiles.items():
            if len(known[profile_id]) == 1:
                by_currency[next(iter(known[profile_id]))].append(account_id)
        for currency, group in by_currency.items():
            entries.objects.filter(account_id__in=group, currency="").update(currency=currency)
            lots.objects.filter(account_id__in=group, currency="").update(currency=currency)
    default = _store_default()
    if default:
        entries.objects.filter(currency="").update(currency=default)
        lots.objects.filter(currency="").update(currency=default)


class Migration(migrations.Migration):

    dependencies = [
        ("saleor_crm", "0039_inserts"),
    ]

    operations = [
        migrations.AddField(
            model_name="pointsentry",
            name="funding",
            field=models.CharField(
                choices=[("free", "free"), ("paid", "paid")],
                db_default="free",
                default="free",
                max_length=8,
            ),
        ),
        migrations.AddField(
            model_name="pointsentry",
            name="paid_amount",
            field=models.DecimalField(blank=True, decimal_places=3, max_digits=20, null=True),
        ),
        migrations.AddField(
            model_name="pointslot",
            name="funding",
            field=models.CharField(
                choices=[("free", "free"), ("paid", "paid")],
                db_default="free",
                default="free",
                max_length=8,
            ),
        ),
        migrations.AddField(
            model_name="pointslot",
            name="paid_amount",
            field=models.DecimalField(blank=True, decimal_places=3, max_digits=20, null=True),
        ),
        migrations.AddIndex(
            model_name="pointsentry",
            index=models.Index(
                condition=models.Q(("funding", "paid")),
                fields=["account"],
                name="points_entry_paid",
            ),
        ),
        migrations.RunPython(fill_currencies, migrations.RunPython.noop),
    ]
