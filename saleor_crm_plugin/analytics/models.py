"""Figures kept ready for pages that must answer at once (Dashboard's Overview)."""

from django.db import models

from ..customers.models import money_field


class StoredFigures(models.Model):
    """The latest result of one costly aggregate (`analytics.figures.KINDS`), as JSON."""

    kind = models.CharField(max_length=64, unique=True)
    computed_at = models.DateTimeField()
    data = models.JSONField(default=list)

    class Meta:
        app_label = "saleor_crm"


class PredictionFit(models.Model):
    """One fit of the lifetime models to one currency's orders (`analytics.predictions`).

    A fit that failed is kept with its error and is never in force: the previous fit's
    predictions stay. `backtest` holds the holdout comparison (or why there is none).
    """

    OK = "ok"
    FAILED = "failed"

    currency = models.CharField(max_length=3)
    model = models.CharField(max_length=16)
    as_of = models.DateTimeField()
    status = models.CharField(max_length=8)
    error = models.TextField(blank=True, default="")
    params = models.JSONField(default=dict)
    log_likelihood = models.FloatField(null=True, blank=True)
    spend_params = models.JSONField(null=True, blank=True)
    spend_log_likelihood = models.FloatField(null=True, blank=True)
    spend_error = models.TextField(blank=True, default="")  # why there is no spend fit
    customers = models.PositiveIntegerField(default=0)
    repeat_customers = models.PositiveIntegerField(default=0)
    warning = models.TextField(blank=True, default="")
    backtest = models.JSONField(default=dict)
    in_force = models.BooleanField(default=False)
    seconds = models.FloatField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        app_label = "saleor_crm"
        indexes = [models.Index(fields=["currency", "-created_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["currency"],
                condition=models.Q(in_force=True),
                name="saleor_crm_one_fit_in_force_per_currency",
            )
        ]


class CustomerPrediction(models.Model):
    """A customer's predictions in one currency, from the fit in force."""

    profile = models.ForeignKey(
        "saleor_crm.CustomerProfile", related_name="predictions", on_delete=models.CASCADE
    )
    currency = models.CharField(max_length=3)
    fit = models.ForeignKey(PredictionFit, related_name="predictions", on_delete=models.PROTECT)
    p_alive = models.FloatField()
    expected_30 = models.FloatField()
    expected_90 = models.FloatField()
    expected_365 = models.FloatField()
    next_order_at = models.DateTimeField(null=True, blank=True)
    # In the currency's minor unit; null without a spend fit.
    expected_value = models.DecimalField(max_digits=20, decimal_places=3, null=True, blank=True)
    clv = models.DecimalField(max_digits=20, decimal_places=3, null=True, blank=True)
    # Churn signs: the customer's own average days between orders, and days since the last
    # order over it (null under two orders).
    typical_gap_days = models.FloatField(null=True, blank=True)
    overdue = models.FloatField(null=True, blank=True)
    scored_at = models.DateTimeField()

    class Meta:
        app_label = "saleor_crm"
        constraints = [
            models.UniqueConstraint(
                fields=["profile", "currency"], name="saleor_crm_one_prediction_per_currency"
            )
        ]
        indexes = [models.Index(fields=["currency", "p_alive"])]


class BasketRun(models.Model):
    """The product pairs in force for one channel and kind (`analytics.baskets`), with what
    they were counted over. One row per channel and kind: a new computation replaces its pairs
    in one transaction, so readers see the old pairs until the new ones commit."""

    ORDER = "order"
    CUSTOMER = "customer"

    channel = models.CharField(max_length=255)
    kind = models.CharField(max_length=16)
    # The customer kind's window: products bought within this many days of each other.
    window_days = models.PositiveIntegerField(null=True, blank=True)
    as_of = models.DateTimeField()
    # Orders (order kind) or customers (customer kind) with a product line, and their products.
    transactions = models.PositiveIntegerField(default=0)
    products = models.PositiveIntegerField(default=0)
    pairs = models.PositiveIntegerField(default=0)
    min_count = models.PositiveIntegerField(default=1)
    min_support = models.FloatField(default=0)
    seconds = models.FloatField(default=0)
    computed_at = models.DateTimeField()

    class Meta:
        app_label = "saleor_crm"
        constraints = [
            models.UniqueConstraint(fields=["channel", "kind"], name="saleor_crm_one_basket_run")
        ]


class BasketPair(models.Model):
    """Two products (product_a < product_b) bought together, as counted by their run."""

    # No index of its own: the (run, product, ...) and (run, lift) indexes serve every lookup by run.
    run = models.ForeignKey(
        BasketRun, related_name="pair_rows", on_delete=models.CASCADE, db_index=False
    )
    product_a = models.CharField(max_length=64)
    product_b = models.CharField(max_length=64)
    # Each product's name on its newest line in the ledger.
    name_a = models.CharField(max_length=386, blank=True, default="")
    name_b = models.CharField(max_length=386, blank=True, default="")
    together = models.PositiveIntegerField()
    count_a = models.PositiveIntegerField()
    count_b = models.PositiveIntegerField()
    support = models.FloatField()
    confidence_ab = models.FloatField()
    confidence_ba = models.FloatField()
    lift = models.FloatField()

    class Meta:
        app_label = "saleor_crm"
        indexes = [
            # "also bought" for a product reads its pairs on either side
            # the top pairs of a run by lift (the table's default order)
            models.Index(fields=["run", "-lift", "id"], name="basket_pair_lift"),
            # A product's pairs, best first, as "also bought" and personal picks read them.
            models.Index(
                fields=["run", "product_a", "-confidence_ab", "-lift", "-together", "product_b"],
                name="basket_pair_best_a",
            ),
            models.Index(
                fields=["run", "product_b", "-confidence_ba", "-lift", "-together", "product_a"],
                name="basket_pair_best_b",
            ),
        ]


class ReportRun(models.Model):
    """One computation of the repeat and retention reports (`analytics.report_services`).

    Its rows are written first; the run is then put in force in one transaction and the older
    runs deleted, so the previous reports stay readable while a new one is computed. A failed
    run keeps its error and is never in force.
    """

    RUNNING = "running"
    OK = "ok"
    FAILED = "failed"

    as_of = models.DateTimeField()
    started_at = models.DateTimeField()
    computed_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=8, default=RUNNING)
    error = models.TextField(blank=True, default="")
    seconds = models.JSONField(default=dict)  # per step: reading the ledger, each report
    in_force = models.BooleanField(default=False)

    class Meta:
        app_label = "saleor_crm"
        constraints = [
            models.UniqueConstraint(
                fields=["in_force"],
                condition=models.Q(in_force=True),
                name="saleor_crm_one_report_run_in_force",
            )
        ]


def _report_run():
    return models.ForeignKey(ReportRun, on_delete=models.CASCADE, related_name="+")


class ProductRepeatRow(models.Model):
    """Repeat rate of one product, variant or category (`level`) in a channel ("" all) among
    the customers of a first-order month ("" all) (`analytics.reports.product_repeat`)."""

    run = _report_run()
    level = models.CharField(max_length=16)
    channel = models.CharField(max_length=255)
    first_month = models.CharField(max_length=7)
    item = models.CharField(max_length=64)
    name = models.CharField(max_length=386, blank=True, default="")
    buyers = models.PositiveIntegerField()
    repeat_buyers = models.PositiveIntegerField()
    repeat_rate = models.FloatField(null=True)
    first_buyers = models.PositiveIntegerField()
    observed_30 = models.PositiveIntegerField()
    second_30 = models.PositiveIntegerField()
    share_30 = models.FloatField(null=True)
    observed_60 = models.PositiveIntegerField()
    second_60 = models.PositiveIntegerField()
    share_60 = models.FloatField(null=True)
    observed_90 = models.PositiveIntegerField()
    second_90 = models.PositiveIntegerField()
    share_90 = models.FloatField(null=True)
    observed_180 = models.PositiveIntegerField()
    second_180 = models.PositiveIntegerField()
    share_180 = models.FloatField(null=True)
    median_days_to_second = models.FloatField(null=True)
    repeat_interval_days = models.FloatField(null=True)

    class Meta:
        app_label = "saleor_crm"
        indexes = [
            models.Index(
                fields=["run", "level", "channel", "first_month", "item"],
                name="product_repeat_scope",
            )
        ]


class F2Row(models.Model):
    """First-to-second purchase conversion of a first-order month ("" all) in a channel ("" all),
    overall (`by` "all"), by subscription start ("yes"/"no") or by first product."""

    run = _report_run()
    channel = models.CharField(max_length=255)
    first_month = models.CharField(max_length=7)
    by = models.CharField(max_length=16)
    value = models.CharField(max_length=64)
    name = models.CharField(max_length=386, blank=True, default="")
    first_buyers = models.PositiveIntegerField()
    observed_30 = models.PositiveIntegerField()
    second_30 = models.PositiveIntegerField()
    share_30 = models.FloatField(null=True)
    observed_60 = models.PositiveIntegerField()
    second_60 = models.PositiveIntegerField()
    share_60 = models.FloatField(null=True)
    observed_90 = models.PositiveIntegerField()
    second_90 = models.PositiveIntegerField()
    share_90 = models.FloatField(null=True)

    class Meta:
        app_label = "saleor_crm"
        indexes = [models.Index(fields=["run", "channel", "by", "first_month"], name="f2_scope")]


class CohortRow(models.Model):
    """One cell of the cohort table: a currency's customers of a first-order month, a number of
    months later (`analytics.reports.cohort_retention`); amounts in the currency."""

    run = _report_run()
    channel = models.CharField(max_length=255)
    currency = models.CharField(max_length=3)
    cohort_month = models.CharField(max_length=7)
    months_since = models.PositiveSmallIntegerField()
    customers = models.PositiveIntegerField()
    active = models.PositiveIntegerField()
    retention = models.FloatField()
    revenue = money_field()
    revenue_per_customer = money_field()
    cumulative_per_customer = money_field()
    complete = models.BooleanField()

    class Meta:
        app_label = "saleor_crm"
        indexes = [
            models.Index(
                fields=["run", "channel", "currency", "cohort_month", "months_since"],
                name="cohort_cell",
            )
        ]


class LtvRow(models.Model):
    """Realised lifetime value in a currency of the customers of one segment, rank or first
    product (`analytics.reports.ltv_by_group`)."""

    run = _report_run()
    currency = models.CharField(max_length=3)
    by = models.CharField(max_length=16)
    value = models.CharField(max_length=64)
    name = models.CharField(max_length=386, blank=True, default="")
    customers = models.PositiveIntegerField()
    revenue = money_field()
    average = money_field()
    median = money_field()

    class Meta:
        app_label = "saleor_crm"
        indexes = [models.Index(fields=["run", "currency", "by"], name="ltv_group")]
