"""`saleor-crm`: the plugin on its embedded sandbox store, no Saleor needed.

saleor-crm demo [--customers N] [--seed S] [--reset] [--port 8765] [--no-serve]
saleor-crm import FILE.csv
saleor-crm backfill [--restart] [--batch-size N]
saleor-crm token EMAIL [--staff]
saleor-crm schema
"""

import argparse
import json
import os
import sys
import time
from decimal import Decimal


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saleor_crm_plugin.sandbox.settings")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def _progress():
    from ..management.commands.crm_backfill import ProgressLine

    return ProgressLine(sys.stderr)


def _backfill(restart: bool = False, batch_size: int = 500):
    from ..host.sandbox import SandboxHost
    from ..intake.backfill import run_backfill

    progress = _progress()
    try:
        return run_backfill(
            SandboxHost(), batch_size=batch_size, restart=restart, progress=progress
        )
    finally:
        progress.close()


def _reset_store() -> None:
    """Empty the CRM's tables and the sandbox store's (keeping the plugin's settings), in one
    transaction: foreign keys are checked at its end (Django makes them deferred), so the order
    of the tables does not matter."""
    from django.apps import apps
    from django.db import connection, transaction

    tables = [
        model._meta.db_table
        for label in ("saleor_crm", "saleor_crm_sandbox")
        for model in apps.get_app_config(label).get_models()
        if model.__name__ != "SandboxSettings"
    ]
    with transaction.atomic(), connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"DELETE FROM {connection.ops.quote_name(table)}")


def _user(email: str, staff: bool = False):
    from django.utils import timezone

    from ..host import MANAGE_ORDERS, MANAGE_USERS
    from .models import SandboxUser

    now = timezone.now()
    user, _ = SandboxUser.objects.get_or_create(
        email=email, defaults={"date_joined": now, "updated_at": now}
    )
    wanted = [MANAGE_USERS, MANAGE_ORDERS]
    if staff and not (user.is_staff and set(wanted) <= set(user.permissions)):
        user.is_staff, user.permissions = True, wanted
        user.save(update_fields=["is_staff", "permissions"])
    return user


def summary_lines() -> list[str]:
    """Describe the ledger as a merchant would read it."""
    from django.db.models import Count, Q, Sum

    from ..customers.models import CustomerProfile, CustomerSpend, OrderRecord
    from ..host.sandbox import SandboxHost

    profiles = CustomerProfile.objects.filter(anonymized_at__isnull=True)
    counts = profiles.aggregate(
        total=Count("pk"),
        guests=Count("pk", filter=Q(user_id__isnull=True)),
        buyers=Count("pk", filter=Q(order_count__gte=1)),
        repeat=Count("pk", filter=Q(order_count__gte=2)),
        once=Count("pk", filter=Q(order_count=1)),
    )
    orders = OrderRecord.objects.aggregate(
        total=Count("pk"), counted=Count("pk", filter=Q(counts=True))
    )
    repeat_rate = 100 * counts["repeat"] / counts["buyers"] if counts["buyers"] else 0
    lines = [
        f"Customers: {counts['total']:,} ({counts['total'] - counts['guests']:,} registered, {counts['guests']:,} guests)",
        f"Orders: {orders['total']:,} recorded, {orders['counted']:,} counting (placed, not cancelled, not fully refunded)",
        f"Buyers: {counts['once']:,} bought once, {counts['repeat']:,} came back: repeat rate {repeat_rate:.1f}%",
    ]
    for row in (
        CustomerSpend.objects.values("currency")
        .annotate(spent=Sum("total_spent_amount"), n=Sum("order_count"))
        .order_by("currency")
    ):
        average = row["spent"] / row["n"] if row["n"] else Decimal(0)
        lines.append(
            f"Spend in {row['currency']}: {row['spent']:,.{0 if row['currency'] == 'JPY' else 2}f} "
            f"over {row['n']:,} orders, average order {average:,.{0 if row['currency'] == 'JPY' else 2}f}"
        )
    top = list(
        profiles.filter(spends__currency="JPY")
        .order_by("-spends__total_spent_amount", "pk")
        .prefetch_related("spends")[:5]
    )
    emails = SandboxHost().customer_emails(top)
    if top:
        lines.append("Top customers by JPY spend:")
    for profile in top:
        spent = next(s.total_spent_amount for s in profile.spends.all() if s.currency == "JPY")
        lines.append(
            f"  {emails.get(profile.pk, '?'):<32} {profile.order_count:>4} orders  JPY {spent:,.0f}"
        )
    return lines


def segment_lines() -> list[str]:
    """Score every customer and describe the RFM segments of each currency."""
    from ..host.sandbox import SandboxHost
    from ..segments.models import SegmentSize
    from ..segments.services import recompute_rfm

    config = SandboxHost().config()
    report = recompute_rfm(config.zone, segments=config.segment_map, bins=config.rfm_bins)
    sizes = SegmentSize.objects.filter(computed_at=report.computed_at)
    lines = [
        f"RFM segments ({report.scored:,} customers scored, {report.written:,} scores changed):"
    ]
    for group in sorted({s.group for s in sizes}):
        rows = {s.segment: s for s in sizes if s.group == group}
        customers = sum(s.customers for s in rows.values())
        revenue = sum(s.revenue_amount for s in rows.values())
        lines.append(f"  {group:<20} {'customers':>10} {'share':>7} {'revenue':>8}")
        for name in config.segment_names:
            size = rows.get(name)
            if size is None:
                continue
            lines.append(
                f"  {name:<20} {size.customers:>10,} {100 * size.customers / customers:>6.1f}% "
                f"{100 * size.revenue_amount / revenue if revenue else 0:>7.1f}%"
            )
    for group in report.unscored_groups:
        lines.append(f"  {group}: fewer than 5 customers, not scored")
    return lines


def loyalty_lines(days: int = 30) -> list[str]:
    """Start the points program `days` ago: first ranks for everyone, points since then."""
    from datetime import timedelta

    from django.utils import timezone

    from ..host.sandbox import SandboxHost
    from ..loyalty.config import format_window
    from ..loyalty.membership import rank_counts, review_ranks
    from ..loyalty.orders import award_points
    from ..loyalty.services import liability
    from ..metadata import sync_many_customer_metadata

    host = SandboxHost()
    config = host.config()
    now = timezone.now()
    ranked = review_ranks(config, now)
    awarded = award_points(config, host, now - timedelta(days=days), now)
    sync_many_customer_metadata(host, awarded.profile_ids)
    window = format_window(config.loyalty.ladder.window)
    lines = [
        f"Ranks ({window}; {ranked.reviewed:,} customers evaluated):",
    ]
    held = rank_counts()
    total = sum(held.values()) or 1
    for rank in config.loyalty.ladder.ranks:
        count = held.get(rank.code, 0)
        lines.append(
            f"  {rank.name:<20} {count:>10,} {100 * count / total:>6.1f}%  "
            f"points x{rank.points_multiplier.normalize():f}"
        )
    lines.append(
        f"Points for orders paid in the last {days} days: {awarded.entries:,} entries written"
    )
    for currency, available, pending in liability(now, config.loyalty.default_currency):
        lines.append(
            f"  outstanding ({currency or 'adjustments'}): {available:,} available, "
            f"{pending:,} pending"
        )
    return lines


def prediction_lines() -> list[str]:
    """Fit the lifetime models to the ledger now (what the nightly task does) and show each
    currency's model card: the fit, what it learnt from, and the back-test per frequency bucket."""
    from django.utils import timezone

    from ..analytics.predictions import refit
    from ..host.sandbox import SandboxHost

    config = SandboxHost().config()
    lines = ["Predictions (the nightly refit, run now):"]
    for fit in refit(timezone.now(), config.prediction_model, config.prediction_holdout_weeks):
        if fit.status != fit.OK:
            lines.append(f"  {fit.currency}: the fit failed: {fit.error}")
            continue
        params = ", ".join(f"{name} {value:.4g}" for name, value in fit.params.items())
        lines.append(
            f"  {fit.currency}: {fit.model} from {fit.customers:,} customers "
            f"({fit.repeat_customers:,} with a repeat order): {params}; "
            f"log-likelihood {fit.log_likelihood:,.1f} ({fit.seconds:.1f} s)"
        )
        if fit.spend_params:
            spend = ", ".join(f"{name} {value:.4g}" for name, value in fit.spend_params.items())
            lines.append(f"    spend (Gamma-Gamma): {spend}")
        elif fit.spend_error:
            lines.append(f"    no spend fit: {fit.spend_error}")
        if fit.warning:
            lines.append(f"    warning: {fit.warning}")
        test = fit.backtest
        if "error" in test:
            lines.append(f"    back-test: none ({test['error']})")
            continue
        lines.append(
            f"    back-test, last {test['holdout_weeks']} weeks held out: "
            f"{test['predicted_total']:,.0f} repeat orders predicted, {test['actual_total']:,} "
            f"made; mean absolute error {test['mean_absolute_error']:.2f} a customer"
        )
        lines.append("      repeat orders before   customers   predicted   actual (a customer)")
        for row in test["buckets"]:
            lines.append(
                f"      {row['bucket']:>20}   {row['customers']:>9,}   {row['predicted']:>9.2f}"
                f"   {row['actual']:>6.2f}"
            )
    return lines


def _interval(low, high, money: str = "") -> str:
    if low is None:
        return "too few customers to say"
    if money:
        return f"95% interval {low:+,.0f} to {high:+,.0f} {money}"
    return f"95% interval {100 * low:+.1f} to {100 * high:+.1f} points"


def campaign_lines(days: int = 120) -> list[str]:
    """Run the built-in flows over the store's last `days` days, day by day as beat would
    (deciding who enters in the morning, sending what is due in the evening), then print each
    flow's report with its lift against the held-back customers."""
    from datetime import datetime, time, timedelta

    from django.conf import settings
    from django.utils import timezone

    from ..campaigns import flows, services
    from ..campaigns.models import CampaignFlow
    from ..host.sandbox import SandboxHost

    host = SandboxHost()
    config = host.config()
    for name in flows.BUILT_IN:
        services.install_built_in(name, config)
    CampaignFlow.objects.filter(built_in__in=list(flows.BUILT_IN)).update(enabled=True)
    today = timezone.now().astimezone(config.zone).date()
    start, end = config.campaign_send_window
    sent = 0
    for offset in range(days, -1, -1):
        day = today - timedelta(days=offset)
        morning = datetime.combine(day, time(start // 60, start % 60), tzinfo=config.zone)
        evening = datetime.combine(day, time((end - 1) // 60, (end - 1) % 60), tzinfo=config.zone)
        services.decide(morning, config, host)
        batches = []
        services.dispatch(evening, config, batches.append)
        for ids in batches:
            sent += services.send_batch(ids, evening, config, host)["sent"]
    now = timezone.now()
    lines = [
        f"Campaigns (the built-in flows run over the last {days} days; {sent:,} emails "
        f"written to {settings.EMAIL_FILE_PATH}; the generated customers never read them, so "
        "a lift here is chance, and its interval says how much chance):"
    ]
    for row in CampaignFlow.objects.filter(built_in__in=list(flows.BUILT_IN)).order_by("pk"):
        report = services.flow_report(row, now, config)
        steps = "; ".join(
            f"step {s['step'] + 1}: {s.get('sent', 0):,} sent, {s.get('held', 0):,} held back, "
            f"{s.get('skipped', 0):,} skipped"
            + (
                " (" + ", ".join(f"{k} {v:,}" for k, v in sorted(s["reasons"].items())) + ")"
                if s["reasons"]
                else ""
            )
            for s in report["steps"]
        )
        lines.append(
            f"  {row.definition['name']}: {report['entered']:,} entered; {steps or 'no sends'}"
        )
        conversion = report["lift"][""]
        messaged, control, lift = conversion["messaged"], conversion["control"], conversion["lift"]
        if control.customers:
            lines.append(
                f"    ordered within {report['window_days']} days: messaged "
                f"{messaged.converted:,}/{messaged.customers:,} "
                f"({100 * (lift.messaged_rate or 0):.1f}%), held back "
                f"{control.converted:,}/{control.customers:,} ({100 * (lift.control_rate or 0):.1f}%): "
                f"lift {100 * (lift.conversion or 0):+.1f} points "
                f"({_interval(lift.conversion_low, lift.conversion_high)})"
            )
            for currency, arm in sorted(report["lift"].items()):
                if currency and arm["lift"].revenue is not None:
                    money = arm["lift"]
                    lines.append(
                        f"    revenue a customer ({currency}): messaged {money.messaged_revenue:,.0f}, "
                        f"held back {money.control_revenue:,.0f}: lift {money.revenue:+,.0f} "
                        f"({_interval(money.revenue_low, money.revenue_high, currency)})"
                    )
        for currency, figures in sorted(report["attributed"].items()):
            lines.append(
                f"    attributed (orders within {report['window_days']} days after a send, not "
                f"a measured effect): {figures['orders']:,} orders, "
                f"{figures['revenue']:,.0f} {currency}"
            )
    return lines


def subscription_lines(count: int = 300) -> list[str]:
    """Put `count` repeat buyers on a subscription of what they buy most, then run renewals."""
    import random
    from collections import Counter
    from datetime import timedelta

    from django.conf import settings
    from django.utils import timezone

    from ..customers.ingest import ingest_orders
    from ..customers.models import CustomerProfile, OrderRecord
    from ..host.sandbox import SandboxHost
    from ..subscriptions.figures import subscription_figures
    from ..subscriptions.models import Cycle, Subscription
    from ..subscriptions.notify import in_send_window, send_reminders
    from ..subscriptions.renewals import run_renewals
    from ..subscriptions.schedule import Interval, Unit
    from ..subscriptions.services import NewLine, create_subscription, rules_for
    from .models import SandboxOrder

    host = SandboxHost()
    config = host.config()
    rules = rules_for(config)
    now = timezone.now()
    today = now.astimezone(config.zone).date()
    rng = random.Random(5)
    if not Subscription.objects.exists():
        buyers = CustomerProfile.objects.filter(
            user_id__isnull=False, anonymized_at__isnull=True, order_count__gte=3
        ).order_by("-order_count", "pk")[:count]
        for profile in buyers:
            bought, last = Counter(), {}
            orders = SandboxOrder.objects.filter(user_id=int(profile.user_id))
            currency = None
            for data in orders.order_by("placed_at").values_list("data", flat=True):
                currency = data["currency"]
                for line in data["lines"]:
                    bought[line["variant_id"]] += line["quantity"]
                    last[line["variant_id"]] = line
            if not bought:
                continue
            variant = bought.most_common(1)[0][0]
            line = last[variant]
            create_subscription(
                profile,
                channel="channel-jpy" if currency == "JPY" else "default-channel",
                currency=currency,
                lines=[
                    NewLine(
                        variant, 1, Decimal(line["unit_price_gross"]), line.get("product_name", "")
                    )
                ],
                interval=Interval(rng.choice((30, 45, 60)), Unit.DAY),
                first_delivery=today + timedelta(days=rng.randint(1, 30)),
                actor="system",
                now=now,
                rules=rules,
                zone=config.zone,
            )
    report = run_renewals(host, now, rules, config.zone)
    # What the store's order hooks do with the new orders: record them in the ledger.
    renewed = list(
        Cycle.objects.filter(status=Cycle.Status.ORDERED, subscription__source_order_id="")
        .exclude(order_id__in=OrderRecord.objects.values("order_id"))
        .values_list("order_id", flat=True)
    )
    ingest_orders(host.order_snapshots(renewed).values())
    # The reminders the hourly task sends (at the first hour of the store's send window).
    start = config.subscription_send_window[0]
    local = now.astimezone(config.zone)
    at = local.replace(hour=start // 60, minute=start % 60, second=0, microsecond=0)
    reminded = send_reminders(host, at if in_send_window(at, config) else now, config)
    active = Subscription.objects.filter(status=Subscription.Status.ACTIVE).count()
    revenue = ", ".join(
        f"{row.currency} {row.recurring_revenue:,}"
        for row in subscription_figures(now - timedelta(days=30))
    )
    return [
        f"Subscriptions: {Subscription.objects.count():,} ({active:,} active); renewal run: "
        f"{report.ordered:,} orders created, {report.failed:,} failed "
        f"(deliveries within {rules.lead_days} days are ordered now)",
        f"  recurring revenue a month: {revenue}; {reminded:,} renewal reminders emailed "
        f"(files in {settings.EMAIL_FILE_PATH})",
    ]


def _curl(port: int, token: str, query: str) -> str:
    body = json.dumps({"query": query})
    return (
        f"curl -s -X POST http://127.0.0.1:{port}/graphql/ -H 'Authorization: Bearer {token}' "
        f"-H 'Content-Type: application/json' -d '{body}'"
    )


def demo(args) -> int:
    from ..analytics.report_services import demo_lines as report_demo_lines
    from ..customers.models import CustomerProfile
    from .generator import generate_store
    from .models import SandboxOrder

    started = time.monotonic()
    if args.reset:
        _reset_store()
    if not SandboxOrder.objects.exists():
        print(f"Generating a store history of {args.customers:,} customers (seed {args.seed}) …")
        generated = generate_store(customers=args.customers, seed=args.seed)
        print(
            f"  {generated.registered:,} registered customers, {generated.guests:,} guests, {generated.orders:,} orders"
        )
    report = _backfill()
    print(
        f"Ledger: {report.orders.created:,} orders new, {report.orders.updated:,} updated, "
        f"{report.orders.unchanged:,} unchanged ({time.monotonic() - started:.1f} s)"
    )
    print()
    for line in summary_lines():
        print(line)
    print()
    for line in segment_lines():
        print(line)
    print()
    for line in loyalty_lines():
        print(line)
    print()
    for line in subscription_lines():
        print(line)
    print()
    for line in prediction_lines():
        print(line)
    print()
    from django.utils import timezone

    from ..analytics.basket_services import basket_lines
    from ..host.sandbox import SandboxHost

    for line in basket_lines(timezone.now(), SandboxHost().config()):
        print(line)
    print()
    for line in report_demo_lines():
        print(line)
    print()
    for line in campaign_lines():
        print(line)
    from ..campaigns.insert_services import insert_lines

    print()
    for line in insert_lines(SandboxHost().config(), timezone.now()):
        print(line)
    staff = _user("staff@example.com", staff=True)
    staff_token = staff.issue_token()
    top = (
        CustomerProfile.objects.filter(user_id__isnull=False, anonymized_at__isnull=True)
        .order_by("-order_count", "pk")
        .first()
    )
    print()
    print(f"Staff token (MANAGE_USERS, MANAGE_ORDERS):  {staff_token}")
    customers_query = (
        "{ crmCustomers(first: 5, sortBy: {field: ORDER_COUNT, direction: DESC}) { totalCount edges "
        "{ node { email orderCount lastOrderAt spends { currency totalSpent { amount } } } } } }"
    )
    print(_curl(args.port, staff_token, customers_query))
    if top is not None:
        from .models import SandboxUser

        customer_token = SandboxUser.objects.get(pk=top.user_id).issue_token()
        print(
            f"Customer token ({SandboxUser.objects.get(pk=top.user_id).email}):  {customer_token}"
        )
        print(
            _curl(
                args.port,
                customer_token,
                "{ me { crmProfile { orderCount lastOrderAt spends { currency totalSpent { amount currency } } } "
                "crmMembership { rank { name } nextRank { name } remainingToNextRank { orders amount { amount currency } } } "
                "crmPoints { balance pending expiringSoon { points at } } "
                "crmSubscriptions { id interval nextDeliveryOn upcoming { sequence date state } } } }",
            )
        )
    if args.no_serve:
        return 0
    return serve(args.port)


def serve(port: int) -> int:
    from django.core.servers.basehttp import WSGIServer, run
    from django.core.wsgi import get_wsgi_application

    print(f"\nGraphQL: http://127.0.0.1:{port}/graphql/ (POST). Ctrl-C stops.", flush=True)
    try:
        run("127.0.0.1", port, get_wsgi_application(), threading=True, server_cls=WSGIServer)
    except KeyboardInterrupt:
        pass
    return 0


def import_file(args) -> int:
    from ..host.sandbox import SandboxHost
    from .importer import ImportFailed, import_orders_csv

    if not os.path.isfile(args.file):
        print(f"{args.file}: no such file", file=sys.stderr)
        return 2
    try:
        report = import_orders_csv(args.file, SandboxHost().config().zone)
    except ImportFailed as error:
        print(f"{args.file}: {error}", file=sys.stderr)
        return 1
    result = report.result
    print(
        f"Imported {report.orders:,} orders ({report.lines:,} lines, {report.customers:,} customers): "
        f"{result.created:,} new, {result.updated:,} updated, {result.unchanged:,} unchanged"
    )
    return 0


def backfill(args) -> int:
    if args.batch_size < 1:
        print(f"--batch-size must be at least 1, not {args.batch_size}", file=sys.stderr)
        return 2
    report = _backfill(restart=args.restart, batch_size=args.batch_size)
    print(
        f"Backfilled {report.orders.total:,} orders ({report.orders.created:,} new, "
        f"{report.orders.updated:,} updated, {report.orders.unchanged:,} unchanged); "
        f"{report.scored:,} customers scored (RFM); "
        f"metadata written for {report.metadata_written:,} customers"
    )
    return 0


def token(args) -> int:
    print(_user(args.email, staff=args.staff).issue_token())
    return 0


def schema(_args) -> int:
    from ..graphql.schema import schema as graphql_schema

    print(str(graphql_schema).strip())
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="saleor-crm", description="The CRM plugin on its sandbox store."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    demo_parser = commands.add_parser(
        "demo", help="generate a store, fill the ledger, serve GraphQL"
    )
    demo_parser.add_argument("--customers", type=int, default=5000)
    demo_parser.add_argument("--seed", type=int, default=2024)
    demo_parser.add_argument(
        "--reset", action="store_true", help="delete the sandbox store and ledger first"
    )
    demo_parser.add_argument("--port", type=int, default=8765)
    demo_parser.add_argument("--no-serve", action="store_true", help="stop after the summary")
    demo_parser.set_defaults(handler=demo)
    import_parser = commands.add_parser("import", help="load a merchant's order export (CSV)")
    import_parser.add_argument("file")
    import_parser.set_defaults(handler=import_file)
    backfill_parser = commands.add_parser("backfill", help="load the sandbox store into the ledger")
    backfill_parser.add_argument("--restart", action="store_true")
    backfill_parser.add_argument("--batch-size", type=int, default=500)
    backfill_parser.set_defaults(handler=backfill)
    token_parser = commands.add_parser("token", help="print an API token for a sandbox user")
    token_parser.add_argument("email")
    token_parser.add_argument("--staff", action="store_true", help="with MANAGE_USERS")
    token_parser.set_defaults(handler=token)
    schema_parser = commands.add_parser("schema", help="print the GraphQL schema (SDL)")
    schema_parser.set_defaults(handler=schema)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if getattr(args, "customers", 1) < 1:
        print(f"--customers must be at least 1, not {args.customers}", file=sys.stderr)
        return 2
    _setup()
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
