"""`manage.py crm_dashboard_app --url https://shop.example.com`: the CRM pages in Dashboard."""

from django.core.management.base import BaseCommand, CommandError

from ...dashboard.app import app_url, extensions
from ...host import get_host


class Command(BaseCommand):
    help = (
        "Create or update the CRM's App in Saleor, so Dashboard shows the CRM pages under "
        "Customers and the CRM widget on every customer's page. Running it again changes "
        "only what differs."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--url", required=True, help="The store's public address, e.g. https://shop.example.com"
        )

    def handle(self, *args, url, **options):
        try:
            address = app_url(url)
        except ValueError as error:
            raise CommandError(f"--url: {error}") from None
        host = get_host()
        with host.database_access():
            summary = host.ensure_dashboard_app(address, extensions(address))
        self.stdout.write(summary)
