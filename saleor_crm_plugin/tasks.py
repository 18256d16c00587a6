"""Every Celery task of the plugin (Saleor's worker autodiscovers `<plugin package>.tasks`)."""

from .customers.tasks import erase_customer_task, ingest_customer_task, ingest_orders_task
from .segments.tasks import (
    evaluate_segments_task,
    recompute_rfm_chunk_task,
    recompute_rfm_task,
)

__all__ = [
    "erase_customer_task",
    "evaluate_segments_task",
    "ingest_customer_task",
    "ingest_orders_task",
    "recompute_rfm_chunk_task",
    "recompute_rfm_task",
]
