"""Typed, validated configuration: one parser for Saleor Dashboard and the sandbox settings.

Pure: no Django, no Saleor. The plugin passes `self.configuration` (a list of
`{"name", "value"}` dicts); the sandbox passes `settings.CRM_CONFIG` (a plain dict).
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from email.utils import parseaddr
from ipaddress import ip_address
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .campaigns.inserts import InsertRule, parse_insert_rules
from .errors import FieldError
from .loyalty import config as loyalty_conf
from .loyalty.ranks import DEFAULT_LADDER_TEXT, parse_ladder
from .money import validate_currency
from .segments.bins import DEFAULT_FIXED_BINS_TEXT, FixedBins, parse_fixed_bins
from .segments.segment_map import DEFAULT_SEGMENT_MAP_TEXT, DEFAULT_SEGMENTS, parse_segment_map
from .subscriptions.schedule import DEFAULT_PLANS_TEXT, Interval, parse_plans

__all__ = ["DEFAULTS", "FIELDS", "CRMConfig", "ConfigError", "parse_config"]

INGESTION_ENABLED = "ingestion-enabled"
STORE_TIME_ZONE = "store-time-zone"
DORMANT_DAYS = "dormant-days"
CONSENT_KEY = "marketing-consent-key"
BIRTH_DATE_KEY = "birth-date-key"
GENDER_KEY = "gender-key"
RFM_SEGMENTS = "rfm-segments"
LOYALTY_ENABLED = "loyalty-enabled"
RANKS = "ranks"
RANK_WINDOW = "rank-window"
RANK_INACTIVE_MONTHS = "rank-down-after-inactive-months"
RANK_CUSTOMER_TYPES = "rank-customer-types"
EARN_RATES = "points-earn-rates"
EARN_INCLUDE_TAX = "points-include-tax"
EARN_INCLUDE_SHIPPING = "points-include-shipping"
EARN_ROUNDING = "points-rounding"
BONUSES = "points-bonuses"
RETURN_WINDOW = "points-return-window-days"
ALLOW_NEGATIVE = "points-allow-negative"
EXPIRY = "points-expiry"
REDEMPTION = "points-redemption"
POINTS_ON_RENEWALS = "points-on-renewals"
EARN_FROM = "points-earn-from"
POINTS_CURRENCY = "points-currency"
SUBSCRIPTION_PLANS = "subscription-plans"
SUBSCRIPTION_CUTOFF = "subscription-cutoff-days"
SUBSCRIPTION_LEAD = "subscription-lead-days"
SUBSCRIPTION_HOUR = "subscription-renewal-hour"
SUBSCRIPTION_MOVE = "subscription-max-move-days"
SUBSCRIPTION_MINIMUM = "subscription-min-deliveries"
SUBSCRIPTION_RETRIES = "subscription-retry-hours"
SUBSCRIPTION_SPREAD = "subscription-spread-hours"
SUBSCRIPTION_REMINDER = "subscription-reminder-days"
SUBSCRIPTION_SEND_WINDOW = "subscription-send-window"
SUBSCRIPTION_STAFF_EMAILS = "subscription-staff-emails"
DASHBOARD_LANGUAGE = "dashboard-language"
DRAIN_SECONDS = "event-drain-seconds"
SWEEP_MINUTES = "catch-up-sweep-minutes"
PREDICTION_MODEL = "prediction-model"
PREDICTION_HOLDOUT = "prediction-holdout-weeks"
ANALYTICS_HOUR = "analytics-hour"
RFM_SCORING = "rfm-scoring"
RFM_BINS = "rfm-fixed-bins"
BASKET_MIN_COUNT = "basket-min-count"
BASKET_MIN_SHARE = "basket-min-share"
BASKET_WINDOW = "basket-window-days"
CAMPAIGN_WINDOW = "campaign-send-window"
CAMPAIGN_CAP = "campaign-weekly-cap"
CAMPAIGN_SERVICE = "campaign-service-notices"
CAMPAIGN_ATTRIBUTION = "campaign-attribution-days"
SMTP_HOST = "smtp-host"
SMTP_PORT = "smtp-port"
SMTP_USERNAME = "smtp-username"
SMTP_PASSWORD = "smtp-password"  # noqa: S105 (setting names, not values)
SMTP_SECURITY = "smtp-security"
CAMPAIGN_FROM_EMAIL = "campaign-from-email"
LINE_TOKEN = "line-channel-access-token"  # noqa: S105
LINE_API_BASE_URL = "line-api-base-url"
LINE_USER_ID_KEY = "line-user-id-key"
WEBHOOK_URL = "webhook-url"
WEBHOOK_SECRET = "webhook-secret"  # noqa: S105
# A webhook secret shorter than this is refused (HMAC-SHA256 keys should not be guessable).
WEBHOOK_SECRET_MIN_LENGTH = 16
INSERT_RULES = "insert-rules"
GUEST_RETENTION = "guest-retention-years"

# name -> (label, help text, kind), in the order Dashboard shows them.
# Kinds: string, int, multiline, boolean, secret (Saleor's SECRET: its API shows only the last
# characters, Dashboard edits it in a card of its own; the plugin still reads the real value).
FIELDS = {
    STORE_TIME_ZONE: (
        "Store time zone",
        "IANA time zone the store works in, e.g. Asia/Tokyo. 'Days since last order' and "
        "renewal dates are counted in it.",
        "string",
    ),
    DORMANT_DAYS: (
        "Dormant after (days)",
        "A customer with no order for this many days is in the built-in 'Dormant' segment.",
        "int",
    ),
    RFM_SEGMENTS: (
        "RFM segments",
        "One named segment a line, as 'Name: R 4-5; F 1-2' (R and F scores 1-5). Every one of "
        "the 25 R/F cells needs exactly one segment. Example: 'Champions: R 5; F 4-5'. The "
        "default is the common published map (Champions ... Lost).",
        "multiline",
    ),
    RFM_SCORING: (
        "RFM scoring",
        "'quintiles' (the default): each score ranks a customer against the others in the "
        "currency, a fifth of them a score. 'fixed': by the store's own bins below, so a "
        "score means the same whatever the other customers do (better for a small or "
        "skewed store).",
        "string",
    ),
    RFM_BINS: (
        "RFM fixed bins",
        "Used with RFM scoring 'fixed'. One metric a line with four rising boundaries, each "
        "the least value of the next score up: 'R 30 60 90 180' (R 5 within 30 days of the "
        "last order ... R 1 after 180), 'F 2 3 5 10' (orders for F 2 to F 5), and per "
        "currency 'M JPY 5000 10000 30000 100000' (spend for M 2 to M 5). A currency "
        "without an M line is scored by quintiles.",
        "multiline",
    ),
    CONSENT_KEY: (
        "Marketing consent metadata key",
        "Key in the customer's metadata (private first, then public) whose value true/yes/1 "
        "means the customer agreed to marketing. Used by the rule field marketing_consent.",
        "string",
    ),
    BIRTH_DATE_KEY: (
        "Birth date metadata key",
        "Key in the customer's metadata holding the birth date as YYYY-MM-DD (the age column of "
        "the customer list).",
        "string",
    ),
    GENDER_KEY: (
        "Gender metadata key",
        "Key in the customer's metadata holding the gender as the store records it (shown in the "
        "customer list).",
        "string",
    ),
    RANKS: (
        "Membership ranks",
        "One rank a line, lowest first: 'Name (CODE): thresholds; benefits'. Thresholds on "
        "orders, spend per currency (in each currency the store sells in: never added across "
        "currencies) and points earned in the window, joined by 'or' (one is enough) or 'and' "
        "(all). Benefits: 'points x2' (multiplier), 'discount 3%' (a personal voucher), "
        "'perks free text' (last). The lowest rank has no thresholds. The default counts "
        "orders only. Example: 'Gold (GOLD): orders 5 or spend 300 USD or spend 1200 PLN; "
        "points x2; discount 3%'.",
        "multiline",
    ),
    RANK_WINDOW: (
        "Rank evaluation window",
        "What counts toward a rank: 'lifetime', 'rolling 12 months, on day 1' (the last 12 "
        "months, ranks going down on the 1st of each month) or 'yearly from 04-01' (a year from "
        "April 1st, ranks going down at its end). Ranks go up at once.",
        "string",
    ),
    RANK_INACTIVE_MONTHS: (
        "Rank down after months without an order",
        "A customer with no order for this many months drops one rank at the period end, "
        "another after as many months more, and so on (an order ends it). 0: never.",
        "int",
    ),
    EARN_RATES: (
        "Points earn rates",
        "One currency a line: 'JPY: 1 per 100; minimum 1000' (1 point for every 100 JPY, on "
        "orders of at least 1000 JPY). A currency without a line earns no points.",
        "multiline",
    ),
    EARN_ROUNDING: (
        "Points rounding",
        "How the points of an order are rounded to a whole number: floor (1 point per full "
        "100 JPY), half_up or ceiling.",
        "string",
    ),
    BONUSES: (
        "Points bonuses",
        "One a line: 'first order +100' (points on the first order), 'birthday month x2' "
        "(multiplier in the birthday month, from the birth date metadata key) and 'linked "
        "line_user_id +300' (once, when that private metadata key gets a value).",
        "multiline",
    ),
    EARN_FROM: (
        "Points for orders paid from",
        "A date (YYYY-MM-DD, store time): orders paid before it earn nothing, e.g. the day the "
        "program starts. Empty: every order earns when its payment is recorded. The backfill "
        "never awards points; 'manage.py crm_points_award --since DATE' does.",
        "string",
    ),
    POINTS_CURRENCY: (
        "Points currency",
        "The store's default currency for points (ISO code, e.g. JPY): what points without an "
        "order behind them are worth in when the customer has no single currency of their "
        "own. Empty: the only currency of the earn rates, if they name one.",
        "string",
    ),
    RETURN_WINDOW: (
        "Points pending after fulfilment (days)",
        "Points of an order become available this many days after it is fulfilled (the "
        "return window). 0: at fulfilment.",
        "int",
    ),
    EXPIRY: (
        "Points expiry",
        "'never', '12 months after earning' (each earning, oldest spent first) or '12 months "
        "without activity' (the free points, after the last order or redemption; paid points "
        "are kept).",
        "string",
    ),
    REDEMPTION: (
        "Points redemption",
        "One currency a line: 'JPY: 1 point = 1 JPY; min 100; max 50000': the gift card value "
        "of the points, and the fewest and most points one redemption may spend.",
        "multiline",
    ),
    SUBSCRIPTION_PLANS: (
        "Subscription plans",
        "One variant a line (Saleor's variant ID or its SKU), with the delivery intervals "
        "customers may choose: 'COFFEE-1KG: 30 days, 45 days, 60 days' (days, weeks or "
        "months). A product's metadata key crm.subscription_intervals ('30 days, 60 days') "
        "offers them too.",
        "multiline",
    ),
    SUBSCRIPTION_CUTOFF: (
        "Subscription change cutoff (days)",
        "A change made fewer than this many days before a delivery applies from the delivery "
        "after it (次々回). 0: up to the day.",
        "int",
    ),
    SUBSCRIPTION_LEAD: (
        "Renewal order lead time (days)",
        "Each renewal order is created this many days before its delivery date.",
        "int",
    ),
    SUBSCRIPTION_HOUR: (
        "Renewal order hour",
        "The local hour (0-23, store time zone) at which renewal orders of a day are created.",
        "int",
    ),
    SUBSCRIPTION_MOVE: (
        "Subscription date move (days)",
        "How far a customer may move the next delivery, earlier or later.",
        "int",
    ),
    SUBSCRIPTION_MINIMUM: (
        "Deliveries before cancelling",
        "How many deliveries a subscription makes before its customer may cancel. 0: any time.",
        "int",
    ),
    SUBSCRIPTION_RETRIES: (
        "Renewal retries (hours)",
        "When a renewal order cannot be created (out of stock, variant gone, address invalid), "
        "it is tried again this many hours after each failure: '1, 6, 24' is three retries. "
        "After the last, the subscription waits for staff (status attention). Empty: no retry.",
        "string",
    ),
    SUBSCRIPTION_SPREAD: (
        "Spread renewals over (hours)",
        "0: every renewal order of a day is created at the renewal hour. N: each subscription "
        "gets its own fixed time in the N hours from the renewal hour, so a busy day reaches "
        "the warehouse gradually.",
        "int",
    ),
    SUBSCRIPTION_REMINDER: (
        "Renewal reminder (days)",
        "Customers are emailed this many days before each renewal order is created (what "
        "comes, when, and until when they can change it). 0: no reminders.",
        "int",
    ),
    SUBSCRIPTION_SEND_WINDOW: (
        "Reminder send window",
        "The store-time hours reminders may go out in, e.g. '09:00-20:00'.",
        "string",
    ),
    SUBSCRIPTION_STAFF_EMAILS: (
        "Staff emails for failed renewals",
        "Comma-separated addresses told when a renewal order cannot be created. Empty: "
        "staff see failures in the subscriptions list only.",
        "string",
    ),
    DASHBOARD_LANGUAGE: (
        "CRM pages' language",
        "en or ja: the language of the CRM pages in Dashboard when Dashboard does not say.",
        "string",
    ),
    DRAIN_SECONDS: (
        "Record events every (seconds)",
        "Order and customer events wait in the CRM's own table until the next run of the "
        "Celery beat task saleor_crm.drain_changes, which records them: this many seconds "
        "apart (1-60). Celery beat must run (Saleor's own periodic tasks need it too).",
        "int",
    ),
    SWEEP_MINUTES: (
        "Catch-up sweep every (minutes)",
        "How often (1-1440) the CRM compares the orders and customers Saleor changed since "
        "the last sweep with its ledger and records what no event reported.",
        "int",
    ),
    PREDICTION_MODEL: (
        "Prediction model",
        "How customers' future orders are predicted: 'bgnbd' (BG/NBD, the default: customers "
        "may leave after each order) or 'pareto_nbd' (Pareto/NBD: customers may leave at any "
        "time). Spend is predicted with Gamma-Gamma either way.",
        "string",
    ),
    PREDICTION_HOLDOUT: (
        "Prediction back-test (weeks)",
        "The nightly back-test (1-104) fits the model to all but the last this many weeks of "
        "orders and compares its predictions for those weeks with what customers did.",
        "int",
    ),
    ANALYTICS_HOUR: (
        "Nightly analytics hour",
        "The hour (0-23, in the store time zone) at which the predictions are refitted and "
        "the analytics reports computed, every day (Celery beat).",
        "int",
    ),
    BASKET_MIN_COUNT: (
        "Basket pairs: minimum count",
        "A pair of products is shown (and recommended) only when at least this many orders "
        "held both, or, for 'also bought', this many customers bought both (1-1000000).",
        "int",
    ),
    BASKET_MIN_SHARE: (
        "Basket pairs: smallest share (%)",
        "And only when those orders or customers are at least this percentage of all the "
        "channel's orders or customers with a product (0-100, e.g. 0.1). 0: the count alone "
        "decides.",
        "string",
    ),
    BASKET_WINDOW: (
        "Also bought within (days)",
        "'Customers who bought this also bought' counts two products bought by one customer "
        "at most this many days apart, in either order (1-730).",
        "int",
    ),
    CAMPAIGN_WINDOW: (
        "Campaign send window",
        "The store-time hours flow messages may go out in, e.g. '09:00-20:00' (a step due at "
        "night waits for the window; the sends of a day are spread over it).",
        "string",
    ),
    CAMPAIGN_CAP: (
        "Campaign messages per customer a week",
        "At most this many flow messages reach one customer in any 7 days, across all flows "
        "(1-100); a step over the cap is skipped and shown as such in the send log.",
        "int",
    ),
    CAMPAIGN_SERVICE: (
        "Send service notices",
        "Points expiring and rank changes are service notices: sent without marketing "
        "consent when this is on (an unsubscribed customer is never messaged).",
        "boolean",
    ),
    CAMPAIGN_ATTRIBUTION: (
        "Campaign attribution window (days)",
        "A flow's report counts the orders and revenue within this many days after entry "
        "for its messaged and held-back customers alike (1-365).",
        "int",
    ),
    SMTP_HOST: (
        "Campaign mail: SMTP host",
        "The mail server campaign emails go through, e.g. smtp.example.com. Empty: Django's "
        "email settings (Saleor's EMAIL_URL), and the SMTP settings below are not used.",
        "string",
    ),
    SMTP_PORT: (
        "Campaign mail: SMTP port",
        "The SMTP server's port (1-65535): usually 587 with STARTTLS, 465 with SSL, 25 without.",
        "int",
    ),
    SMTP_USERNAME: (
        "Campaign mail: SMTP user name",
        "The user name to log in to the SMTP server with. Empty: no login.",
        "string",
    ),
    SMTP_SECURITY: (
        "Campaign mail: SMTP security",
        "'starttls' (the default: a plain connection upgraded with STARTTLS, usually port "
        "587), 'ssl' (TLS from the start, usually port 465) or 'none' (no encryption: only "
        "for a server on the same machine or network).",
        "string",
    ),
    CAMPAIGN_FROM_EMAIL: (
        "Campaign mail: sender",
        "The From address of campaign emails, e.g. 'Shop <news@example.com>'. Empty: Django's "
        "DEFAULT_FROM_EMAIL.",
        "string",
    ),
    LINE_API_BASE_URL: (
        "LINE: API base URL",
        "The LINE Messaging API's address: https://api.line.me (change it only to test "
        "against a local server).",
        "string",
    ),
    LINE_USER_ID_KEY: (
        "LINE: user ID metadata key",
        "Key in the customer's private metadata holding their LINE user ID (U followed by 32 "
        "hexadecimal characters), as staff or the store's LINE login set it. The same key as "
        "in 'linked line_user_id +300' of the points bonuses.",
        "string",
    ),
    WEBHOOK_URL: (
        "Webhooks: URL",
        "Where the CRM POSTs its events (segment entered or left, a flow step sent) as signed "
        "JSON, e.g. https://hooks.example.com/crm. Set the webhook secret first. Empty: no "
        "webhooks.",
        "string",
    ),
    SMTP_PASSWORD: (
        "Campaign mail: SMTP password",
        "The password to log in to the SMTP server with.",
        "secret",
    ),
    LINE_TOKEN: (
        "LINE: channel access token",
        "The long-lived channel access token of the store's LINE Official Account (LINE "
        "Developers console, Messaging API tab). Empty: no LINE messages.",
        "secret",
    ),
    WEBHOOK_SECRET: (
        "Webhooks: signing secret",
        f"At least {WEBHOOK_SECRET_MIN_LENGTH} characters. Every webhook carries "
        "X-CRM-Signature: sha256=<hex HMAC-SHA256 of '<X-CRM-Timestamp>.<body>' with this "
        "secret>, which the receiver checks (README: Webhooks).",
        "secret",
    ),
    INSERT_RULES: (
        "Package inserts",
        "One rule a line, 'CODE: condition': a paid order gets the code (in its private "
        "metadata crm.inserts, on its page in Dashboard and in the day's picking list) when "
        "the condition holds: 'first order', 'order 3', 'subscription delivery 3', 'segment "
        "At Risk' (an RFM segment or a rule segment, as the customer stood before the order), "
        "'rank GOLD' or 'bought TEA-100G' (a product ID, variant ID or SKU). Example: "
        "'WELCOME-LEAFLET: first order'. Empty: no inserts.",
        "multiline",
    ),
    GUEST_RETENTION: (
        "Guest retention (years)",
        "Erase a guest profile (a customer without an account) after this many years without an "
        "order: the CRM forgets which email it belongs to (its orders stay, counted in reports, "
        "no longer anyone's), daily, audited. Empty: guests are kept (1-100).",
        "string",
    ),
    INGESTION_ENABLED: (
        "Record orders and customers",
        "When on, every order and customer event is recorded in the CRM ledger.",
        "boolean",
    ),
    LOYALTY_ENABLED: (
        "Ranks and points",
        "When on, paid orders earn points and move customers up the ranks.",
        "boolean",
    ),
    EARN_INCLUDE_TAX: (
        "Points on tax",
        "When on, points are earned on the order total with tax; when off, without.",
        "boolean",
    ),
    EARN_INCLUDE_SHIPPING: (
        "Points on shipping",
        "When on, the shipping price earns points too.",
        "boolean",
    ),
    ALLOW_NEGATIVE: (
        "Allow a negative points balance",
        "When a refund takes back points the customer already spent: on, the balance goes "
        "below 0 and the next earnings repay it; off, it stops at 0 and the store records the "
        "loss.",
        "boolean",
    ),
    POINTS_ON_RENEWALS: (
        "Points on subscription renewals",
        "When on, a subscriber may have each renewal order paid with their points first (a "
        "gift card of at most the order's total, within the redemption rules).",
        "boolean",
    ),
    RANK_CUSTOMER_TYPES: (
        "Ranks as Customer Types",
        "When on, each customer's Saleor Customer Type follows their rank (one type per rank, "
        "created as needed), so staff can filter Saleor's customer list by rank.",
        "boolean",
    ),
}
DEFAULTS = {
    STORE_TIME_ZONE: "UTC",
    DORMANT_DAYS: 90,
    CONSENT_KEY: "marketing_consent",
    BIRTH_DATE_KEY: "birth_date",
    GENDER_KEY: "gender",
    RFM_SEGMENTS: DEFAULT_SEGMENT_MAP_TEXT,
    INGESTION_ENABLED: True,
    LOYALTY_ENABLED: True,
    RANKS: DEFAULT_LADDER_TEXT,
    RANK_WINDOW: loyalty_conf.DEFAULT_WINDOW_TEXT,
    RANK_INACTIVE_MONTHS: 0,
    RANK_CUSTOMER_TYPES: False,
    EARN_RATES: loyalty_conf.DEFAULT_EARN_RATES_TEXT,
    EARN_INCLUDE_TAX: True,
    EARN_INCLUDE_SHIPPING: False,
    EARN_ROUNDING: "floor",
    BONUSES: loyalty_conf.DEFAULT_BONUSES_TEXT,
    RETURN_WINDOW: 14,
    ALLOW_NEGATIVE: True,
    EXPIRY: loyalty_conf.DEFAULT_EXPIRY_TEXT,
    REDEMPTION: loyalty_conf.DEFAULT_REDEMPTION_TEXT,
    POINTS_ON_RENEWALS: False,
    EARN_FROM: "",
    POINTS_CURRENCY: "",
    SUBSCRIPTION_PLANS: DEFAULT_PLANS_TEXT,
    SUBSCRIPTION_CUTOFF: 5,
    SUBSCRIPTION_LEAD: 3,
    SUBSCRIPTION_HOUR: 9,
    SUBSCRIPTION_MOVE: 30,
    SUBSCRIPTION_MINIMUM: 0,
    SUBSCRIPTION_RETRIES: "1, 6, 24",
    SUBSCRIPTION_SPREAD: 0,
    SUBSCRIPTION_REMINDER: 3,
    SUBSCRIPTION_SEND_WINDOW: "09:00-20:00",
    SUBSCRIPTION_STAFF_EMAILS: "",
    DASHBOARD_LANGUAGE: "en",
    DRAIN_SECONDS: 3,
    SWEEP_MINUTES: 15,
    PREDICTION_MODEL: "bgnbd",
    PREDICTION_HOLDOUT: 13,
    ANALYTICS_HOUR: 3,
    RFM_SCORING: "quintiles",
    RFM_BINS: DEFAULT_FIXED_BINS_TEXT,
    BASKET_MIN_COUNT: 3,
    BASKET_MIN_SHARE: "0",
    BASKET_WINDOW: 30,
    CAMPAIGN_WINDOW: "09:00-20:00",
    CAMPAIGN_CAP: 3,
    CAMPAIGN_SERVICE: True,
    CAMPAIGN_ATTRIBUTION: 30,
    SMTP_HOST: "",
    SMTP_PORT: 587,
    SMTP_USERNAME: "",
    SMTP_PASSWORD: "",
    SMTP_SECURITY: "starttls",
    CAMPAIGN_FROM_EMAIL: "",
    LINE_TOKEN: "",
    LINE_API_BASE_URL: "https://api.line.me",
    LINE_USER_ID_KEY: "line_user_id",
    WEBHOOK_URL: "",
    WEBHOOK_SECRET: "",
    INSERT_RULES: "",
    GUEST_RETENTION: "",
}

_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off", ""}


class ConfigError(FieldError):
    """A configuration value is wrong; `field` names the setting."""


@dataclass(frozen=True)
class CRMConfig:
    ingestion_enabled: bool = True
    store_time_zone: str = "UTC"
    dormant_days: int = 90
    consent_key: str = "marketing_consent"
    birth_date_key: str = "birth_date"
    gender_key: str = "gender"
    # The named-segment map as (name, R scores, F scores), in the merchant's order.
    segments: tuple[tuple[str, tuple[int, ...], tuple[int, ...]], ...] = tuple(
        (name, r, f) for name, (r, f) in DEFAULT_SEGMENTS.items()
    )
    loyalty: loyalty_conf.LoyaltyConfig = None  # None: the defaults
    # Subscriptions: the intervals offered per variant (ID or SKU), and the store's rules.
    subscription_plans: dict[str, tuple[Interval, ...]] = field(default_factory=dict)
    subscription_cutoff_days: int = 5
    subscription_lead_days: int = 3
    subscription_renewal_hour: int = 9
    subscription_max_move_days: int = 30
    subscription_min_deliveries: int = 0
    subscription_retry_hours: tuple[int, ...] = (1, 6, 24)
    subscription_spread_hours: int = 0
    subscription_reminder_days: int = 3
    subscription_send_window: tuple[int, int] = (9 * 60, 20 * 60)  # minutes of the local day
    subscription_staff_emails: tuple[str, ...] = ()
    dashboard_language: str = "en"
    # The intake: how often the outbox is drained and Saleor's changes swept (intake/).
    drain_seconds: int = 3
    sweep_minutes: int = 15
    # Predictions (analytics/): the frequency model and the back-test's holdout.
    prediction_model: str = "bgnbd"
    prediction_holdout_weeks: int = 13
    analytics_hour: int = 3  # local hour of the nightly analytics tasks
    # RFM: None scores by quintiles; the store's fixed bins otherwise (segments/rfm.py).
    rfm_bins: FixedBins | None = None
    # Basket pairs (analytics/baskets.py): minimum support, and the "also bought" window.
    basket_min_count: int = 3
    basket_min_share: float = 0.0  # a share from 0 to 1 (the setting is a percentage)
    basket_window_days: int = 30
    # Campaigns (campaigns/): the send window, the weekly cap across flows, whether service
    # notices go without marketing consent, and the report's attribution window.
    campaign_send_window: tuple[int, int] = (9 * 60, 20 * 60)
    campaign_weekly_cap: int = 3
    campaign_service_notices: bool = True
    campaign_attribution_days: int = 30
    # Privacy (privacy/retention.py): guest profiles without an order for this many years are
    # erased; None keeps them.
    guest_retention_years: int | None = None
    # Campaign channels (campaigns/transports.py). Secrets are left out of the repr (logs).
    smtp_host: str = ""  # empty: Django's email settings
    smtp_port: int = 587
    smtp_username: str = ""
    smtp_password: str = field(default="", repr=False)
    smtp_security: str = "starttls"  # none, starttls or ssl
    campaign_from_email: str = ""  # empty: Django's DEFAULT_FROM_EMAIL
    line_channel_access_token: str = field(default="", repr=False)
    line_api_base_url: str = "https://api.line.me"
    line_user_id_key: str = "line_user_id"
    webhook_url: str = ""  # empty: no webhooks
    webhook_secret: str = field(default="", repr=False)
    # Package inserts (campaigns/inserts.py), in the order written; empty: none.
    insert_rules: tuple[InsertRule, ...] = ()

    def __post_init__(self):
        if self.loyalty is None:
            object.__setattr__(self, "loyalty", _DEFAULT_LOYALTY)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.store_time_zone)

    @property
    def segment_map(self) -> dict[str, tuple[tuple[int, ...], tuple[int, ...]]]:
        return {name: (r, f) for name, r, f in self.segments}

    @property
    def segment_names(self) -> tuple[str, ...]:
        return tuple(name for name, _r, _f in self.segments)


def _as_mapping(raw: Mapping | Iterable[Mapping] | None) -> dict:
    if raw is None:
        return {}
    if isinstance(raw, Mapping):
        return dict(raw)
    return {item["name"]: item.get("value") for item in raw}


def _parse_bool(field: str, value) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ConfigError(field, f"'{value}' is not true or false")


def _parse_zone(field: str, value) -> str:
    name = str(value or "").strip()
    if not name:
        raise ConfigError(field, "is empty; give an IANA time zone such as Asia/Tokyo")
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(field, f"'{name}' is not an IANA time zone (e.g. Asia/Tokyo)")
    return name


def _parse_key(field: str, value) -> str:
    key = str(value or "").strip()
    if not key:
        raise ConfigError(field, "is empty; give a metadata key such as marketing_consent")
    if len(key) > 128 or any(char.isspace() for char in key):
        raise ConfigError(
            field, f"'{key}' is not a metadata key (no spaces, at most 128 characters)"
        )
    return key


def _parse_segments(field: str, value) -> tuple:
    text = str(value or "")
    if not text.strip():
        raise ConfigError(field, "is empty; give one segment a line, e.g. 'Champions: R 5; F 4-5'")
    try:
        segments = parse_segment_map(text)
    except ValueError as error:
        raise ConfigError(field, str(error)) from None
    for name in segments:
        if len(name) > 64:
            raise ConfigError(field, f"the segment name '{name}' is longer than 64 characters")
    return tuple((name, r, f) for name, (r, f) in segments.items())


def _setting(field: str, parse, value):
    """Run one setting's parser; its ValueError becomes a ConfigError naming the setting."""
    try:
        return parse(str(value if value is not None else ""))
    except FieldError as error:  # a rank: "Gold.min_orders: ..."
        raise ConfigError(field, str(error)) from None
    except ValueError as error:
        raise ConfigError(field, str(error)) from None


def _parse_whole(field: str, value, high: int, low: int = 0, unit: str = "") -> int:
    """A whole number from `low` to `high` (`unit` names what it counts in the message)."""
    text = str(value).strip()
    if not text.isdigit() or not low <= int(text) <= high:
        what = f"a whole number of {unit}" if unit else "a whole number"
        raise ConfigError(field, f"'{value}' is not {what} from {low} to {high}")
    return int(text)


def _parse_optional_whole(field: str, value, high: int, low: int = 0, unit: str = ""):
    """`_parse_whole`, or None when the setting is empty (off)."""
    if value is None or not str(value).strip():
        return None
    return _parse_whole(field, value, high, low, unit)


def _parse_hours_list(field: str, value) -> tuple[int, ...]:
    text = str(value or "").strip()
    if not text:
        return ()
    hours = []
    for part in text.split(","):
        part = part.strip()
        if not part.isdigit() or not 1 <= int(part) <= 720:
            raise ConfigError(field, f"'{part}' is not a number of hours from 1 to 720")
        hours.append(int(part))
    if len(hours) > 10:
        raise ConfigError(field, f"{len(hours)} retries; at most 10")
    return tuple(hours)


def _parse_window(field: str, value) -> tuple[int, int]:
    """'09:00-20:00' as minutes of the day (start included, end excluded)."""
    text = str(value or "").strip()
    start, dash, end = text.partition("-")
    try:
        if not dash:
            raise ValueError
        bounds = []
        for part in (start, end):
            hour, _, minute = part.strip().partition(":")
            hour, minute = int(hour), int(minute or 0)
            if not (0 <= hour <= 24 and 0 <= minute < 60) or hour * 60 + minute > 24 * 60:
                raise ValueError
            bounds.append(hour * 60 + minute)
    except ValueError:
        raise ConfigError(field, f"'{value}' is not hours such as 09:00-20:00") from None
    if bounds[0] >= bounds[1]:
        raise ConfigError(field, f"'{value}': the window must end after it starts")
    return bounds[0], bounds[1]


def _is_email(email: str) -> bool:
    local, at, domain = email.partition("@")
    return bool(at and local and "." in domain and not any(c.isspace() for c in email))


def _parse_emails(field: str, value) -> tuple[str, ...]:
    emails = []
    for part in str(value or "").replace(";", ",").split(","):
        email = part.strip()
        if not email:
            continue
        if not _is_email(email):
            raise ConfigError(field, f"'{email}' is not an email address")
        emails.append(email)
    return tuple(emails)


def _parse_sender(field: str, value) -> str:
    """An email address, bare or with a name ('Shop <news@example.com>'); empty allowed."""
    text = str(value or "").strip()
    if not text:
        return ""
    name, address = parseaddr(text)
    if not _is_email(address) or (not name and address != text.strip("<>")):
        raise ConfigError(
            field, f"'{text}' is not an email address (e.g. 'Shop <news@example.com>')"
        )
    return text if name else address


def _parse_url(field: str, value, example: str) -> str:
    """An http(s) URL with a host (a trailing '/' is dropped); empty allowed."""
    text = str(value or "").strip()
    if not text:
        return ""
    try:
        parts = urlsplit(text)
        _ = parts.port  # a port out of range raises ValueError
    except ValueError:
        parts = None
    if (
        parts is None
        or parts.scheme not in ("http", "https")
        or not parts.hostname
        or any(c.isspace() for c in text)
    ):
        raise ConfigError(field, f"'{text}' is not an http(s) URL such as {example}")
    return text.rstrip("/")


def _parse_host(field: str, value) -> str:
    """A host name or IP address, without a scheme or a port; empty allowed."""
    text = str(value or "").strip()
    if not text:
        return ""
    try:
        ip_address(text.strip("[]"))
    except ValueError:
        if "/" in text or ":" in text or any(c.isspace() for c in text):
            raise ConfigError(
                field, f"'{text}' is not a host name such as smtp.example.com (no scheme or port)"
            ) from None
    return text.strip("[]")


def _parse_secret(field: str, value, min_length: int = 0) -> str:
    """A token or key as pasted (surrounding blanks dropped); empty allowed. The message never
    repeats the value: Saleor's API shows secrets masked, and errors are logged."""
    text = str(value or "").strip()
    if any(c.isspace() for c in text):
        raise ConfigError(field, "contains a space or a line break; paste the value alone")
    if text and len(text) < min_length:
        raise ConfigError(field, f"is {len(text)} characters long; give at least {min_length}")
    return text


def _parse_choice(field: str, value, choices: tuple[str, ...], text: str | None = None) -> str:
    """One of `choices`: `text` (the value as read, lower case by default) or an error that
    lists them ("'x' is not a, b or c")."""
    text = str(value or "").strip().lower() if text is None else text
    if text not in choices:
        listed = " or ".join([", ".join(choices[:-1]), choices[-1]])
        raise ConfigError(field, f"'{value}' is not {listed}")
    return text


def _parse_percent(field: str, value) -> float:
    """A percentage from 0 to 100 ('0.5' or '0.5%') as a share from 0 to 1."""
    text = str(value if value is not None else "").strip().removesuffix("%").strip() or "0"
    try:
        percent = float(text)
    except ValueError:
        percent = float("nan")
    if not 0 <= percent <= 100:  # NaN fails too
        raise ConfigError(field, f"'{value}' is not a percentage from 0 to 100")
    return percent / 100


def _parse_language(field: str, value) -> str:
    return _parse_choice(field, value, ("en", "ja"))


def _parse_rounding(field: str, value) -> str:
    text = str(value or "").strip().lower().replace("-", "_").replace(" ", "_")
    return _parse_choice(field, value, ("floor", "half_up", "ceiling"), text)


def _parse_date(field: str, value):
    text = str(value or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ConfigError(field, f"'{value}' is not a date as YYYY-MM-DD") from None


def _parse_loyalty(values: dict) -> loyalty_conf.LoyaltyConfig:
    window = _setting(RANK_WINDOW, loyalty_conf.parse_window, values[RANK_WINDOW])
    months = str(values[RANK_INACTIVE_MONTHS]).strip() or "0"
    inactive = _parse_whole(RANK_INACTIVE_MONTHS, months, 120, unit="months") or None
    ladder_text = str(values[RANKS] or "")
    if not ladder_text.strip():
        raise ConfigError(RANKS, "is empty; give one rank a line, e.g. 'Regular (REGULAR)'")
    ladder = _setting(RANKS, lambda text: parse_ladder(text, window, inactive), ladder_text)
    bonuses = _setting(BONUSES, loyalty_conf.parse_bonuses, values[BONUSES])
    rounding = _parse_rounding(EARN_ROUNDING, values[EARN_ROUNDING])
    include_tax = _parse_bool(EARN_INCLUDE_TAX, values[EARN_INCLUDE_TAX])
    include_shipping = _parse_bool(EARN_INCLUDE_SHIPPING, values[EARN_INCLUDE_SHIPPING])
    earn = _setting(
        EARN_RATES,
        lambda text: loyalty_conf.earn_rules(
            text, bonuses, include_tax, include_shipping, rounding
        ),
        values[EARN_RATES],
    )
    return loyalty_conf.LoyaltyConfig(
        enabled=_parse_bool(LOYALTY_ENABLED, values[LOYALTY_ENABLED]),
        ladder=ladder,
        ladder_text=ladder_text,
        earn=earn,
        bonuses=bonuses,
        return_window_days=_parse_whole(RETURN_WINDOW, values[RETURN_WINDOW], 365, unit="days"),
        allow_negative=_parse_bool(ALLOW_NEGATIVE, values[ALLOW_NEGATIVE]),
        expiry=_setting(EXPIRY, loyalty_conf.parse_expiry, values[EXPIRY]),
        redemption=_setting(REDEMPTION, loyalty_conf.parse_redemption, values[REDEMPTION]),
        points_on_renewals=_parse_bool(POINTS_ON_RENEWALS, values[POINTS_ON_RENEWALS]),
        customer_types=_parse_bool(RANK_CUSTOMER_TYPES, values[RANK_CUSTOMER_TYPES]),
        earn_from=_parse_date(EARN_FROM, values[EARN_FROM]),
        currency=_parse_currency(POINTS_CURRENCY, values[POINTS_CURRENCY]),
    )


def _parse_currency(field: str, value) -> str:
    text = str(value or "").strip()
    if not text:
        return ""
    try:
        return validate_currency(text)
    except ValueError as error:
        raise ConfigError(field, str(error)) from error


def parse_config(raw: Mapping | Iterable[Mapping] | None) -> CRMConfig:
    """Build a `CRMConfig`, raising `ConfigError` that names the first wrong field."""
    values = {**DEFAULTS, **{k: v for k, v in _as_mapping(raw).items() if v is not None}}
    unknown = sorted(set(values) - set(FIELDS))
    if unknown:
        raise ConfigError(unknown[0], "is not a setting of the CRM plugin")
    config = CRMConfig(
        ingestion_enabled=_parse_bool(INGESTION_ENABLED, values[INGESTION_ENABLED]),
        store_time_zone=_parse_zone(STORE_TIME_ZONE, values[STORE_TIME_ZONE]),
        dormant_days=_parse_whole(DORMANT_DAYS, values[DORMANT_DAYS], 3650, low=1, unit="days"),
        consent_key=_parse_key(CONSENT_KEY, values[CONSENT_KEY]),
        birth_date_key=_parse_key(BIRTH_DATE_KEY, values[BIRTH_DATE_KEY]),
        gender_key=_parse_key(GENDER_KEY, values[GENDER_KEY]),
        segments=_parse_segments(RFM_SEGMENTS, values[RFM_SEGMENTS]),
        loyalty=_parse_loyalty(values),
        subscription_plans=_setting(SUBSCRIPTION_PLANS, parse_plans, values[SUBSCRIPTION_PLANS]),
        subscription_cutoff_days=_parse_whole(
            SUBSCRIPTION_CUTOFF, values[SUBSCRIPTION_CUTOFF], 60, unit="days"
        ),
        subscription_lead_days=_parse_whole(
            SUBSCRIPTION_LEAD, values[SUBSCRIPTION_LEAD], 60, unit="days"
        ),
        subscription_renewal_hour=_parse_whole(SUBSCRIPTION_HOUR, values[SUBSCRIPTION_HOUR], 23),
        subscription_max_move_days=_parse_whole(
            SUBSCRIPTION_MOVE, values[SUBSCRIPTION_MOVE], 365, unit="days"
        ),
        subscription_min_deliveries=_parse_whole(
            SUBSCRIPTION_MINIMUM, values[SUBSCRIPTION_MINIMUM], 100
        ),
        subscription_retry_hours=_parse_hours_list(
            SUBSCRIPTION_RETRIES, values[SUBSCRIPTION_RETRIES]
        ),
        subscription_spread_hours=_parse_whole(
            SUBSCRIPTION_SPREAD, values[SUBSCRIPTION_SPREAD], 23, unit="hours"
        ),
        subscription_reminder_days=_parse_whole(
            SUBSCRIPTION_REMINDER, values[SUBSCRIPTION_REMINDER], 30, unit="days"
        ),
        subscription_send_window=_parse_window(
            SUBSCRIPTION_SEND_WINDOW, values[SUBSCRIPTION_SEND_WINDOW]
        ),
        subscription_staff_emails=_parse_emails(
            SUBSCRIPTION_STAFF_EMAILS, values[SUBSCRIPTION_STAFF_EMAILS]
        ),
        dashboard_language=_parse_language(DASHBOARD_LANGUAGE, values[DASHBOARD_LANGUAGE]),
        drain_seconds=_parse_whole(DRAIN_SECONDS, values[DRAIN_SECONDS], 60, low=1, unit="seconds"),
        sweep_minutes=_parse_whole(
            SWEEP_MINUTES, values[SWEEP_MINUTES], 1440, low=1, unit="minutes"
        ),
        prediction_model=_parse_choice(
            PREDICTION_MODEL, values[PREDICTION_MODEL], ("bgnbd", "pareto_nbd")
        ),
        prediction_holdout_weeks=_parse_whole(
            PREDICTION_HOLDOUT, values[PREDICTION_HOLDOUT], 104, low=1, unit="weeks"
        ),
        analytics_hour=_parse_whole(ANALYTICS_HOUR, values[ANALYTICS_HOUR], 23),
        rfm_bins=_parse_rfm_bins(values),
        basket_min_count=_parse_whole(BASKET_MIN_COUNT, values[BASKET_MIN_COUNT], 1_000_000, low=1),
        basket_min_share=_parse_percent(BASKET_MIN_SHARE, values[BASKET_MIN_SHARE]),
        basket_window_days=_parse_whole(
            BASKET_WINDOW, values[BASKET_WINDOW], 730, low=1, unit="days"
        ),
        campaign_send_window=_parse_window(CAMPAIGN_WINDOW, values[CAMPAIGN_WINDOW]),
        campaign_weekly_cap=_parse_whole(CAMPAIGN_CAP, values[CAMPAIGN_CAP], 100, low=1),
        campaign_service_notices=_parse_bool(CAMPAIGN_SERVICE, values[CAMPAIGN_SERVICE]),
        campaign_attribution_days=_parse_whole(
            CAMPAIGN_ATTRIBUTION, values[CAMPAIGN_ATTRIBUTION], 365, low=1, unit="days"
        ),
        guest_retention_years=_parse_optional_whole(
            GUEST_RETENTION, values[GUEST_RETENTION], 100, low=1, unit="years"
        ),
        **_parse_channels(values),
    )
    return replace(config, insert_rules=_parse_insert_rules(values[INSERT_RULES], config))


def _parse_insert_rules(value, config: CRMConfig) -> tuple[InsertRule, ...]:
    """The insert rules; a rank they name must be one of the rank table's codes."""
    rules = _setting(INSERT_RULES, parse_insert_rules, value)
    codes = [rank.code for rank in config.loyalty.ladder.ranks]
    for rule in rules:
        if rule.kind == "rank" and rule.value not in codes:
            raise ConfigError(
                INSERT_RULES,
                f"line {rule.line}: '{rule.value}' is not a rank code ({', '.join(codes)})",
            )
    return rules


def _parse_channels(values: Mapping) -> dict:
    """The campaign channels' settings: email (SMTP), LINE and webhooks."""
    webhook_url = _parse_url(WEBHOOK_URL, values[WEBHOOK_URL], "https://hooks.example.com/crm")
    webhook_secret = _parse_secret(
        WEBHOOK_SECRET, values[WEBHOOK_SECRET], WEBHOOK_SECRET_MIN_LENGTH
    )
    if webhook_url and not webhook_secret:
        raise ConfigError(
            WEBHOOK_URL, "needs a webhook secret to sign the events: set webhook-secret first"
        )
    line_base = _parse_url(LINE_API_BASE_URL, values[LINE_API_BASE_URL], "https://api.line.me")
    if not line_base:
        raise ConfigError(LINE_API_BASE_URL, "is empty; give https://api.line.me")
    return {
        "smtp_host": _parse_host(SMTP_HOST, values[SMTP_HOST]),
        "smtp_port": _parse_whole(SMTP_PORT, values[SMTP_PORT], 65535, low=1),
        "smtp_username": str(values[SMTP_USERNAME] or "").strip(),
        "smtp_password": str(values[SMTP_PASSWORD] or ""),  # as typed: spaces may belong to it
        "smtp_security": _parse_choice(
            SMTP_SECURITY, values[SMTP_SECURITY], ("none", "starttls", "ssl")
        ),
        "campaign_from_email": _parse_sender(CAMPAIGN_FROM_EMAIL, values[CAMPAIGN_FROM_EMAIL]),
        "line_channel_access_token": _parse_secret(LINE_TOKEN, values[LINE_TOKEN]),
        "line_api_base_url": line_base,
        "line_user_id_key": _parse_key(LINE_USER_ID_KEY, values[LINE_USER_ID_KEY]),
        "webhook_url": webhook_url,
        "webhook_secret": webhook_secret,
    }


def _parse_rfm_bins(values: Mapping) -> FixedBins | None:
    """The fixed bins when scoring by them (they are checked either way)."""
    scoring = _parse_choice(RFM_SCORING, values[RFM_SCORING], ("quintiles", "fixed"))
    bins = _setting(RFM_BINS, parse_fixed_bins, values[RFM_BINS])
    return bins if scoring == "fixed" else None


_DEFAULT_LOYALTY = _parse_loyalty(DEFAULTS)
