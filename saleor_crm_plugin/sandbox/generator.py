"""A realistic, seeded store history for the sandbox: customers and their orders.

Writes the sandbox store's own tables (`SandboxUser`, `SandboxOrder`); the ledger is filled by
the same backfill that loads a real Saleor store. Repeat buying looks like real shops: most
customers buy once, a quarter a few times, a few very often; some stop, some are recent.
"""

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from ..customers.snapshots import LineSnapshot, OrderSnapshot, OrderStatus
from ..money import quantize_amount
from .models import SandboxOrder, SandboxProduct, SandboxUser

__all__ = ["CHANNELS", "GenerationSummary", "generate_store"]

CHANNELS = {"JPY": "channel-jpy", "USD": "default-channel"}
_HISTORY = timedelta(days=3 * 365)
_FIRST_NAMES = (
    "Yui Haruto Sakura Ren Aoi Sota Hina Yuto Mio Riku Emma Liam Olivia Noah Ava Mia".split()
)
_LAST_NAMES = "Sato Suzuki Takahashi Tanaka Watanabe Ito Smith Johnson Brown Garcia Miller".split()
# Default shipping addresses by currency: (country, prefecture / state, city), weighted.
_PLACES = {
    "JPY": (
        ("JP", "東京都", "渋谷区", 30),
        ("JP", "大阪府", "大阪市", 20),
        ("JP", "神奈川県", "横浜市", 15),
        ("JP", "愛知県", "名古屋市", 10),
        ("JP", "福岡県", "福岡市", 10),
        ("JP", "北海道", "札幌市", 10),
        ("JP", "京都府", "京都市", 5),
    ),
    "USD": (
        ("US", "CA", "San Francisco", 30),
        ("US", "NY", "New York", 30),
        ("US", "WA", "Seattle", 20),
        ("CA", "BC", "Vancouver", 20),
    ),
}


def _attributes(rng: random.Random, currency: str, as_of: datetime) -> dict:
    """What the store keeps about a customer beyond the email: address and metadata.

    Drawn from their own random stream so the order history does not change with them.
    """
    places = _PLACES[currency]
    country, area, city, _ = rng.choices(places, [p[3] for p in places])[0]
    metadata = {"marketing_consent": "true" if rng.random() < 0.6 else "false"}
    if rng.random() < 0.7:
        age_days = rng.randint(18 * 365, 75 * 365)
        metadata["birth_date"] = (as_of - timedelta(days=age_days)).date().isoformat()
    if rng.random() < 0.8:
        metadata["gender"] = rng.choice(("female", "male", "female", "other"))
    return {"country": country, "country_area": area, "city": city, "metadata": metadata}


_PRODUCTS = [
    (f"{kind} {grade}", f"{kind[:3].upper()}-{grade[:2].upper()}-{index:02d}", jpy, usd)
    for index, (kind, grade, jpy, usd) in enumerate(
        (kind, grade, base * mult, Decimal(base * mult) / 110)
        for kind, base in (
            ("Sencha", 980),
            ("Matcha", 2400),
            ("Hojicha", 1200),
            ("Genmaicha", 860),
            ("Gyokuro", 3800),
            ("Kukicha", 1100),
            ("Teaware", 4200),
            ("Wagashi", 1500),
        )
        for grade, mult in (
            ("Classic", 1),
            ("Select", 2),
            ("Reserve", 3),
            ("Gift box", 4),
            ("Sample", 1),
        )
    )
]


# What a tea is often bought with, and how often.
_COMPANIONS = {
    "Matcha": ("Teaware", 0.35),
    "Gyokuro": ("Teaware", 0.25),
    "Sencha": ("Wagashi", 0.3),
    "Hojicha": ("Wagashi", 0.2),
}


def catalogue() -> list[tuple[str, str, tuple[str, ...]]]:
    """The sandbox store's products: (product ID, name, channels it is published and
    available in). Gift boxes are sold in the JPY channel only."""
    return [
        (
            f"product-{sku}",
            name,
            tuple(CHANNELS.values()) if "Gift box" not in name else (CHANNELS["JPY"],),
        )
        for name, sku, _jpy, _usd in _PRODUCTS
    ]


@dataclass(frozen=True)
class GenerationSummary:
    customers: int
    registered: int
    guests: int
    orders: int


def _order_count(rng: random.Random) -> int:
    roll = rng.random()
    if roll < 0.55:
        return 1
    if roll < 0.80:
        return rng.randint(2, 4)
    if roll < 0.95:
        return rng.randint(5, 20)
    return rng.randint(20, 150)


def _purchase_times(rng: random.Random, count: int, start: datetime, as_of: datetime) -> list:
    """First purchase anywhere in the history; then gaps around the customer's own rhythm."""
    span = (as_of - start).total_seconds()
    first = start + timedelta(seconds=rng.uniform(0, span * 0.97))
    if count > 1:
        # Frequent buyers come back every few weeks; occasional ones every few months.
        rhythm_days = rng.uniform(6, 40) if count > 20 else rng.uniform(20, 200)
        lifetime = timedelta(days=rhythm_days * count)
        if first + lifetime > as_of:  # leave room for the whole history
            first = max(start, as_of - lifetime * rng.uniform(1.0, 1.4))
    times = [first]
    for _ in range(count - 1):
        gap = timedelta(days=rng.expovariate(1 / rhythm_days) + 0.5)
        if times[-1] + gap >= as_of:
            break  # the customer has not come back yet
        times.append(times[-1] + gap)
    return times


def _status(rng: random.Random, placed_at: datetime, as_of: datetime, total: Decimal, currency):
    """Return (status, paid, refunded, refunded_at, cancelled_at, updated_at)."""
    hour = timedelta(hours=1)
    if as_of - placed_at < timedelta(days=4):
        return OrderStatus.UNFULFILLED, total, Decimal(0), None, None, placed_at + hour
    roll = rng.random()
    if roll < 0.03:
        return (
            OrderStatus.CANCELED,
            Decimal(0),
            Decimal(0),
            None,
            placed_at + hour,
            placed_at + hour,
        )
    if roll < 0.07:
        refunded = quantize_amount(total * Decimal(rng.randint(10, 50)) / 100, currency)
        refunded_at = placed_at + timedelta(days=rng.randint(5, 20))
        return OrderStatus.FULFILLED, total, refunded, refunded_at, None, refunded_at
    if roll < 0.08:
        refunded_at = placed_at + timedelta(days=rng.randint(5, 20))
        return OrderStatus.RETURNED, total, total, refunded_at, None, refunded_at
    return OrderStatus.FULFILLED, total, Decimal(0), None, None, placed_at + timedelta(days=2)


def _basket(rng: random.Random, favourite: int) -> list[tuple]:
    """The products of one order: the customer's favourite more often than not (so products
    are bought again), a companion some teas go with (so pairs are bought together), and
    random others."""
    count = rng.choices((1, 2, 3, 4), (50, 30, 15, 5))[0]
    chosen = [_PRODUCTS[favourite] if rng.random() < 0.6 else rng.choice(_PRODUCTS)]
    companion = _COMPANIONS.get(chosen[0][0].split()[0])
    if companion and rng.random() < companion[1]:
        chosen.append(rng.choice([p for p in _PRODUCTS if p[0].startswith(companion[0])]))
    others = [product for product in _PRODUCTS if product not in chosen]
    return chosen + rng.sample(others, max(0, count - len(chosen)))


def _lines(
    rng: random.Random, order_number: int, currency: str, favourite: int
) -> tuple[LineSnapshot, ...]:
    lines = []
    for index, (name, sku, jpy, usd) in enumerate(_basket(rng, favourite)):
        price = Decimal(jpy) if currency == "JPY" else quantize_amount(usd, "USD")
        lines.append(
            LineSnapshot(
                line_id=f"gen-{order_number:06d}-{index + 1}",
                quantity=rng.choices((1, 2, 3), (70, 22, 8))[0],
                unit_price_gross=price,
                product_name=name,
                sku=sku,
                variant_id=f"variant-{sku}",
                product_id=f"product-{sku}",
                category_id=f"category-{name.split()[0].lower()}",
            )
        )
    return tuple(lines)


@transaction.atomic
def generate_store(
    customers: int = 4000, seed: int = 2024, as_of: datetime | None = None
) -> GenerationSummary:
    """Write a store history of `customers` customers (about 6 orders each on average)."""
    if customers < 1:
        raise ValueError(f"customers: must be at least 1, not {customers}")
    rng = random.Random(seed)
    attributes_rng = random.Random(seed + 1)
    as_of = as_of or timezone.now()
    start = as_of - _HISTORY
    plans, users = [], []
    for index in range(customers):
        email = f"customer{index + 1:05d}@example.com"
        currency = "JPY" if rng.random() < 0.7 else "USD"
        registered = rng.random() < 0.7
        times = _purchase_times(rng, _order_count(rng), start, as_of)
        favourite = rng.randrange(len(_PRODUCTS))
        # Some registered customers bought once as a guest before creating their account.
        guest_first = registered and len(times) > 1 and rng.random() < 0.2
        if registered:
            joined = (
                times[1] - timedelta(hours=1)
                if guest_first
                else times[0] - timedelta(days=rng.randint(0, 30))
            )
            users.append(
                SandboxUser(
                    email=email,
                    first_name=rng.choice(_FIRST_NAMES),
                    last_name=rng.choice(_LAST_NAMES),
                    date_joined=max(joined, start - timedelta(days=30)),
                    updated_at=as_of - timedelta(days=rng.randint(0, 300)),
                    **_attributes(attributes_rng, currency, as_of),
                )
            )
        plans.append((email, currency, registered, guest_first, times, favourite))
    created = {user.email: user for user in SandboxUser.objects.bulk_create(users, batch_size=1000)}
    purchases = sorted(
        (
            (
                placed_at,
                email,
                currency,
                registered and not (guest_first and position == 0),
                favourite,
            )
            for email, currency, registered, guest_first, times, favourite in plans
            for position, placed_at in enumerate(times)
        ),
        key=lambda item: (item[0], item[1]),
    )
    orders = []
    for number, (placed_at, email, currency, as_user, favourite) in enumerate(purchases, start=1):
        lines = _lines(rng, number, currency, favourite)
        total = sum((line.unit_price_gross * line.quantity for line in lines), Decimal(0))
        status, paid, refunded, refunded_at, cancelled_at, updated_at = _status(
            rng, placed_at, as_of, total, currency
        )
        user = created[email] if as_user else None
        snapshot = OrderSnapshot(
            order_id=f"gen-{number:06d}",
            number=str(number),
            channel=CHANNELS[currency],
            currency=currency,
            status=status,
            user_id=str(user.pk) if user else None,
            email=email,
            placed_at=placed_at,
            updated_at=min(updated_at, as_of),
            total_gross=total,
            paid_amount=paid,
            paid_at=placed_at if paid else None,
            refunded_amount=refunded,
            refunded_at=refunded_at,
            cancelled_at=cancelled_at,
            fulfilled_at=(
                min(placed_at + timedelta(days=2), as_of)
                if status in (OrderStatus.FULFILLED, OrderStatus.RETURNED)
                else None
            ),
            lines=lines,
        )
        orders.append(SandboxOrder.from_snapshot(snapshot, user))
    SandboxOrder.objects.bulk_create(orders, batch_size=1000)
    SandboxProduct.objects.bulk_create(
        (
            SandboxProduct(product_id=product_id, name=name, channels=list(channels))
            for product_id, name, channels in catalogue()
        ),
        ignore_conflicts=True,
    )
    return GenerationSummary(
        customers=customers,
        registered=len(users),
        guests=customers - len(users),
        orders=len(orders),
    )
