"""Moving into the CRM inside a running Saleor 3.23, end to end, as a merchant does it.

1. A Shopify customers export with point balances and ranks (`examples/import/
   customers-shopify.csv`, its emails made unique to this run) and a points file with paid
   (有償) and free lots are imported with `manage.py crm_import`: a dry run (nothing written),
   the import, and the same files again (nothing created, the ledger unchanged);
2. an imported customer signs in (a password set as the store's support would, since an
   imported account has none) and reads their own points and rank through the plugin's
   storefront API;
3. the Payment Services Act base-date report (`crmPaidPointsBaseDates`, staff) is compared
   with the ledger: the paid points left on each base date, read straight from the tables
   (`saleor_crm_pointsentry`), and their value from each paid lot's price.

    source /work/saleor-run/env.sh
    python bench/moving_in_saleor.py --saleor-src /work/saleor-src

Uses HTTP for every API call; `manage.py` in the Saleor source for the import command (the
merchant's way) and for the password; psql-free SQL through `manage.py dbshell`-less Django.
"""

import argparse
import csv
import io
import json
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from checkout_saleor import Account, post

ROOT = Path(__file__).resolve().parents[1]
ME = "{ me { crmPoints { balance available } crmMembership { rank { code } pinned } } }"
BASE_DATES = """
query($from: Int!, $to: Int!) { crmPaidPointsBaseDates(fromYear: $from, toYear: $to) {
  baseDate currency unusedPoints unusedAmount { amount currency } issuedPoints
  issuedAmount { amount currency } exceedsThreshold } }"""

# The paid points left on a date by the ledger itself: each paid earning earned by then and not
# expired, less what was taken from its lot by then (an entry naming the lot), in one query.
LEDGER_SQL = """
select e.currency, coalesce(sum(e.points + coalesce(used.points, 0)), 0),
       coalesce(sum(round(e.paid_amount * (e.points + coalesce(used.points, 0)) / e.points,
                          %(places)s)), 0)
from saleor_crm_pointsentry e
left join lateral (
  select sum(u.points) as points from saleor_crm_pointsentry u
  where u.account_id = e.account_id and u.lot = e.key and u.key <> e.key and u.at <= %(at)s
) used on true
where e.funding = 'paid' and e.points > 0 and e.at <= %(at)s
  and (e.expires_at is null or e.expires_at > %(at)s)
group by e.currency order by e.currency"""


def manage(args, *argv: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603 (this interpreter, Saleor's manage.py, our arguments)
        [sys.executable, "manage.py", *argv],
        cwd=args.saleor_src,
        capture_output=True,
        text=True,
        check=check,
    )


def unique_customers(run: str, folder: Path) -> tuple[Path, list[str]]:
    """The example Shopify export with this run's emails (`r<run>.<local>@<domain>`) and
    customer ids."""
    source = (ROOT / "examples/import/customers-shopify.csv").read_text("utf-8")
    rows = list(csv.DictReader(io.StringIO(source)))
    emails = []
    for row in rows:
        local, domain = row["Email"].split("@")
        row["Email"] = f"r{run}.{local.lower()}@{domain}"
        row["Customer ID"] = f"{run}{row['Customer ID']}"  # unique in the store, as emails
        emails.append(row["Email"])
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    path = folder / "customers-shopify.csv"
    path.write_text(out.getvalue(), "utf-8")
    return path, emails


def points_file(run: str, folder: Path, email: str) -> Path:
    """Lots for one customer: 5,000 paid points bought for 5,000 JPY in June 2026, 2,000 more
    bought for 1,800 JPY in October, and 300 free points."""
    lines = [
        "lot_id,email,external_id,points,earned_at,expires_at,currency,kind,paid_amount",
        f"P{run}-1,{email},,5000,2026-06-01,2028-06-01,JPY,paid,5000",
        f"P{run}-2,{email},,2000,2026-10-15,2028-10-15,JPY,paid,1800",
        f"P{run}-3,{email},,300,2026-07-01,2027-07-01,JPY,free,",
    ]
    path = folder / "points.csv"
    path.write_text("\n".join(lines) + "\n", "utf-8")
    return path


def ledger_rows(args, at: str) -> list:
    code = (
        "import json; from django.db import connection\n"
        "c = connection.cursor()\n"
        f"c.execute({LEDGER_SQL!r}, {{'at': {at!r}, 'places': 0}})\n"
        "print(json.dumps([[r[0], int(r[1]), str(r[2])] for r in c.fetchall()]))"
    )
    return json.loads(manage(args, "shell", "-c", code).stdout.strip().splitlines()[-1])


def table_counts(args) -> dict:
    code = (
        "import json; from django.apps import apps\n"
        "print(json.dumps({m._meta.db_table: m.objects.count() "
        "for m in apps.get_app_config('saleor_crm').get_models()}))"
    )
    return json.loads(manage(args, "shell", "-c", code).stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--api", default="http://127.0.0.1:8000/graphql/")
    parser.add_argument("--crm", default="http://127.0.0.1:8000/plugins/global/saleor.crm/graphql/")
    parser.add_argument("--saleor-src", default="/work/saleor-src")
    parser.add_argument("--staff", default="admin@example.com:admin")
    args = parser.parse_args()
    run = str(int(time.time()))[-6:]
    staff = Account(args.api, *args.staff.split(":", 1))
    folder = Path(tempfile.mkdtemp(prefix="crm-moving-in-"))
    customers, emails = unique_customers(run, folder)
    points = points_file(run, folder, emails[0])

    # 1. dry run, import, again
    before = table_counts(args)
    for label, extra in (("dry run", ["--dry-run"]), ("import", []), ("again", [])):
        for path, kind, layout in (
            (customers, "customers", "shopify"),
            (points, "points", "generic"),
        ):
            done = manage(
                args,
                "crm_import",
                str(path),
                "--kind",
                kind,
                "--layout",
                layout,
                "--source",
                "shopify",
                *extra,
                # a dry run of the lots counts the customers the customers file brings
                *(
                    ["--with-customers", str(customers), "--with-customers-layout", "shopify"]
                    if extra and kind == "points"
                    else []
                ),
            )
            print(f"{label:8} {done.stdout.strip()}")
        counts = table_counts(args)
        changed = {
            table: counts[table] - before[table]
            for table in counts
            if counts[table] != before[table]
        }
        print(f"{label:8} rows changed in CRM tables: {changed or 'none'}")
        before = counts

    # 2. the first customer signs in and reads their own points and rank
    password = f"moving-in-{run}"
    manage(
        args,
        "shell",
        "-c",
        "from saleor.account.models import User\n"
        f"u = User.objects.get(email={emails[0]!r}); u.set_password({password!r}); u.save()",
    )
    customer = Account(args.api, emails[0], password)
    print("storefront", json.dumps(post(args.crm, ME, token=customer.token())["me"]))

    # 3. the base-date report against the ledger
    year = datetime.now(UTC).year
    report = post(args.crm, BASE_DATES, {"from": year, "to": year}, staff.token())
    for row in report["crmPaidPointsBaseDates"]:
        at = f"{row['baseDate']}T23:59:59.999999+00:00"
        ledger = {currency: (points, amount) for currency, points, amount in ledger_rows(args, at)}
        points_left, amount_left = ledger.get(row["currency"], (0, "0"))
        adds_up = row["unusedPoints"] == points_left and float(
            row["unusedAmount"]["amount"]
        ) == float(amount_left)
        print(
            f"base date {row['baseDate']} {row['currency']}: report {row['unusedPoints']} points "
            f"{row['unusedAmount']['amount']}; ledger {points_left} points {amount_left}; "
            f"issued in the half-year {row['issuedPoints']}; over threshold "
            f"{row['exceedsThreshold']}; adds up: {adds_up}"
        )


if __name__ == "__main__":
    main()
