"""GraphQL types of analytics: the figures the hourly and nightly tasks store."""

from datetime import datetime

import graphene
from graphene import relay

from ...analytics import recommend
from ...analytics.models import PredictionFit
from ...analytics.report_services import report_currencies
from ..core.scalars import JSONString
from ..core.types import Money, money
from ..loyalty.types import CRMPointsLiability
from ..subscriptions.types import CRMSubscriptionFigures
from .enums import BASKET_KINDS, F2_BY, CRMBasketKind, CRMF2By


class CRMOverviewFigures(graphene.ObjectType):
    points_liability = graphene.List(graphene.NonNull(CRMPointsLiability), required=True)
    points_computed_at = graphene.DateTime(required=True)
    subscriptions = graphene.List(
        graphene.NonNull(CRMSubscriptionFigures),
        required=True,
        description="Per channel; cancellations of the last 30 days.",
    )
    subscriptions_computed_at = graphene.DateTime(required=True)


# --- the lifetime models' fits (`analytics.predictions`, stored by the nightly refit) ---------


class CRMModelParameter(graphene.ObjectType):
    """One fitted parameter of a model (BG/NBD: r, alpha, a, b; Gamma-Gamma: p, q, gamma)."""

    name = graphene.String(required=True)
    value = graphene.Float(required=True)


def parameters(params: dict | None) -> list[CRMModelParameter]:
    """A stored parameter dict as name/value pairs, by name (the store keeps no order)."""
    return [
        CRMModelParameter(name=name, value=value) for name, value in sorted((params or {}).items())
    ]


class CRMSpendFit(graphene.ObjectType):
    """The Gamma-Gamma model of spend per order, learnt from the repeat customers."""

    params = graphene.List(
        graphene.NonNull(CRMModelParameter),
        required=True,
        description="p, q and gamma, by name; empty without a spend fit.",
    )
    log_likelihood = graphene.Float(description="At the parameters; null without a spend fit.")
    error = graphene.String(
        description="Why there is no spend fit (null: there is one); without it no expected "
        "order value or CLV is predicted."
    )


class CRMBacktestBucket(graphene.ObjectType):
    """The calibration customers with the same number of repeat orders."""

    bucket = graphene.String(
        required=True, description="Repeat orders in the calibration period: 0 to 6, or 7+."
    )
    customers = graphene.Int(required=True)
    predicted = graphene.Float(
        required=True, description="Predicted repeat orders per customer in the holdout."
    )
    actual = graphene.Float(
        required=True, description="Repeat orders per customer in the holdout (one a day)."
    )


class CRMBacktest(graphene.ObjectType):
    """The fit checked as the papers do: calibrated on all but the last weeks, it predicts
    each customer's repeat orders in those weeks, compared with what they did."""

    holdout_weeks = graphene.Int(required=True)
    calibration_end = graphene.DateTime(description="The calibration's end: the holdout's start.")
    customers = graphene.Int(description="Customers with an order before the calibration end.")
    buckets = graphene.List(
        graphene.NonNull(CRMBacktestBucket),
        required=True,
        description="Predicted and actual repeat orders per frequency bucket; empty when "
        "there is no back-test.",
    )
    predicted_total = graphene.Float(description="Repeat orders predicted in the holdout.")
    actual_total = graphene.Int(description="Repeat orders made in the holdout.")
    mean_absolute_error = graphene.Float(description="Per customer, in repeat orders.")
    params = graphene.List(
        graphene.NonNull(CRMModelParameter),
        required=True,
        description="The calibration fit's parameters, by name.",
    )
    error = graphene.String(description="Why there is no back-test (null: there is one).")


def backtest_of(data: dict) -> CRMBacktest | None:
    """The stored back-test (`PredictionFit.backtest`); None for a fit that has none."""
    if not data:
        return None
    end = data.get("calibration_end")
    return CRMBacktest(
        holdout_weeks=data["holdout_weeks"],
        calibration_end=datetime.fromisoformat(end) if end else None,
        customers=data.get("customers"),
        buckets=[CRMBacktestBucket(**bucket) for bucket in data.get("buckets", [])],
        predicted_total=data.get("predicted_total"),
        actual_total=data.get("actual_total"),
        mean_absolute_error=data.get("mean_absolute_error"),
        params=parameters(data.get("params")),
        error=data.get("error"),
    )


class CRMPredictionFit(graphene.ObjectType):
    """One fit of the lifetime models to one currency's orders, as the nightly refit stored it."""

    model = graphene.String(
        required=True, description="The frequency model: bgnbd (BG/NBD) or pareto_nbd."
    )
    as_of = graphene.DateTime(required=True, description="It learnt from the orders before.")
    status = graphene.String(
        required=True, description="ok, or failed: never in force, the previous fit stays."
    )
    error = graphene.String(description="Why the fit failed.")
    in_force = graphene.Boolean(
        required=True, description="The customers' predictions come from this fit."
    )
    params = graphene.List(
        graphene.NonNull(CRMModelParameter),
        required=True,
        description="The frequency model's parameters, by name; empty when the fit failed.",
    )
    log_likelihood = graphene.Float(description="At the parameters; null when the fit failed.")
    customers = graphene.Int(required=True, description="Customers it learnt from.")
    repeat_customers = graphene.Int(
        required=True, description="Of them, those with a repeat order (on another day)."
    )
    warning = graphene.String(description="Why the predictions are rough (thin data).")
    spend = graphene.Field(CRMSpendFit, description="Null when the fit failed.")
    backtest = graphene.Field(CRMBacktest, description="Null when the fit failed.")
    seconds = graphene.Float(required=True, description="Fit, back-test and scoring.")

    @staticmethod
    def resolve_error(root, _info):
        return root.error or None

    @staticmethod
    def resolve_params(root, _info):
        return parameters(root.params)

    @staticmethod
    def resolve_warning(root, _info):
        return root.warning or None

    @staticmethod
    def resolve_spend(root, _info):
        if root.status != PredictionFit.OK:
            return None
        return CRMSpendFit(
            params=parameters(root.spend_params),
            log_likelihood=root.spend_log_likelihood,
            error=root.spend_error or None,
        )

    @staticmethod
    def resolve_backtest(root, _info):
        return backtest_of(root.backtest)


class CRMPredictionFits(graphene.ObjectType):
    """The fits of one currency: the one in force and the latest attempt."""

    currency = graphene.String(required=True)
    in_force = graphene.Field(
        CRMPredictionFit,
        description="The fit the customers' predictions come from; null until one converged.",
    )
    latest = graphene.Field(
        CRMPredictionFit,
        required=True,
        description="The latest attempt: the fit in force, or a later one that failed.",
    )


class CRMPrediction(graphene.ObjectType):
    """A customer's predictions in one currency, from the fit in force (the nightly refit, and
    again at once after each of their paid orders)."""

    currency = graphene.String(required=True)
    p_alive = graphene.Float(
        required=True, description="The probability that the customer still buys (0 to 1)."
    )
    expected_orders_30 = graphene.Float(required=True, description="In the next 30 days.")
    expected_orders_90 = graphene.Float(required=True, description="In the next 90 days.")
    expected_orders_365 = graphene.Float(required=True, description="In the next 365 days.")
    next_order_at = graphene.DateTime(
        description="When the expected orders reach one; null when that is over 3 years away."
    )
    expected_order_value = graphene.Field(
        Money, description="Expected average order value (null without a spend fit)."
    )
    predicted_clv = graphene.Field(
        Money, description="Predicted spend in the next 12 months (null without a spend fit)."
    )
    typical_gap_days = graphene.Float(
        description="The customer's own average days between purchases (null under two)."
    )
    overdue = graphene.Float(
        description="Days since the last purchase over the typical gap (over 1: later than usual)."
    )
    model = graphene.String(required=True, description="The frequency model: bgnbd or pareto_nbd.")
    scored_at = graphene.DateTime(required=True)

    @staticmethod
    def resolve_expected_orders_30(root, _info):
        return root.expected_30

    @staticmethod
    def resolve_expected_orders_90(root, _info):
        return root.expected_90

    @staticmethod
    def resolve_expected_orders_365(root, _info):
        return root.expected_365

    @staticmethod
    def resolve_expected_order_value(root, _info):
        return None if root.expected_value is None else money(root.expected_value, root.currency)

    @staticmethod
    def resolve_predicted_clv(root, _info):
        return None if root.clv is None else money(root.clv, root.currency)

    @staticmethod
    def resolve_model(root, _info):
        return root.fit.model


# --- the repeat and retention reports (`analytics.report_services`, stored nightly) ---------


class CRMReportRun(graphene.ObjectType):
    """The computation whose repeat, F2, cohort and LTV reports are in force."""

    as_of = graphene.DateTime(required=True, description="The reports count orders before.")
    computed_at = graphene.DateTime(required=True)
    seconds = JSONString(
        required=True, description="Seconds per step: reading the ledger, each report, storing."
    )
    currencies = graphene.List(
        graphene.NonNull(graphene.String),
        required=True,
        description="The currencies the cohort and LTV reports have rows in.",
    )

    @staticmethod
    def resolve_currencies(root, _info):
        return report_currencies(root)


class CRMProductRepeat(graphene.ObjectType):
    """Repeat rate of one product, variant or category among its buyers, and the second-order
    shares of the customers whose first order held it."""

    item = graphene.String(required=True, description="The product, variant or category id.")
    name = graphene.String(required=True, description="Its name (empty for a category).")
    buyers = graphene.Int(required=True, description="Customers who bought it.")
    repeat_buyers = graphene.Int(
        required=True, description="Of them, those who bought it on two or more days."
    )
    repeat_rate = graphene.Float(description="repeatBuyers / buyers.")
    first_buyers = graphene.Int(required=True, description="Customers whose first order held it.")
    observed_30 = graphene.Int(
        required=True, description="First buyers whose first order is at least 30 days old."
    )
    second_30 = graphene.Int(
        required=True,
        description="Of them, those with a second order (any product) within 30 days.",
    )
    share_30 = graphene.Float(description="second30 / observed30; null while none observed.")
    observed_60 = graphene.Int(required=True)
    second_60 = graphene.Int(required=True)
    share_60 = graphene.Float()
    observed_90 = graphene.Int(required=True)
    second_90 = graphene.Int(required=True)
    share_90 = graphene.Float()
    observed_180 = graphene.Int(required=True)
    second_180 = graphene.Int(required=True)
    share_180 = graphene.Float()
    median_days_to_second = graphene.Float(
        description="Median days from the first order to the second, over the first buyers "
        "with one."
    )
    repeat_interval_days = graphene.Float(
        description="Median days between a customer's consecutive purchases of it."
    )


class CRMProductRepeatCountableConnection(relay.Connection):
    total_count = graphene.Int(description="How many rows match.")

    class Meta:
        node = CRMProductRepeat


class CRMF2(graphene.ObjectType):
    """First-to-second purchase conversion of a first-order month's new customers."""

    first_month = graphene.String(
        required=True, description='The first-order month ("2026-01"); "" all months together.'
    )
    by = graphene.Field(CRMF2By, required=True)
    value = graphene.String(
        required=True,
        description='ALL: ""; SUBSCRIPTION_START: "yes" or "no"; FIRST_PRODUCT: the product id.',
    )
    name = graphene.String(required=True, description="FIRST_PRODUCT: the product's name.")
    first_buyers = graphene.Int(required=True)
    observed_30 = graphene.Int(
        required=True, description="First buyers whose first order is at least 30 days old."
    )
    second_30 = graphene.Int(
        required=True, description="Of them, those with a second order within 30 days."
    )
    share_30 = graphene.Float(description="second30 / observed30; null while none observed.")
    observed_60 = graphene.Int(required=True)
    second_60 = graphene.Int(required=True)
    share_60 = graphene.Float()
    observed_90 = graphene.Int(required=True)
    second_90 = graphene.Int(required=True)
    share_90 = graphene.Float()

    @staticmethod
    def resolve_by(root, _info):
        return {value: name for name, value in F2_BY.items()}[root.by]


class CRMF2CountableConnection(relay.Connection):
    total_count = graphene.Int(description="How many rows match.")

    class Meta:
        node = CRMF2


class CRMCohortCell(graphene.ObjectType):
    """The customers of a first-order month (the cohort), a number of months later."""

    cohort_month = graphene.String(required=True)
    months_since = graphene.Int(required=True, description="0: the first-order month itself.")
    customers = graphene.Int(required=True, description="The cohort's size.")
    active = graphene.Int(required=True, description="Of them, those who ordered that month.")
    retention = graphene.Float(required=True, description="active / customers.")
    revenue = graphene.Field(Money, required=True, description="The cohort's spend that month.")
    revenue_per_customer = graphene.Field(Money, required=True)
    cumulative_per_customer = graphene.Field(
        Money, required=True, description="Spend per customer up to that month (realised LTV)."
    )
    complete = graphene.Boolean(
        required=True, description="The month is over (false: still running at the run's asOf)."
    )

    @staticmethod
    def resolve_revenue(root, _info):
        return money(root.revenue, root.currency)

    @staticmethod
    def resolve_revenue_per_customer(root, _info):
        return money(root.revenue_per_customer, root.currency)

    @staticmethod
    def resolve_cumulative_per_customer(root, _info):
        return money(root.cumulative_per_customer, root.currency)


class CRMLtv(graphene.ObjectType):
    """Realised lifetime value (spend so far) of one group's customers in a currency."""

    value = graphene.String(
        required=True,
        description='The segment name, rank code or product id ("" customers without a segment).',
    )
    name = graphene.String(required=True)
    customers = graphene.Int(required=True)
    revenue = graphene.Field(Money, required=True, description="Their spend together.")
    average = graphene.Field(Money, required=True, description="Per customer.")
    median = graphene.Field(Money, required=True, description="Of the customers' spend.")

    @staticmethod
    def resolve_revenue(root, _info):
        return money(root.revenue, root.currency)

    @staticmethod
    def resolve_average(root, _info):
        return money(root.average, root.currency)

    @staticmethod
    def resolve_median(root, _info):
        return money(root.median, root.currency)


class CRMLtvCountableConnection(relay.Connection):
    total_count = graphene.Int(description="How many groups.")

    class Meta:
        node = CRMLtv


# --- basket pairs (`analytics.basket_services`, stored nightly) ------------------------------


class CRMBasketRun(graphene.ObjectType):
    """What one channel's pairs of one kind were counted over."""

    channel = graphene.String(required=True)
    kind = graphene.Field(CRMBasketKind, required=True)
    window_days = graphene.Int(description="CUSTOMER: bought within this many days; ORDER: null.")
    as_of = graphene.DateTime(required=True, description="The orders counted were placed before.")
    transactions = graphene.Int(
        required=True, description="Orders (ORDER) or customers (CUSTOMER) with a product."
    )
    products = graphene.Int(required=True)
    pairs = graphene.Int(required=True, description="Pairs stored (above the minimums).")
    min_count = graphene.Int(required=True, description="A pair's fewest transactions.")
    min_support = graphene.Float(required=True, description="A pair's smallest support.")
    computed_at = graphene.DateTime(required=True)

    @staticmethod
    def resolve_kind(root, _info):
        return {value: name for name, value in BASKET_KINDS.items()}[root.kind]


class CRMBasketPair(graphene.ObjectType):
    """Two products bought together (A's id sorts before B's)."""

    product_a = graphene.String(required=True)
    name_a = graphene.String(required=True)
    product_b = graphene.String(required=True)
    name_b = graphene.String(required=True)
    together = graphene.Int(required=True, description="Transactions holding both.")
    support = graphene.Float(required=True, description="together / transactions.")
    confidence_ab = graphene.Float(
        required=True, name="confidenceAB", description="Of the transactions with A, with B too."
    )
    confidence_ba = graphene.Float(
        required=True, name="confidenceBA", description="Of the transactions with B, with A too."
    )
    lift = graphene.Float(
        required=True,
        description="Confidence over B's own share (over 1: bought together more "
        "often than by chance).",
    )


class CRMBasketPairCountableConnection(relay.Connection):
    total_count = graphene.Int(description="How many pairs.")

    class Meta:
        node = CRMBasketPair


# --- recommendations (`analytics.recommend_services`: the stored pairs and repeat report) -----


class CRMRecommendationReason(graphene.Enum):
    """Why a product is recommended."""

    BOUGHT_WITH = recommend.BOUGHT_WITH
    TIME_TO_RESTOCK = recommend.RESTOCK

    @property
    def description(self):
        if self == CRMRecommendationReason.BOUGHT_WITH:
            return "Customers who bought the `because` product also bought it."
        return (
            "The customer buys it again as a habit (its repeat rate is high) and its usual "
            "interval has passed since they last bought it."
        )


class CRMRecommendedBecause(graphene.ObjectType):
    """The product a recommendation comes from."""

    product_id = graphene.ID(
        required=True,
        description="BOUGHT_WITH: the product it was bought with (crmAlsoBought: the product "
        "asked about); TIME_TO_RESTOCK: the product itself.",
    )
    name = graphene.String(required=True, description="Empty when the store has no name for it.")
    last_bought_at = graphene.DateTime(
        description="When the customer last bought it (personal picks; null in crmAlsoBought)."
    )
    usual_interval_days = graphene.Float(
        description="TIME_TO_RESTOCK: the usual days between two purchases of it by one "
        "customer (the median, in the channel); null otherwise."
    )


class CRMRecommendation(graphene.ObjectType):
    """A product the store offers in the channel now, recommended for a reason. Computed from
    the stored pairs and repeat report (the nightly tasks), never another customer's
    purchases."""

    product_id = graphene.ID(required=True, description="The store's ID of the product.")
    name = graphene.String(required=True, description="The product's name in the store.")
    reason = graphene.Field(CRMRecommendationReason, required=True)
    because = graphene.Field(CRMRecommendedBecause)
    score = graphene.Float(
        required=True,
        description="0 to 1, best first. BOUGHT_WITH: the share of the `because` product's "
        "buyers who also bought this (within the store's window); TIME_TO_RESTOCK: the share "
        "of the product's buyers who bought it again.",
    )

    @staticmethod
    def resolve_because(root, _info):
        return CRMRecommendedBecause(
            product_id=root.because,
            name=root.because_name,
            last_bought_at=root.last_bought_at,
            usual_interval_days=root.interval_days,
        )
