"""Every Celery task of the plugin (Saleor's worker autodiscovers `<plugin package>.tasks`)."""

from .analytics.tasks import (
    compute_baskets_task,
    compute_reports_task,
    refit_predictions_task,
    score_predictions_chunk_task,
)
from .campaigns.tasks import (
    decide_campaigns_task,
    deliver_webhook_task,
    dispatch_campaigns_task,
    retry_webhooks_task,
    send_campaign_batch_task,
)
from .customers.tasks import find_duplicates_task
from .imports.tasks import run_import_task
from .intake.tasks import (
    drain_changes_task,
    erase_customer_task,
    ingest_customer_task,
    ingest_orders_task,
    sweep_changes_task,
)
from .loyalty.tasks import (
    apply_rank_settings_task,
    compute_free_points_chunk_task,
    compute_free_points_months_task,
    expire_points_task,
    review_ranks_chunk_task,
    review_ranks_task,
)
from .privacy.tasks import erase_old_guests_task
from .segments.tasks import (
    evaluate_segments_task,
    recompute_rfm_chunk_task,
    recompute_rfm_task,
)
from .subscriptions.tasks import renew_subscriptions_task

__all__ = [
    "apply_rank_settings_task",
    "compute_baskets_task",
    "compute_free_points_chunk_task",
    "compute_free_points_months_task",
    "compute_reports_task",
    "decide_campaigns_task",
    "deliver_webhook_task",
    "dispatch_campaigns_task",
    "drain_changes_task",
    "erase_customer_task",
    "erase_old_guests_task",
    "evaluate_segments_task",
    "expire_points_task",
    "find_duplicates_task",
    "ingest_customer_task",
    "ingest_orders_task",
    "recompute_rfm_chunk_task",
    "recompute_rfm_task",
    "refit_predictions_task",
    "renew_subscriptions_task",
    "retry_webhooks_task",
    "review_ranks_chunk_task",
    "review_ranks_task",
    "run_import_task",
    "score_predictions_chunk_task",
    "send_campaign_batch_task",
    "sweep_changes_task",
]
