"""`manage.py crm_points_award --since DATE`: points for the orders paid since a day."""

from datetime import date, datetime, time

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from ...host import get_host
from ...loyalty.orders import award_points
from ...metadata import sync_many_customer_metadata


class Command(BaseCommand):
    help = (
        "Give the points of every order paid since DATE (store time) that has none yet, and "
        "the ranks they reach: the launch of a points program on a store with a history. "
        "Running it again writes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("--since", required=True, help="YYYY-MM-DD, in the store's time.")

    def handle(self, *args, since, **options):
        try:
            day = date.fromisoformat(since)
        except ValueError:
            raise CommandError(f"--since: '{since}' is not a date as YYYY-MM-DD") from None
        host = get_host()
        with host.database_access():
            config = host.config()
            start = datetime.combine(day, time.min, tzinfo=config.zone)
            result = award_points(config, host, start, timezone.now())
            sync_many_customer_metadata(host, result.profile_ids)
        self.stdout.write(
            f"{result.entries:,} points entries written, {result.rank_changes:,} rank changes"
        )
